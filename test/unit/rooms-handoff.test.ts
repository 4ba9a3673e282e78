// Room changes handed from one run to another: in a saved plan (plan --out → apply --plan) and in an
// inventory snapshot (snapshot --out → plan --snapshot on a pull request).
import { describe, expect, it } from "vitest";
import { parseDesiredState } from "../../src/config/load.js";
import { snapshotRoomPlan } from "../../src/core/rooms.js";
import { readPlanFile, savedRoomProblems, writePlanFile } from "../../src/core/savedPlan.js";
import type { ActualUser } from "../../src/domain/account.js";
import type { Plan } from "../../src/domain/plan.js";
import type { ActualRoom, RoomChange } from "../../src/domain/rooms.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { planFromSnapshot, readSnapshot, writeSnapshot } from "../../src/snapshot/snapshot.js";
import { actualUser } from "../support/users.js";

const S = "example.org";
const id = (localpart: string) => `@${localpart}:${S}`;
const ADMIN = id("admin");
const TOKEN = "syt_secret_token";
const NOW = Date.parse("2026-07-20T03:17:00.000Z");

const join = (userId: string, from: RoomChange["from"] = "none"): RoomChange => ({
  kind: "join",
  room: "#eng:example.org",
  roomId: "!eng:example.org",
  userId,
  from,
  to: "join",
  reason: "group engineering",
});
const remove = (userId: string): RoomChange => ({
  kind: "remove",
  room: "#eng:example.org",
  roomId: "!eng:example.org",
  userId,
  from: "join",
  to: "leave",
  reason: "not in the file (removeUndeclared)",
});

function planWith(changes: RoomChange[]): Plan {
  const summary = { join: 0, remove: 0, power: 0 };
  for (const c of changes) summary[c.kind]++;
  return {
    serverName: S,
    policy: { unmanaged: "ignore", maxDeactivations: 10, maxErasures: 5, protected: [] },
    actions: [],
    refusals: [],
    unmanaged: [],
    summary: { create: 0, update: 0, deactivate: 0, erase: 0, reactivate: 0 },
    rooms: { changes, rooms: [{ key: "#eng:example.org", roomId: "!eng:example.org", name: "Eng" }], summary },
  } as Plan;
}

function saved(plan: Plan): string {
  return writePlanFile(
    {
      homeserver: "https://matrix.example.org",
      serverName: S,
      ownUserId: ADMIN,
      desired: { files: ["users.yaml"], sha256: "0".repeat(64) },
      plan,
    },
    TOKEN,
    { now: NOW },
  );
}

const read = (text: string) => readPlanFile(text, "plan.json", TOKEN, NOW + 1000);

/** The plan file's text with `edit` made to its parsed JSON, the MAC left as it was. */
function edited(text: string, edit: (json: { plan: Plan }) => void): string {
  const json = JSON.parse(text);
  edit(json);
  return JSON.stringify(json);
}

describe("a saved plan with room changes", () => {
  const plan = planWith([join(id("alice")), join(id("bob"), "leave"), remove(id("mallory"))]);

  it("round-trips each change with its precondition, room key and room ID, sealed", () => {
    expect(read(saved(plan)).plan.rooms).toEqual(plan.rooms);
  });

  it("reads back an alias outside ASCII (Matrix allows any character but ':' in its name) and a version 12 room ID", () => {
    const other = {
      ...join(id("alice")),
      room: "#café:example.org",
      roomId: "!Ab-_9xYz0123456789abcdefghijklmnopqrstuvwxy",
    };
    expect(read(saved(planWith([other]))).plan.rooms?.changes).toEqual([other]);
  });

  it("refuses a room change edited after the plan was made", () => {
    const text = saved(plan);
    expect(read(text).plan.rooms?.changes[0]?.userId).toBe(id("alice"));
    const tampered = edited(text, (json) => {
      json.plan.rooms!.changes[0]!.userId = id("eve");
    });
    expect(() => read(tampered)).toThrow("plan.json was changed after it was made, or made with another admin token");
  });

  it.each([
    [
      "a room ID outside the grammar",
      { roomId: "!eng:example.org/../../v1/deactivate" },
      "roomId: is not a Matrix room ID",
    ],
    ["a user ID that is a URL", { userId: "https://evil.example/@x" }, "userId: is not a Matrix user ID"],
    ["an alias with a newline", { room: "#eng\n:example.org" }, "room: is not a room alias or room ID"],
    ["a room ID with a bidi control", { roomId: "!eng\u202e:example.org" }, "roomId: is not a Matrix room ID"],
    ["a join that does not end joined", { to: "ban" }, "is not a change apply makes"],
  ])("refuses %s with one clear message naming its place, even when sealed", (_title, bad, message) => {
    const text = saved(planWith([{ ...join(id("alice")), ...(bad as Partial<RoomChange>) }]));
    expect(() => read(text)).toThrow("plan.json is not a valid plan file: plan.rooms.changes.0");
    expect(() => read(text)).toThrow(message);
  });

  it("is held to this run's --max-removals, and to the rooms the users file declares", () => {
    const twoRemovals = planWith([remove(id("mallory")), remove(id("trudy"))]);
    const declared = new Set(["#eng:example.org"]);
    expect(savedRoomProblems(twoRemovals, declared, { maxRemovals: 2 })).toEqual([]);
    expect(savedRoomProblems(twoRemovals, declared, { maxRemovals: 1 }).map((p) => p.message)).toEqual([
      "the plan removes 2 members from rooms, over the limit of 1",
    ]);
    const demotion: RoomChange = { ...remove(id("walter")), kind: "power", from: 50, to: 0, reason: "level" };
    const removalAndDemotion = planWith([remove(id("mallory")), demotion]);
    expect(savedRoomProblems(removalAndDemotion, declared, { maxRemovals: 1 }).map((p) => p.message)).toEqual([
      "the plan removes 1 members from rooms and lowers 1 members' power levels in rooms, over the limit of 1 (maxRemovals counts removals and demotions)",
    ]);
    expect(savedRoomProblems(twoRemovals, new Set(), { maxRemovals: 2 }).map((p) => p.message)).toEqual([
      "changes rooms the users file does not declare: #eng:example.org",
    ]);
  });
});

