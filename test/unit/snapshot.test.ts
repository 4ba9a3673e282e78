import { describe, expect, it } from "vitest";
import type { AccountState, ActualUser } from "../../src/domain/account.js";
import type { DesiredUser } from "../../src/domain/desired.js";
import type { PlanContext } from "../../src/domain/plan.js";
import { sameValue } from "../../src/plan/attributes.js";
import {
  CHANGED_MARKER,
  DIGEST_PREFIX,
  Digester,
  digestDesired,
  isDigest,
  withFileValues,
} from "../../src/snapshot/digest.js";
import {
  desiredForSnapshot,
  planFromSnapshot,
  readSnapshot,
  SnapshotError,
  snapshotAge,
  writeSnapshot,
} from "../../src/snapshot/snapshot.js";
import { have as haveUser, OWN, SERVER as S, want } from "../support/users.js";

const SALT = "0123456789abcdef".repeat(4);
const META = {
  serverName: S,
  homeserver: "https://matrix.example.org",
  ownUserId: OWN,
  takenAt: "2026-07-20T03:17:00.000Z",
};
const POLICY: PlanContext["policy"] = { unmanaged: "ignore", maxDeactivations: 10, maxErasures: 5, protected: [] };

/** As the planner tests', with no display name unless one is given. */
const have = (localpart: string, state: AccountState, extra: Partial<ActualUser> = {}): ActualUser =>
  haveUser(localpart, state, { displayname: null, ...extra });

const ALICE = have("alice", "active", {
  displayname: "Alice Liddell",
  emails: ["alice@example.org", "a.liddell@wonder.example"],
  externalIds: [{ provider: "oidc-corp", id: "alice-4711" }],
  appserviceId: null,
});
const SERVER = [
  have("admin", "active", { admin: true, displayname: "Server Admin" }),
  ALICE,
  have("bob", "deactivated", { locked: true, displayname: "Bob Dylan" }),
  have("carol", "erased"),
  have("guest1", "active", { isGuest: true }),
  have("bridge_x", "active", { appserviceId: "telegram" }),
];

function snapshotOf(users: ActualUser[], salt = SALT) {
  return readSnapshot(writeSnapshot(users, { ...META, salt }), "inventory.json");
}

/** The plan of one file user against a snapshot of the server above: its actions, as "kind attribute…". */
function planned(wanted: DesiredUser, server: ActualUser[] = SERVER): string[] {
  const { plan } = planFromSnapshot(snapshotOf(server), new Map([[wanted.userId, wanted]]), POLICY, 0);
  expect(plan.refusals).toEqual([]);
  return plan.actions.map((a) => [a.kind, ...a.changes.map((c) => c.attribute)].join(" "));
}

describe("the snapshot file", () => {
  it("round-trips what the planner needs, and nothing it does not", () => {
    const text = writeSnapshot(SERVER, { ...META, salt: SALT });
    const { meta, users } = readSnapshot(text, "inventory.json");
    expect(meta).toEqual({ toolVersion: expect.any(String), ...META, salt: SALT });
    expect([...users.keys()]).toEqual(SERVER.map((u) => u.userId).sort());
    for (const server of SERVER) {
      const read = users.get(server.userId)!;
      const { userId, state, admin, locked, isGuest, appserviceId } = server;
      expect(read).toMatchObject({ userId, state, admin, locked, isGuest });
      expect(read.appserviceId).toBe(appserviceId);
      // Not read in full by the trusted job: still unknown, never an invented empty list.
      if (server.emails === undefined) expect(read.emails).toBeUndefined();
      expect(read.displayname === null).toBe(server.displayname === null);
    }
    const alice = users.get(ALICE.userId)!;
    expect(isDigest(alice.displayname)).toBe(true);
    expect(alice.emails).toHaveLength(2);
    expect(isDigest(alice.emails)).toBe(true);
    expect(alice.externalIds).toEqual([{ provider: "oidc-corp", id: expect.stringMatching(/^hmac-sha256:/) }]);
    // The same server with the same salt is the same file, whatever order the users came in.
    expect(writeSnapshot([...SERVER].reverse(), { ...META, salt: SALT })).toBe(text);
  });

  it("holds no email address, display name or external ID in the clear", () => {
    const text = writeSnapshot(SERVER, META);
    for (const secret of [
      "alice@example.org",
      "a.liddell@wonder.example",
      "Alice",
      "Liddell",
      "Bob Dylan",
      "alice-4711",
    ])
      expect(text).not.toContain(secret);
    expect(text.toLowerCase()).not.toContain("liddell");
    expect(text).not.toContain("@wonder");
  });

  it("uses a new salt for every snapshot, so two snapshots' digests cannot be matched", () => {
    const one = readSnapshot(writeSnapshot([ALICE], META), "a.json");
    const two = readSnapshot(writeSnapshot([ALICE], META), "b.json");
    expect(one.meta.salt).not.toBe(two.meta.salt);
    expect(one.users.get(ALICE.userId)!.displayname).not.toBe(two.users.get(ALICE.userId)!.displayname);
  });

  it("keeps a user met twice once, with the reading that has the details", () => {
    const listed = { ...ALICE, emails: undefined, externalIds: undefined, appserviceId: undefined };
    const { users } = snapshotOf([ALICE, listed]);
    expect(users.size).toBe(1);
    expect(users.get(ALICE.userId)!.emails).toHaveLength(2);
  });

  it("says how old it is", () => {
    const at = (iso: string) => snapshotAge(META, new Date(iso)).text;
    expect(at("2026-07-20T08:20:00Z")).toBe("taken 2026-07-20T03:17:00.000Z, 5 hours ago");
    expect(at("2026-07-20T03:47:00Z")).toBe("taken 2026-07-20T03:17:00.000Z, 30 minutes ago");
    expect(at("2026-07-23T03:17:00Z")).toBe("taken 2026-07-20T03:17:00.000Z, 3 days ago");
    expect(at("2026-07-20T03:00:00Z")).toContain("in the future");
    expect(snapshotAge(META, new Date("2026-07-20T04:17:00Z")).ms).toBe(3_600_000);
  });
});

