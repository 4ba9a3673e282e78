import { describe, expect, it } from "vitest";
import { parseDesiredState } from "../../src/config/load.js";
import type { AccountState } from "../../src/domain/account.js";
import type { DesiredUser } from "../../src/domain/desired.js";
import { globMatcher, needsDetails, Planner, planUsers } from "../../src/plan/plan.js";
import { have, planInput as input, OWN, SERVER as S, want } from "../support/users.js";

describe("planUsers: every cell of the lifecycle table", () => {
  type Row = [actual: AccountState | "absent", desired: AccountState, expected: string];
  const rows: Row[] = [
    ["absent", "active", "create→active"],
    ["absent", "deactivated", "create→deactivated"],
    ["absent", "erased", "create→erased!"], // the ID is burnt: irreversible too
    ["active", "active", "nothing"],
    ["active", "deactivated", "deactivate→deactivated"],
    ["active", "erased", "erase→erased!"],
    ["deactivated", "active", "refused:reactivation-not-allowed"],
    ["deactivated", "deactivated", "nothing"],
    ["deactivated", "erased", "erase→erased!"],
    ["erased", "active", "refused:un-erase"],
    ["erased", "deactivated", "refused:erased-to-deactivated"],
    ["erased", "erased", "nothing"],
  ];
  it.each(rows)("%s × %s → %s", (actual, desired, expected) => {
    const plan = planUsers(input([want("u", desired)], actual === "absent" ? [] : [have("u", actual)]));
    const got =
      plan.refusals.length > 0
        ? `refused:${plan.refusals.map((r) => r.code).join(",")}`
        : plan.actions.length === 0
          ? "nothing"
          : plan.actions.map((a) => `${a.kind}→${a.to}${a.irreversible ? "!" : ""}`).join(",");
    expect(got).toBe(expected);
    if (plan.refusals.length > 0) expect(plan.actions).toEqual([]);
  });

  it("reactivates a deactivated user only with allowReactivation, sending its password reference", () => {
    const plan = planUsers(
      input(
        [want("dave", "active", { allowReactivation: true, password: { env: "DAVE_PW" }, displayname: "Dave" })],
        [have("dave", "deactivated")],
      ),
    );
    expect(plan.refusals).toEqual([]);
    expect(plan.actions).toEqual([
      expect.objectContaining({ kind: "reactivate", from: "deactivated", to: "active", password: { env: "DAVE_PW" } }),
    ]);
    expect(plan.actions[0]!.changes).toEqual([{ attribute: "displayname", from: "dave", to: "Dave" }]);
  });

  it("never reactivates an erased user, even with allowReactivation", () => {
    const plan = planUsers(input([want("eve", "active", { allowReactivation: true })], [have("eve", "erased")]));
    expect(plan.actions).toEqual([]);
    expect(plan.refusals).toEqual([expect.objectContaining({ code: "un-erase", userId: `@eve:${S}` })]);
  });
});

describe("planUsers: attributes", () => {
  it("updates only the managed attributes that differ, old → new", () => {
    const plan = planUsers(
      input(
        [want("bob", "active", { displayname: "Robert", admin: true, locked: false, emails: ["bob@example.org"] })],
        [
          have("bob", "active", {
            displayname: "Bob",
            admin: false,
            locked: false,
            emails: ["bob@example.org"],
            externalIds: [],
          }),
        ],
      ),
    );
    expect(plan.actions).toHaveLength(1);
    expect(plan.actions[0]!.changes).toEqual([
      { attribute: "displayname", from: "Bob", to: "Robert" },
      { attribute: "admin", from: false, to: true },
    ]);
    expect(plan.summary).toEqual({ create: 0, update: 1, deactivate: 0, erase: 0, reactivate: 0 });
  });

  it("compares lists as sets and leaves unmanaged attributes alone", () => {
    const plan = planUsers(
      input(
        [want("c", "active", { emails: ["b@x.org", "a@x.org"], externalIds: [{ provider: "oidc", id: "1" }] })],
        [
          have("c", "active", {
            admin: true,
            locked: true,
            emails: ["a@x.org", "b@x.org"],
            externalIds: [{ provider: "oidc", id: "1" }],
          }),
        ],
      ),
    );
    expect(plan.actions).toEqual([]);
  });

  it("refuses to plan emails it has not read (a bug guard, not a silent rewrite)", () => {
    expect(() => planUsers(input([want("c", "active", { emails: ["a@x.org"] })], [have("c", "active")]))).toThrow(
      /not read/,
    );
  });

  it("asks for details only where the list cannot answer", () => {
    const desired = new Map(
      [want("a", "active", { emails: [] }), want("b", "active", { displayname: "B" })].map((d) => [d.userId, d]),
    );
    const report = needsDetails(desired, "report");
    expect(report(have("a", "active"))).toBe(true);
    expect(report(have("b", "active"))).toBe(false);
    expect(report(have("z", "active"))).toBe(false);
    expect(needsDetails(desired, "deactivate")(have("z", "active"))).toBe(true);
    expect(needsDetails(desired, "deactivate")(have("z", "active", { isGuest: true }))).toBe(false);
  });
});