// --- snapshots ---

const FILE = `version: 1
policy:
  unmanaged: ignore
users:
  admin: active
  alice: active
  bob: active
groups:
  engineering: [alice, bob]
rooms:
  "#eng:example.org":
    groups: [engineering]
    users: [admin]
    powerLevels:
      alice: 50
    removeUndeclared: true
  "#new:example.org":
    groups: [engineering]
`;

const user = (userId: string): ActualUser => actualUser(userId, "active", { admin: userId === ADMIN });

const ENG: ActualRoom = {
  key: "#eng:example.org",
  roomId: "!eng:example.org",
  name: "Engineering",
  version: "11",
  joinRule: "invite",
  creators: [],
  members: new Map([
    [ADMIN, "join"],
    [id("alice"), "join"],
    [id("mallory"), "join"],
  ]),
  powerLevels: { users: { [ADMIN]: 100 }, usersDefault: 0, invite: 0, kick: 50, changePowerLevels: 100 },
};

const META = { serverName: S, homeserver: "https://matrix.example.org", ownUserId: ADMIN, takenAt: new Date(NOW) };

function offlinePlan(rooms?: Map<string, ActualRoom | undefined>) {
  const desired = parseDesiredState([{ name: "users.yaml", text: FILE }], { serverName: S });
  const users = [ADMIN, id("alice"), id("bob"), id("mallory")].map(user);
  const snapshot = readSnapshot(writeSnapshot(users, META, rooms), "inventory.json");
  const { plan } = planFromSnapshot(snapshot, desired.users, desired.policy as Plan["policy"], NOW);
  return snapshotRoomPlan(plan, desired, snapshot);
}

describe("a snapshot with rooms", () => {
  it("holds the rooms the file declares without their names, and plans them as a live plan does", () => {
    const rooms = new Map<string, ActualRoom | undefined>([
      ["#eng:example.org", ENG],
      ["#new:example.org", undefined],
    ]);
    expect(writeSnapshot([], META, rooms)).not.toContain("Engineering");
    const { plan, roomsNotCompared } = offlinePlan(rooms);
    expect(roomsNotCompared).toEqual([]);
    expect(plan.rooms?.changes.map((c) => `${c.kind} ${c.userId} ${c.from}→${c.to}`)).toEqual([
      `power ${id("alice")} 0→50`,
      `join ${id("bob")} none→join`,
      `remove ${id("mallory")} join→leave`,
    ]);
    // A room the server did not have when the snapshot was taken is refused, as live.
    expect(plan.refusals.map((r) => r.code)).toEqual(["room-not-found"]);
  });

  it("reports a room the file declares that the snapshot does not hold as not compared", () => {
    const { plan, roomsNotCompared } = offlinePlan(new Map([["#eng:example.org", ENG]]));
    expect(roomsNotCompared).toEqual(["#new:example.org"]);
    expect(plan.rooms?.rooms.map((r) => r.key)).toEqual(["#eng:example.org"]);
    const markdown = renderMarkdown({
      command: "plan",
      plan,
      snapshot: { age: "taken just now", notCompared: [], roomsNotCompared },
    });
    expect(markdown).toContain(
      "Not compared (the snapshot holds no such room; take it again from this file): room `#new:example.org`.",
    );
    // A snapshot of a file without rooms (or from an older version) holds none: every room is not compared.
    expect(offlinePlan(undefined).roomsNotCompared).toEqual(["#eng:example.org", "#new:example.org"]);
  });

  it("leaves out a member a remote server named outside the user ID grammar, so the snapshot still reads", () => {
    const odd: ActualRoom = { ...ENG, members: new Map([...ENG.members, ["@\u00e9\u001b:remote.example", "join"]]) };
    const snapshot = readSnapshot(writeSnapshot([], META, new Map([["#eng:example.org", odd]])), "inventory.json");
    expect([...(snapshot.rooms?.get("#eng:example.org")?.members.keys() ?? [])]).toEqual([...ENG.members.keys()]);
  });

  it("refuses a room member that is no user ID with one clear message", () => {
    const text = writeSnapshot([user(ADMIN)], META, new Map([["#eng:example.org", ENG]])).replace(
      `"${id("mallory")}":"join"`,
      `"mallory\\u001b[2J":"join"`,
    );
    expect(() => readSnapshot(text, "inventory.json")).toThrow(
      'inventory.json is not a valid snapshot: rooms.0.members."mallory\\u001b[2J": is not a Matrix user ID',
    );
  });
});