describe("a tampered or malformed snapshot is a clean error", () => {
  const good = () => JSON.parse(writeSnapshot(SERVER, { ...META, salt: SALT })) as Record<string, unknown>;
  const aliceRow = (json: Record<string, unknown>) =>
    (json.users as Record<string, unknown>[]).find((u) => u.userId === ALICE.userId)!;

  const cases: [string, (json: Record<string, unknown>) => unknown, RegExp][] = [
    ["not JSON", () => "{ not json", /inventory\.json is not a snapshot: it is not JSON$/],
    ["a plan file", () => ({ kind: "synapse-gitops-plan", formatVersion: 1 }), /is not a synapse-gitops snapshot$/],
    ["an array", () => [], /is not a synapse-gitops snapshot$/],
    ["another format version", (j) => ({ ...j, formatVersion: 2 }), /snapshot format version 2; .* reads version 1$/],
    [
      "a plain email address",
      (j) => {
        aliceRow(j).emails = ["alice@example.org"];
        return j;
      },
      /is not a valid snapshot: users\.1\.emails\.0: is not a digest/,
    ],
    [
      "a plain display name",
      (j) => {
        aliceRow(j).displayname = "Alice Liddell";
        return j;
      },
      /users\.1\.displayname: is not a digest/,
    ],
    [
      "an unknown key",
      (j) => {
        aliceRow(j).password = "x";
        return j;
      },
      /users\.1: .*password/,
    ],
    ["a missing field", (j) => ({ ...j, ownUserId: undefined }), /is not a valid snapshot: ownUserId: /],
    ["a bad salt", (j) => ({ ...j, salt: "00" }), /salt: is not 64 lower-case hex digits/],
    ["a bad date", (j) => ({ ...j, takenAt: "yesterday" }), /takenAt: /],
    ["a homeserver that is no URL", (j) => ({ ...j, homeserver: "file:///etc/passwd" }), /homeserver: /],
    [
      "an own user of another server",
      (j) => ({ ...j, ownUserId: "@admin:evil.example" }),
      /ownUserId: .* is not a user ID of example\.org/,
    ],
    [
      "a user of another server",
      (j) => {
        aliceRow(j).userId = "@alice:evil.example";
        return j;
      },
      /users\.1\.userId: .* is not a user ID of example\.org/,
    ],
    [
      "a user listed twice",
      (j) => {
        (j.users as unknown[]).push(aliceRow(j));
        return j;
      },
      /users\.6\.userId: @alice:example\.org is listed twice/,
    ],
    [
      "a state that is no state",
      (j) => {
        aliceRow(j).state = "gone";
        return j;
      },
      /users\.1\.state: /,
    ],
  ];

  it.each(cases)("%s", (_, tamper, message) => {
    const changed = tamper(good());
    const text = typeof changed === "string" ? changed : JSON.stringify(changed);
    let error: unknown;
    try {
      readSnapshot(text, "inventory.json");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SnapshotError);
    const { message: said } = error as SnapshotError;
    expect(said).toMatch(message);
    expect(said).toMatch(/^inventory\.json /);
    expect(said).not.toContain("\n");
  });

  it("a snapshot of another server than the operator's is refused", () => {
    const text = writeSnapshot(SERVER, META);
    expect(() => readSnapshot(text, "i.json", { serverName: "other.org" })).toThrow(
      /i\.json is a snapshot of example\.org, not of other\.org/,
    );
    expect(() => readSnapshot(text, "i.json", { homeserver: "https://evil.example" })).toThrow(
      /was taken from https:\/\/matrix\.example\.org, not from https:\/\/evil\.example/,
    );
    // The same server written another way is the same server.
    expect(readSnapshot(text, "i.json", { homeserver: "https://Matrix.example.org/", serverName: S }).users.size).toBe(
      6,
    );
  });
});