describe("planUsers: guards", () => {
  it.each([
    ["deactivate", { state: "deactivated" as const }],
    ["erase", { state: "erased" as const }],
    ["lock", { locked: true }],
    ["demote", { admin: false }],
  ])("refuses to %s the token's own user", (_what, change) => {
    const plan = planUsers(input([{ ...want("admin", "active"), ...change }], []));
    expect(plan.actions).toEqual([]);
    expect(plan.refusals).toEqual([expect.objectContaining({ code: "own-user", userId: OWN })]);
  });

  it("refuses to deactivate a user matched by a protected glob, and spares it under unmanaged: deactivate", () => {
    const plan = planUsers(
      input(
        [want("ci-bot", "deactivated")],
        [
          have("ci-bot", "active"),
          have("deploy-bot", "active"),
          have("stray", "active", { appserviceId: null }),
          have("unread", "active"),
        ],
        {
          protected: [`@*-bot:${S}`],
          unmanaged: "deactivate",
        },
      ),
    );
    expect(plan.refusals).toEqual([expect.objectContaining({ code: "protected-user", userId: `@ci-bot:${S}` })]);
    expect(plan.actions.map((a) => a.userId)).toEqual([`@stray:${S}`]);
    expect(plan.unmanaged).toEqual([
      { userId: OWN, state: "active", exempt: "own-user" },
      { userId: `@deploy-bot:${S}`, state: "active", exempt: "protected" },
      { userId: `@stray:${S}`, state: "active" },
      // Not read in full, so whether a bridge owns it is unknown: spared.
      { userId: `@unread:${S}`, state: "active", exempt: "appservice-unknown" },
    ]);
  });

  it("never deactivates application-service users or guests for being unmanaged", () => {
    const plan = planUsers(
      input(
        [],
        [
          have("bridge", "active", { appserviceId: "irc" }),
          have("guest1", "active", { isGuest: true }),
          have("x", "active", { appserviceId: null }),
        ],
        {
          unmanaged: "deactivate",
        },
      ),
    );
    expect(plan.actions.map((a) => `${a.kind} ${a.userId} ${a.reason}`)).toEqual([`deactivate @x:${S} unmanaged`]);
    expect(plan.unmanaged.find((u) => u.userId === `@bridge:${S}`)?.exempt).toBe("appservice");
    expect(plan.unmanaged.find((u) => u.userId === `@guest1:${S}`)?.exempt).toBe("guest");
  });

  it("refuses a plan over maxDeactivations, naming the count and the override", () => {
    const users = Array.from({ length: 4 }, (_, i) => `u${i}`);
    const plan = planUsers(
      input(
        users.map((u) => want(u, "deactivated")),
        users.map((u) => have(u, "active")),
        { maxDeactivations: 3 },
      ),
    );
    expect(plan.refusals).toEqual([
      expect.objectContaining({ code: "max-deactivations", hint: expect.stringContaining("--max-deactivations 4") }),
    ]);
    expect(plan.refusals[0]!.message).toContain("4 active users, over the limit of 3");
    expect(
      planUsers(
        input(
          users.map((u) => want(u, "deactivated")),
          users.map((u) => have(u, "active")),
          { maxDeactivations: 4 },
        ),
      ).refusals,
    ).toEqual([]);
  });

  it("counts erasures of active users against both limits, and of deactivated users against maxErasures only", () => {
    const plan = planUsers(
      input([want("a", "erased"), want("b", "erased")], [have("a", "active"), have("b", "deactivated")], {
        maxDeactivations: 1,
        maxErasures: 1,
      }),
    );
    expect(plan.refusals.map((r) => r.code)).toEqual(["max-erasures"]);
    expect(plan.refusals[0]!.message).toContain("erases 2 users");
  });

  it("reports unmanaged active users under the report policy and none under ignore", () => {
    const actual = [have("stray", "active"), have("old", "deactivated")];
    expect(planUsers(input([], actual, { unmanaged: "report" })).unmanaged.map((u) => u.userId)).toEqual([
      OWN,
      `@stray:${S}`,
    ]);
    expect(planUsers(input([], actual, { unmanaged: "ignore" })).unmanaged).toEqual([]);
    expect(planUsers(input([], actual, { unmanaged: "report" })).actions).toEqual([]);
  });
});