describe("comparing the file with the snapshot's digests", () => {
  const digester = new Digester(SALT);

  it("says the same for the same values: emails without case, lists without order", () => {
    const server = snapshotOf([ALICE]).users.get(ALICE.userId)!;
    const file = digestDesired(
      want("alice", "active", {
        displayname: "Alice Liddell",
        emails: ["A.Liddell@Wonder.example", "alice@example.org"],
        externalIds: [{ provider: "oidc-corp", id: "alice-4711" }],
      }),
      SALT,
    );
    expect(sameValue("displayname", server.displayname, file.displayname!)).toBe(true);
    expect(sameValue("emails", server.emails, file.emails!)).toBe(true);
    expect(sameValue("externalIds", server.externalIds, file.externalIds!)).toBe(true);
  });

  it("says different for different values", () => {
    const server = snapshotOf([ALICE]).users.get(ALICE.userId)!;
    const differ = (attribute: "displayname" | "emails" | "externalIds", value: DesiredUser[typeof attribute]) => {
      const file = digestDesired(want("alice", "active", { [attribute]: value }), SALT);
      return !sameValue(attribute, server[attribute], file[attribute]!);
    };
    expect(differ("displayname", "Alice  Liddell")).toBe(true);
    expect(differ("displayname", "alice liddell")).toBe(true); // display names keep their case
    expect(differ("emails", ["alice@example.org"])).toBe(true);
    expect(differ("emails", ["alice@example.org", "a.liddell@wonder.example", "x@example.org"])).toBe(true);
    expect(differ("emails", ["alice@example.org", "b.liddell@wonder.example"])).toBe(true);
    expect(differ("emails", [])).toBe(true);
    expect(differ("externalIds", [{ provider: "oidc-corp", id: "alice-4712" }])).toBe(true);
    expect(differ("externalIds", [{ provider: "oidc-other", id: "alice-4711" }])).toBe(true);
    expect(differ("externalIds", [])).toBe(true);
  });

  it("keeps a cleared display name comparable: the file's \"\" equals the server's none", () => {
    const server = snapshotOf([have("dan", "active", { displayname: "" }), have("eve", "active")]).users;
    for (const id of [`@dan:${S}`, `@eve:${S}`]) {
      expect(server.get(id)!.displayname).toBeNull();
      const file = digestDesired(want("x", "active", { displayname: "" }), SALT);
      expect(sameValue("displayname", server.get(id)!.displayname, file.displayname!)).toBe(true);
    }
  });

  it("gives the same text a different digest as a display name, an email and an external ID", () => {
    const text = "alice@example.org";
    const digests = [
      digester.displayname(text),
      digester.emails([text])[0],
      digester.externalIds([{ provider: "p", id: text }])[0]!.id,
    ];
    expect(new Set(digests).size).toBe(3);
  });

  it("plans an unchanged user as no change, and a changed one as an update, against the snapshot", () => {
    const same = {
      displayname: "Alice Liddell",
      emails: ["a.liddell@wonder.example", "ALICE@example.org"],
      externalIds: [{ provider: "oidc-corp", id: "alice-4711" }],
    };
    expect(planned(want("alice", "active", same))).toEqual([]);
    expect(planned(want("alice", "active", { ...same, displayname: "Alice" }))).toEqual(["update displayname"]);
    expect(planned(want("alice", "active", { ...same, emails: ["alice@example.org"] }))).toEqual(["update emails"]);
    expect(planned(want("alice", "active", { ...same, displayname: "" }))).toEqual(["update displayname"]);
    expect(planned(want("eve", "active", same))).toEqual(["create displayname emails externalIds"]);
    expect(planned(want("bob", "active", { displayname: "Bob Dylan", allowReactivation: true }))).toEqual([
      "reactivate",
    ]);
  });

  it("shows the file's values as the new ones and marks the server's as digests", () => {
    const file = want("alice", "active", { displayname: "Alice", emails: ["new@example.org"] });
    const { plan } = planFromSnapshot(snapshotOf(SERVER), new Map([[file.userId, file]]), POLICY, 0);
    const changes = plan.actions[0]!.changes;
    expect(changes.map((c) => [c.attribute, c.to])).toEqual([
      ["displayname", "Alice"],
      ["emails", ["new@example.org"]],
    ]);
    for (const change of changes) {
      expect(isDigest(change.from)).toBe(true);
      expect(isDigest(change.to)).toBe(false);
    }
    expect(CHANGED_MARKER).toBe("(changed)");
  });

  it("isDigest is true only for digests", () => {
    const d = digester.displayname("x")!;
    expect(d.startsWith(DIGEST_PREFIX)).toBe(true);
    expect(isDigest(d)).toBe(true);
    expect(isDigest([d, d])).toBe(true);
    expect(isDigest([{ provider: "p", id: d }])).toBe(true);
    for (const plain of [
      null,
      undefined,
      true,
      "",
      "Alice",
      [],
      ["alice@example.org"],
      [d, "x"],
      `${d}x`,
      `hmac-sha256:${"a".repeat(42)}`,
    ])
      expect(isDigest(plain as never)).toBe(false);
  });

  it("withFileValues leaves a live plan's values alone", () => {
    const file = new Map([[`@alice:${S}`, want("alice", "active", { displayname: "Alice" })]]);
    const change = { attribute: "displayname" as const, from: "Old", to: "Alice" };
    const plan = {
      serverName: S,
      actions: [
        {
          kind: "update" as const,
          userId: `@alice:${S}`,
          from: "active" as const,
          to: "active" as const,
          changes: [change],
          irreversible: false,
          observed: {},
        },
      ],
      refusals: [],
      unmanaged: [],
      summary: { create: 0, update: 1, deactivate: 0, erase: 0, reactivate: 0 },
      policy: { unmanaged: "report" as const, maxDeactivations: 10, maxErasures: 5, protected: [] },
    };
    expect(withFileValues(plan, file)).toEqual(plan);
  });

  it("does not compare emails the trusted job did not read, and says so", () => {
    const listedOnly = { ...ALICE, emails: undefined, externalIds: undefined, appserviceId: undefined };
    const snapshot = snapshotOf([have("admin", "active"), listedOnly]);
    const file = new Map([
      [`@alice:${S}`, want("alice", "active", { displayname: "Alice Liddell", emails: ["alice@example.org"] })],
    ]);
    expect(desiredForSnapshot(file, snapshot).notCompared).toEqual([{ userId: `@alice:${S}`, attribute: "emails" }]);
    const { plan, notCompared } = planFromSnapshot(snapshot, file, POLICY, 0);
    expect(plan.actions).toEqual([]);
    expect(notCompared).toHaveLength(1);
  });

  it("keeps the planner's guards: the snapshot's own user is never deactivated", () => {
    const file = new Map([[OWN, want("admin", "deactivated")]]);
    const { plan } = planFromSnapshot(snapshotOf(SERVER), file, POLICY, 0);
    expect(plan.actions).toEqual([]);
    expect(plan.refusals.map((r) => r.code)).toEqual(["own-user"]);
  });

  it("plans the unmanaged users of the snapshot under unmanaged: deactivate, sparing guests and bridges", () => {
    const file = new Map([[ALICE.userId, want("alice", "active")]]);
    const { plan } = planFromSnapshot(snapshotOf(SERVER), file, { ...POLICY, unmanaged: "deactivate" }, 0);
    expect(plan.actions).toEqual([]); // admin: own user; guest1: guest; bridge_x: application service
    expect(plan.unmanaged.map((u) => [u.userId, u.exempt])).toEqual([
      [OWN, "own-user"],
      [`@bridge_x:${S}`, "appservice"],
      [`@guest1:${S}`, "guest"],
    ]);
  });
});