describe("globMatcher", () => {
  it("matches * as any run and everything else literally", () => {
    const m = globMatcher(["@*-bot:example.org", "@root:example.org"]);
    expect(m("@ci-bot:example.org")).toBe(true);
    expect(m("@root:example.org")).toBe(true);
    expect(m("@ci-bot:example.com")).toBe(false);
    expect(m("@rootXexample.org")).toBe(false);
    expect(globMatcher([])("@a:b")).toBe(false);
  });

  it("matches stars at either end, repeated stars, and parts that must not overlap", () => {
    expect(globMatcher(["*"])("@anyone:example.org")).toBe(true);
    expect(globMatcher(["@*"])("@a:b")).toBe(true);
    expect(globMatcher(["*:example.org"])("@a:example.org")).toBe(true);
    expect(globMatcher(["@a**b:x"])("@ab:x")).toBe(true);
    // The prefix and the suffix may not share characters: "@ab" is not "@ab" + "b".
    expect(globMatcher(["@ab*b"])("@ab")).toBe(false);
    expect(globMatcher(["@a*bc*bc:x"])("@abc:x")).toBe(false);
    expect(globMatcher(["@a*bc*bc:x"])("@abcbc:x")).toBe(true);
    // Regular-expression characters are literal.
    expect(globMatcher(["@a.c:x"])("@abc:x")).toBe(false);
    expect(globMatcher(["@(a|b)*:x"])("@(a|b)zz:x")).toBe(true);
  });

  // A pattern comes from the file (a pull request): a regular expression of it backtracked for
  // ~12 s on this one user ID (and minutes for a longer one), for every user on the server.
  it("answers at once for a pattern that makes a regular expression backtrack", { timeout: 5_000 }, () => {
    const m = globMatcher(["@*a*a*a*a*a*a*a*a*:x"]);
    expect(m(`@${"a".repeat(40)}:example.org`)).toBe(false);
    expect(m(`@${"a".repeat(40)}:x`)).toBe(true);
    expect(m("@aaaaaaa:x")).toBe(false);
  });
});

describe("detectDrift", () => {
  it("under unmanaged: deactivate, users the policy spares are not drift; under report, every active unmanaged user is", async () => {
    const { detectDrift } = await import("../../src/plan/drift.js");
    const actual = [
      have("bridge", "active", { appserviceId: "irc" }),
      have("guest1", "active", { isGuest: true }),
      have("ops-bot", "active", { appserviceId: null }),
      have("stray", "active", { appserviceId: null }),
      have("old", "deactivated"),
    ];
    const spared = detectDrift(input([], actual, { unmanaged: "deactivate", protected: [`@*-bot:${S}`] }));
    expect(spared.items.map((i) => `${i.class} ${i.userId}`)).toEqual([`unmanaged @stray:${S}`]);
    const reported = detectDrift(input([], actual, { unmanaged: "report" }));
    expect(reported.items.map((i) => i.userId)).toEqual(
      [OWN, `@bridge:${S}`, `@guest1:${S}`, `@ops-bot:${S}`, `@stray:${S}`].sort(),
    );
    expect(detectDrift(input([], actual, { unmanaged: "ignore" })).drifted).toBe(false);
  });
});

describe("Planner: fed the list as it arrives", () => {
  it("plans a user listed twice (offset pagination) once, and one never listed as absent", () => {
    const planner = new Planner(input([want("a", "deactivated"), want("b", "active")], []));
    planner.observe(have("a", "active"));
    planner.observe(have("a", "active"));
    expect(planner.finish().actions.map((a) => [a.kind, a.userId])).toEqual([
      ["deactivate", "@a:example.org"],
      ["create", "@b:example.org"],
    ]);
  });

  it("lets two planners over the same users run at once, each with its own answer", () => {
    const context = input([want("a", "active"), want("b", "active")], []);
    const first = new Planner(context);
    first.observe(have("a", "active"));
    const second = new Planner(context);
    second.observe(have("b", "active"));
    first.observe(have("b", "active"));
    expect(first.finish().actions).toEqual([]);
    expect(second.finish().actions.map((a) => [a.kind, a.userId])).toEqual([["create", "@a:example.org"]]);
  });

  it("writes nothing on its input", () => {
    const context = input([want("a", "deactivated"), want("b", "active")], [have("a", "active")]);
    for (const user of context.desired.values()) Object.freeze(user);
    Object.freeze(context.desired);
    for (const user of context.actual.values()) Object.freeze(user);
    const plan = planUsers(context);
    expect(plan.actions.map((a) => [a.kind, a.userId])).toEqual([
      ["deactivate", "@a:example.org"],
      ["create", "@b:example.org"],
    ]);
    expect(planUsers(context)).toEqual(plan);
  });

  it("refuses users whose indexes are not distinct, rather than take one for another", () => {
    const context = input([want("a", "active"), want("b", "active")], []);
    const desired = new Map([...context.desired].map(([id, user]) => [id, { ...user, index: 0 }]));
    expect(() => planUsers({ ...context, desired })).toThrow(/indexes/);
  });
});

describe("password references the operator does not allow", () => {
  it("refuse the create or reactivation in the plan, naming the reference", () => {
    const problem = (ref: { env: string } | { file: string }) =>
      "env" in ref && ref.env === "ALLOWED" ? undefined : `the reference ${JSON.stringify(ref)} is not allowed`;
    const plan = planUsers({
      ...input(
        [
          want("new", "active", { password: { env: "INPUT_ADMIN-TOKEN" } }),
          want("ok", "active", { password: { env: "ALLOWED" } }),
          want("back", "active", { allowReactivation: true, password: { file: "/dev/null" } }),
        ],
        [have("back", "deactivated")],
      ),
      passwordProblem: problem,
    });
    expect(plan.actions.map((a) => `${a.kind} ${a.userId}`)).toEqual([`create @ok:${S}`]);
    expect(plan.refusals.map((r) => [r.code, r.message])).toEqual([
      ["password-not-allowed", `@back:${S}: the reference {"file":"/dev/null"} is not allowed`],
      ["password-not-allowed", `@new:${S}: the reference {"env":"INPUT_ADMIN-TOKEN"} is not allowed`],
    ]);
  });
});

describe("historical user IDs (accounts older servers let be named outside today's grammar)", () => {
  const old = (state: AccountState, extra: Partial<DesiredUser> = {}) =>
    want("Old.Admin", state, { historical: true, ...extra });
  const describePlan = (plan: ReturnType<typeof planUsers>) =>
    plan.refusals.length > 0
      ? `refused:${plan.refusals.map((r) => r.code).join(",")}`
      : plan.actions.length === 0
        ? "nothing"
        : plan.actions.map((a) => `${a.kind}→${a.to}${a.irreversible ? "!" : ""}`).join(",");

  type Row = [actual: AccountState | "absent", desired: AccountState, expected: string];
  const rows: Row[] = [
    // Synapse refuses to create such an ID: refused in the plan, never a 400 half-way through apply.
    ["absent", "active", "refused:historical-id"],
    ["absent", "deactivated", "refused:historical-id"],
    ["absent", "erased", "refused:historical-id"],
    // Where the account exists, every rule of the lifecycle table, as for any user.
    ["active", "active", "nothing"],
    ["active", "deactivated", "deactivate→deactivated"],
    ["active", "erased", "erase→erased!"],
    ["deactivated", "active", "refused:reactivation-not-allowed"],
    ["deactivated", "deactivated", "nothing"],
    ["deactivated", "erased", "erase→erased!"],
    ["erased", "active", "refused:un-erase"],
    ["erased", "deactivated", "refused:erased-to-deactivated"],
    ["erased", "erased", "nothing"],
  ];
  it("@Old.Admin goes through every cell of the lifecycle table where it exists, and is never created", () => {
    const got = rows.map(([actual, desired]) => {
      const plan = planUsers(input([old(desired)], actual === "absent" ? [] : [have("Old.Admin", actual)]));
      if (plan.refusals.length > 0) expect(plan.actions).toEqual([]);
      return [actual, desired, describePlan(plan)];
    });
    expect(got).toEqual(rows);
  });

  it("refuses creating one with a message that says why, whatever characters it holds (and without the loader's mark)", () => {
    for (const localpart of ["Old.Admin", "a`b|c*d<e%f/g", "#x?y", "tab\\x", "q'\"r"]) {
      const plan = planUsers(input([want(localpart, "active")], []));
      expect(plan.actions).toEqual([]);
      expect(plan.refusals).toEqual([
        {
          code: "historical-id",
          userId: `@${localpart}:${S}`,
          message: `@${localpart}:${S} is not on the server, and Synapse refuses to create it: a new user ID may only hold a-z, 0-9 and . _ = - / + (no upper case, no other character)`,
          hint: expect.stringMatching(/^a historical ID can only be managed where the account exists/),
        },
      ]);
    }
  });

  it("a users file naming existing ones updates, locks, demotes and reactivates them as any other, guards included", () => {
    // Read by the loader, as the CLI does: the file is what could not name them before.
    const { users } = parseDesiredState(
      [
        {
          name: "users.yaml",
          text: [
            "version: 1",
            "users:",
            "  Old.Admin: { displayname: Old Admin, admin: false }",
            '  "@Back:example.org": { allowReactivation: true }',
            "  Kept.Bot: deactivated",
            '  "a`b|c*": { locked: true }',
            "",
          ].join("\n"),
        },
      ],
      { serverName: S },
    );
    const plan = planUsers(
      input(
        [...users.values()],
        [
          have("Old.Admin", "active", { admin: true }),
          have("Back", "deactivated"),
          have("Kept.Bot", "active"),
          have("a`b|c*", "active"),
        ],
        { protected: [`@Kept.*:${S}`] },
      ),
    );
    expect(plan.actions.map((a) => [a.kind, a.userId, a.changes.map((c) => `${c.attribute}=${String(c.to)}`)])).toEqual(
      [
        ["reactivate", `@Back:${S}`, []],
        ["update", `@Old.Admin:${S}`, ["displayname=Old Admin", "admin=false"]],
        ["update", `@a\`b|c*:${S}`, ["locked=true"]],
      ],
    );
    expect(plan.refusals.map((r) => [r.code, r.userId])).toEqual([["protected-user", `@Kept.Bot:${S}`]]);
  });

  it("matches exactly: @old.admin in the file when the server has only @Old.Admin is no create, and the hint names it", () => {
    for (const state of ["active", "deactivated", "erased"] as const) {
      const plan = planUsers(
        input([want("old.admin", state)], [have("Old.Admin", state === "erased" ? "erased" : "active")], {
          unmanaged: "report",
        }),
      );
      expect(plan.actions).toEqual([]);
      expect(plan.refusals).toEqual([
        {
          code: "case-variant",
          userId: `@old.admin:${S}`,
          message: `@old.admin:${S} is not on the server, but @Old.Admin:${S} is: user IDs are case-sensitive, and Synapse refuses to create one that differs from an existing one only in case`,
          hint: `to manage the existing account, name it exactly as the server does: @Old.Admin:${S}`,
        },
      ]);
    }
  });

  it("says so the other way round, for several variants, and when the file names both", () => {
    const reverse = planUsers(input([old("active")], [have("old.admin", "active")]));
    expect(reverse.refusals.map((r) => [r.code, r.hint])).toEqual([
      ["case-variant", `to manage the existing account, name it exactly as the server does: @old.admin:${S}`],
    ]);
    const several = planUsers(
      input([want("old.admin", "active")], [have("OLD.admin", "deactivated"), have("Old.Admin", "active")]),
    );
    expect(several.refusals.map((r) => r.message)).toEqual([
      `@old.admin:${S} is not on the server, but @OLD.admin:${S} and @Old.Admin:${S} are: user IDs are case-sensitive, and Synapse refuses to create one that differs from an existing one only in case`,
    ]);
    // The file names both; the server has only the historical one, which is managed as usual.
    const both = planUsers(
      input([old("active", { displayname: "New" }), want("old.admin", "active")], [have("Old.Admin", "active")]),
    );
    expect(both.actions.map((a) => `${a.kind} ${a.userId}`)).toEqual([`update @Old.Admin:${S}`]);
    expect(both.refusals.map((r) => `${r.code} ${r.userId}`)).toEqual([`case-variant @old.admin:${S}`]);
    // And the other way: the server has only the new-grammar one; the historical one cannot be made.
    const other = planUsers(input([old("active"), want("old.admin", "active")], [have("old.admin", "active")]));
    expect(other.refusals.map((r) => `${r.code} ${r.userId} ${r.hint}`)).toEqual([
      `case-variant @Old.Admin:${S} to manage the existing account, name it exactly as the server does: @old.admin:${S}`,
    ]);
  });

  it("plans creates of new-grammar IDs as before beside a variant, when the server holds historical ones", () => {
    const plan = planUsers(
      input(
        [want("new.user", "active"), want("old.admin", "active")],
        [have("Old.Admin", "active"), have("NEW.USERX", "active")],
      ),
    );
    expect(plan.refusals.map((r) => `${r.code} ${r.userId}`)).toEqual([`case-variant @old.admin:${S}`]);
    expect(plan.actions.map((a) => `${a.kind} ${a.userId}`)).toEqual([`create @new.user:${S}`]);
  });

  it("finds the variant whatever the order the server lists in, a row listed twice included", () => {
    const planner = new Planner(input([want("old.admin", "active"), want("b", "active")], []));
    planner.observe(have("b", "active"));
    planner.observe(have("Old.Admin", "active"));
    planner.observe(have("b", "active"));
    planner.observe(have("Old.Admin", "active"));
    const plan = planner.finish();
    expect(plan.actions).toEqual([]);
    expect(plan.refusals.map((r) => `${r.code} ${r.hint}`)).toEqual([
      `case-variant to manage the existing account, name it exactly as the server does: @Old.Admin:${S}`,
    ]);
  });

  it("drift: missing, with a hint naming the account the server has, or saying it cannot be created", async () => {
    const { detectDrift } = await import("../../src/plan/drift.js");
    const drift = detectDrift(
      input(
        [want("old.admin", "active"), want("Gone.User", "deactivated", { historical: true }), old("active")],
        [have("Old.Admin", "active"), have("OLD.ADMIN", "deactivated")],
      ),
    );
    expect(drift.items).toEqual([
      {
        class: "missing",
        userId: `@Gone.User:${S}`,
        expected: "deactivated",
        actual: "absent",
        hint: "apply cannot create it: Synapse refuses new user IDs outside today's grammar",
      },
      {
        class: "missing",
        userId: `@old.admin:${S}`,
        expected: "active",
        actual: "absent",
        hint: `the server has @OLD.ADMIN:${S} and @Old.Admin:${S}; to manage the existing account, name it exactly as the server does: @OLD.ADMIN:${S} or @Old.Admin:${S}`,
      },
    ]);
  });
});
