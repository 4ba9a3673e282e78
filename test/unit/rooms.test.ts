// Rooms and spaces as desired state: the file format (with positioned errors), the pure planner
// as a table, drift, export, and the renderers — no server.
import { describe, expect, it } from "vitest";
import { exportUsersFile } from "../../src/config/export.js";
import { ConfigError, parseDesiredState } from "../../src/config/load.js";
import type { ActualUser } from "../../src/domain/account.js";
import type { DesiredUser } from "../../src/domain/desired.js";
import type { Plan } from "../../src/domain/plan.js";
import type { ActualRoom, DesiredRoom, MemberAccount, Membership } from "../../src/domain/rooms.js";
import { detectRoomDrift, planRooms, type RoomPlanInput } from "../../src/plan/rooms.js";
import { renderJson } from "../../src/report/json.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { renderApplyText, renderPlanText } from "../../src/report/text.js";
import { roomFromState } from "../../src/synapse/rooms.js";
import { actualUser } from "../support/users.js";

const S = "example.org";
const id = (localpart: string) => `@${localpart}:${S}`;
const ADMIN = id("admin");

function parse(text: string) {
  return parseDesiredState([{ name: "users.yaml", text }], { serverName: S });
}

function issues(text: string): string[] {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message.split("\n");
  }
  throw new Error("expected a ConfigError");
}

const FILE = `version: 1
users:
  alice: active
  bob: active
  carol: active
groups:
  engineering: [alice, bob]
  ops: [carol]
rooms:
  "#eng:example.org":
    groups: [engineering]
  "#eng-ops:example.org":
    groups: [engineering, ops]
    users: [admin]
    powerLevels:
      carol: 50
    removeUndeclared: true
`;

describe("the file's groups and rooms", () => {
  it("resolves groups into members, in file order, with why each is a member", () => {
    const state = parse(FILE.replace("  carol: active\n", "  carol: active\n  admin: active\n"));
    expect(state.rooms.map((r) => [r.key, [...r.members.keys()], r.removeUndeclared])).toEqual([
      ["#eng:example.org", [id("alice"), id("bob")], false],
      ["#eng-ops:example.org", [id("alice"), id("bob"), id("carol"), ADMIN], true],
    ]);
    const carol = state.rooms[1]!.members.get(id("carol"))!;
    expect(carol).toEqual({ userId: id("carol"), via: ["ops"], powerLevel: 50 });
    expect(state.rooms[0]!.source).toEqual({ file: "users.yaml", line: 11, column: 3 });
  });

  it("a user's own groups add it to them, so moving someone to another team is one line", () => {
    const text = (team: string) =>
      `version: 1\nusers:\n  alice: active\n  bob:\n    groups: [${team}]\ngroups:\n  engineering: [alice]\n  sales: []\nrooms:\n  "#eng:example.org":\n    groups: [engineering]\n  "#sales:example.org":\n    groups: [sales]\n`;
    const members = (team: string) => parse(text(team)).rooms.map((r) => [...r.members.keys()]);
    expect(members("engineering")).toEqual([[id("alice"), id("bob")], []]);
    expect(members("sales")).toEqual([[id("alice")], [id("bob")]]);
    expect(issues(text("enginering"))).toEqual([
      'users.yaml:5:14 users.bob.groups[0]: unknown group "enginering" (groups: engineering, sales): declare it under groups',
    ]);
  });

  it("examples/rooms.yaml is valid and means what its comments say", async () => {
    const { loadDesiredState } = await import("../../src/config/load.js");
    const example = await loadDesiredState(new URL("../../examples/rooms.yaml", import.meta.url).pathname, {
      serverName: S,
    });
    const members = Object.fromEntries(example.rooms.map((r) => [r.key, [...r.members.keys()]]));
    expect(members).toEqual({
      "#engineering:example.org": [id("alice"), id("bob")],
      "#eng:example.org": [id("alice"), id("bob")],
      "#eng-ops:example.org": [id("alice"), id("bob"), ADMIN],
      "#sales:example.org": [id("carol")],
      "#leads:example.org": [id("alice"), id("carol")],
    });
    expect(example.rooms.filter((r) => r.removeUndeclared).map((r) => r.key)).toEqual(["#eng-ops:example.org"]);
    expect(example.policy.maxRemovals).toBe(10);
  });

  it("a file without rooms has none", () => {
    expect(parse("version: 1\nusers:\n  alice: active\n").rooms).toEqual([]);
  });

  it("names each unknown group or user, and a power level of a non-member, at its line and column", () => {
    expect(issues(FILE)).toEqual([
      'users.yaml:14:13 rooms.#eng-ops:example.org.users[0]: unknown user "admin": a group or room may only name users declared under users',
    ]);
    const text = `version: 1
users:
  alice: active
groups:
  engineering: [alice, bobby]
rooms:
  "#eng:example.org":
    groups: [engineering, sales]
    powerLevels:
      alice: 50
      "@zed:example.org": 100
  "#eng-ops:example.org":
    powerLevels:
      alice: 10
`;
    expect(issues(text)).toEqual([
      'users.yaml:5:24 groups.engineering[1]: unknown user "bobby": a group or room may only name users declared under users',
      'users.yaml:8:27 rooms.#eng:example.org.groups[1]: unknown group "sales" (groups: engineering): declare it under groups',
      'users.yaml:11:7 rooms.#eng:example.org.powerLevels.@zed:example.org: unknown user "@zed:example.org": a group or room may only name users declared under users',
      "users.yaml:14:7 rooms.#eng-ops:example.org.powerLevels.alice: alice is not a member of this room: add it to users or to one of its groups",
    ]);
  });

  it("refuses a room key that is neither an alias nor a room ID, unknown keys and wrong types, at their place", () => {
    expect(issues("version: 1\nusers:\n  alice: active\nrooms:\n  eng:\n    users: [alice]\n")).toEqual([
      "users.yaml:5:3 rooms.eng: a room is named by an alias ('#name:server') or a room ID ('!id:server'); quote it: # starts a YAML comment",
    ]);
    // Mistakes of shape first: names are resolved once the shape is right.
    const text = `version: 1
users:
  alice: active
rooms:
  eng:
    users: [alice]
  "#ok:example.org":
    member: [alice]
    removeUndeclared: "yes"
`;
    expect(issues(text)).toEqual([
      'users.yaml:8:5 rooms.#ok:example.org.member: unknown key "member"',
      'users.yaml:9:23 rooms.#ok:example.org.removeUndeclared: expected a boolean (true or false), got "yes"',
    ]);
  });

  it("in a directory, groups and rooms may be in any file, each declared once", () => {
    const files = [
      { name: "d/_root.yaml", text: "version: 1\nusers:\n  alice: active\ngroups:\n  eng: [alice]\n" },
      {
        name: "d/team.yaml",
        text: 'version: 1\nusers: {}\ngroups:\n  eng: [alice]\nrooms:\n  "!abc":\n    groups: [eng]\n',
      },
    ];
    try {
      parseDesiredState(files, { serverName: S });
      throw new Error("expected a ConfigError");
    } catch (e) {
      expect((e as Error).message).toBe(
        "d/team.yaml:4:3 groups.eng: group eng is already declared at d/_root.yaml:5:3",
      );
    }
    files[1]!.text = 'version: 1\nusers: {}\nrooms:\n  "!abc":\n    groups: [eng]\n';
    expect([...parseDesiredState(files, { serverName: S }).rooms[0]!.members.keys()]).toEqual([id("alice")]);
  });
});

// ---- the planner ----

function room(members: Record<string, Membership>, extra: Partial<ActualRoom> = {}): ActualRoom {
  return {
    key: "#eng:example.org",
    roomId: "!eng:example.org",
    version: "11",
    joinRule: "invite",
    creators: [],
    members: new Map(Object.entries({ [ADMIN]: "join", ...members })),
    powerLevels: { users: { [ADMIN]: 100 }, usersDefault: 0, invite: 0, kick: 50, changePowerLevels: 100 },
    ...extra,
  };
}

function want(members: Record<string, number | undefined>, removeUndeclared = false): DesiredRoom {
  return {
    key: "#eng:example.org",
    members: new Map(
      Object.entries(members).map(([userId, powerLevel]) => [
        userId,
        { userId, via: ["engineering"], ...(powerLevel === undefined ? {} : { powerLevel }) },
      ]),
    ),
    removeUndeclared,
    source: { file: "users.yaml", line: 1, column: 1 },
  };
}

function input(
  desired: DesiredRoom,
  actual: ActualRoom | undefined,
  extra: Partial<RoomPlanInput> = {},
): RoomPlanInput {
  const accounts = new Map<string, MemberAccount>(
    [...desired.members.keys(), ...(actual?.members.keys() ?? [])].map((u) => [u, "active"]),
  );
  return {
    rooms: [desired],
    actual: new Map([[desired.key, actual]]),
    accounts,
    desired: new Map(),
    now: 0,
    activating: new Set(),
    ownUserId: ADMIN,
    policy: { protected: [] },
    ...extra,
  } as RoomPlanInput;
}

const A = id("alice");
const B = id("bob");

describe("planRooms: (file, room) → changes | refusal", () => {
  const cases: [string, RoomPlanInput, string[], string[]][] = [
    ["a member already joined: nothing", input(want({ [A]: undefined }), room({ [A]: "join" })), [], []],
    ["a member not in the room joins", input(want({ [A]: undefined }), room({})), [`join ${A} none→join`], []],
    [
      "an invited member joins",
      input(want({ [A]: undefined }), room({ [A]: "invite" })),
      [`join ${A} invite→join`],
      [],
    ],
    [
      "a member who left joins again",
      input(want({ [A]: undefined }), room({ [A]: "leave" })),
      [`join ${A} leave→join`],
      [],
    ],
    [
      "an undeclared member stays without removeUndeclared",
      input(want({ [A]: undefined }), room({ [A]: "join", [B]: "join" })),
      [],
      [],
    ],
    [
      "an undeclared member (joined or invited) is removed with removeUndeclared; the admin never",
      input(want({ [A]: undefined }, true), room({ [A]: "join", [B]: "invite" })),
      [`remove ${B} invite→leave`],
      [],
    ],
    ["a power level that differs is set", input(want({ [A]: 50 }), room({ [A]: "join" })), [`power ${A} 0→50`], []],
    ["a power level that matches: nothing", input(want({ [A]: 0 }), room({ [A]: "join" })), [], []],
    [
      "the room does not exist",
      input(want({ [A]: undefined }), undefined),
      [],
      ["room-not-found #eng:example.org: no such room on this server (the alias resolves to nothing)"],
    ],
    [
      "the admin is not in the room",
      input(want({ [A]: undefined }), room({ [ADMIN]: "leave" })),
      [],
      [
        `room-admin-not-member #eng:example.org: ${ADMIN} is not in the room, so it cannot change its members or power levels`,
      ],
    ],
    [
      "too little power to invite into a room that is not public",
      input(
        want({ [A]: undefined }),
        room({}, { powerLevels: { users: {}, usersDefault: 0, invite: 50, kick: 50, changePowerLevels: 100 } }),
      ),
      [],
      [`room-admin-power #eng:example.org: ${ADMIN} cannot invite ${A}: its power level 0 is below invite (50)`],
    ],
    [
      "a public room needs no invite power",
      input(
        want({ [A]: undefined }),
        room(
          {},
          {
            joinRule: "public",
            powerLevels: { users: {}, usersDefault: 0, invite: 50, kick: 50, changePowerLevels: 100 },
          },
        ),
      ),
      [`join ${A} none→join`],
      [],
    ],
    [
      "too little power to kick",
      input(
        want({}, true),
        room(
          { [B]: "join" },
          { powerLevels: { users: { [ADMIN]: 40 }, usersDefault: 0, invite: 0, kick: 50, changePowerLevels: 100 } },
        ),
      ),
      [],
      [
        `room-admin-power #eng:example.org: ${ADMIN} (power level 40) cannot remove ${B} (power level 0; kick needs 50 and more power than the member)`,
      ],
    ],
    [
      "a member with as much power as the admin cannot be kicked",
      input(
        want({}, true),
        room(
          { [B]: "join" },
          {
            powerLevels: {
              users: { [ADMIN]: 100, [B]: 100 },
              usersDefault: 0,
              invite: 0,
              kick: 50,
              changePowerLevels: 100,
            },
          },
        ),
      ),
      [],
      [
        `room-admin-power #eng:example.org: ${ADMIN} (power level 100) cannot remove ${B} (power level 100; kick needs 50 and more power than the member)`,
      ],
    ],
    [
      "too little power to send power levels",
      input(
        want({ [A]: 10 }),
        room(
          { [A]: "join" },
          { powerLevels: { users: { [ADMIN]: 50 }, usersDefault: 0, invite: 0, kick: 50, changePowerLevels: 100 } },
        ),
      ),
      [],
      [`room-admin-power #eng:example.org: ${ADMIN} cannot change power levels: its level 50 is below 100`],
    ],
    [
      "a level above the admin's own",
      input(want({ [A]: 101 }), room({ [A]: "join" })),
      [],
      [`room-admin-power #eng:example.org: ${ADMIN} (power level 100) cannot change ${A}'s power level from 0 to 101`],
    ],
    [
      "a version 12 creator cannot be listed in power levels",
      input(want({ [A]: 50 }), room({ [A]: "join" }, { version: "12", creators: [ADMIN, A] })),
      [],
      [
        `room-creator #eng:example.org: ${A} created this version 12 room: a creator's power is unlimited and cannot be listed in power levels`,
      ],
    ],
    [
      "a version 12 creator cannot be removed",
      input(want({}, true), room({ [B]: "join" }, { version: "12", creators: [ADMIN, B] })),
      [],
      [`room-creator #eng:example.org: ${B} created this version 12 room and cannot be removed`],
    ],
    [
      "a version 12 creating admin has unlimited power",
      input(
        want({ [A]: 100 }),
        room(
          { [A]: "join" },
          {
            version: "12",
            creators: [ADMIN],
            powerLevels: { users: {}, usersDefault: 0, invite: 0, kick: 50, changePowerLevels: 100 },
          },
        ),
      ),
      [`power ${A} 0→100`],
      [],
    ],
    [
      "a member deactivated on the server cannot join",
      input(want({ [A]: undefined }), room({}), { accounts: new Map([[A, "deactivated"]]) }),
      [],
      [`room-member-inactive #eng:example.org: ${A} is deactivated on the server, so cannot join`],
    ],
    [
      "a member absent from the server cannot join",
      input(want({ [A]: undefined }), room({}), { accounts: new Map() }),
      [],
      [`room-member-inactive #eng:example.org: ${A} is absent on the server, so cannot join`],
    ],
    [
      "…unless this plan creates the account",
      input(want({ [A]: undefined }), room({}), { accounts: new Map(), activating: new Set([A]) }),
      [`join ${A} none→join`],
      [],
    ],
    [
      "a member declared deactivated in the file cannot join",
      input(want({ [A]: undefined }), room({}), {
        desired: new Map([[A, { userId: A, state: "deactivated" } as DesiredUser]]),
      }),
      [],
      [`room-member-inactive #eng:example.org: ${A} is declared deactivated in the file, so cannot join`],
    ],
    [
      "a member whose deactivateOn has passed is declared deactivated, and cannot join",
      input(want({ [A]: undefined }), room({}), {
        desired: new Map([
          [A, { userId: A, state: "active", schedule: { deactivate: { on: "2026-12-31", at: 10 } } } as DesiredUser],
        ]),
        now: 10,
      }),
      [],
      [`room-member-inactive #eng:example.org: ${A} is declared deactivated in the file, so cannot join`],
    ],
    [
      "…but joins before that date",
      input(want({ [A]: undefined }), room({}), {
        desired: new Map([
          [A, { userId: A, state: "active", schedule: { deactivate: { on: "2026-12-31", at: 10 } } } as DesiredUser],
        ]),
        now: 9,
      }),
      [`join ${A} none→join`],
      [],
    ],
    [
      "a banned member cannot be joined",
      input(want({ [A]: undefined }), room({ [A]: "ban" })),
      [],
      [`room-member-inactive #eng:example.org: ${A} is banned from the room`],
    ],
    [
      "more removals than policy.maxRemovals",
      input(want({}, true), room({ [A]: "join", [B]: "join" }), { policy: { maxRemovals: 1, protected: [] } }),
      [`remove ${A} join→leave`, `remove ${B} join→leave`],
      ["max-removals the plan removes 2 members from rooms, over the limit of 1"],
    ],
    // The admin user's own power, protected users, and demotions against the limit.
    [
      "the admin user's own power level cannot be lowered",
      input(want({ [ADMIN]: 50 }), room({})),
      [],
      [
        `own-user #eng:example.org: ${ADMIN} is the admin token's own user; refusing to lower its power level from 100 to 50 (it would lose the power to manage the room)`,
      ],
    ],
    ["…and at its own level: nothing", input(want({ [ADMIN]: 100 }), room({})), [], []],
    [
      "a protected user's power level cannot be lowered",
      input(
        want({ [A]: 0 }),
        room(
          { [A]: "join" },
          {
            powerLevels: {
              users: { [ADMIN]: 100, [A]: 50 },
              usersDefault: 0,
              invite: 0,
              kick: 50,
              changePowerLevels: 100,
            },
          },
        ),
        { policy: { protected: ["@ali*:example.org"] } },
      ),
      [],
      [
        `protected-user #eng:example.org: ${A} is protected by policy.protected; refusing to lower its power level from 50 to 0`,
      ],
    ],
    [
      "…but can be raised",
      input(want({ [A]: 50 }), room({ [A]: "join" }), { policy: { protected: ["@ali*:example.org"] } }),
      [`power ${A} 0→50`],
      [],
    ],
    [
      "a protected user is not removed with removeUndeclared",
      input(want({ [A]: undefined }, true), room({ [A]: "join", [B]: "join" }), { policy: { protected: [B] } }),
      [],
      [`protected-user #eng:example.org: ${B} is protected by policy.protected; refusing to remove it from the room`],
    ],
    [
      "demotions count against policy.maxRemovals",
      input(
        want({ [A]: 0, [B]: 0 }),
        room(
          { [A]: "join", [B]: "join" },
          {
            powerLevels: {
              users: { [ADMIN]: 100, [A]: 50, [B]: 50 },
              usersDefault: 0,
              invite: 0,
              kick: 50,
              changePowerLevels: 100,
            },
          },
        ),
        { policy: { maxRemovals: 1, protected: [] } },
      ),
      [`power ${A} 50→0`, `power ${B} 50→0`],
      [
        "max-removals the plan lowers 2 members' power levels in rooms, over the limit of 1 (maxRemovals counts removals and demotions)",
      ],
    ],
    [
      "…with the removals",
      input(
        want({ [A]: 0 }, true),
        room(
          { [A]: "join", [B]: "join" },
          {
            powerLevels: {
              users: { [ADMIN]: 100, [A]: 50 },
              usersDefault: 0,
              invite: 0,
              kick: 50,
              changePowerLevels: 100,
            },
          },
        ),
        { policy: { maxRemovals: 1, protected: [] } },
      ),
      [`power ${A} 50→0`, `remove ${B} join→leave`],
      [
        "max-removals the plan removes 1 members from rooms and lowers 1 members' power levels in rooms, over the limit of 1 (maxRemovals counts removals and demotions)",
      ],
    ],
    [
      "…but promotions do not count",
      input(want({ [A]: 50, [B]: 50 }), room({ [A]: "join", [B]: "join" }), {
        policy: { maxRemovals: 1, protected: [] },
      }),
      [`power ${A} 0→50`, `power ${B} 0→50`],
      [],
    ],
  ];

  it.each(cases)("%s", (_title, given, changes, refusals) => {
    const result = planRooms(given);
    expect(result.plan.changes.map((c) => `${c.kind} ${c.userId} ${c.from}→${c.to}`)).toEqual(changes);
    expect(result.refusals.map((r) => `${r.code} ${r.message}`)).toEqual(refusals);
    expect(result.plan.summary.join + result.plan.summary.remove + result.plan.summary.power).toBe(changes.length);
  });
});

describe("detectRoomDrift: each kind its own class", () => {
  it("left, invited, joined by hand, promoted", () => {
    const C = id("carol");
    const D = id("dave");
    const desired = want({ [A]: 50, [B]: undefined }, true);
    const actual = room(
      { [A]: "join", [B]: "leave", [C]: "invite", [D]: "join" },
      {
        powerLevels: {
          users: { [ADMIN]: 100, [A]: 100 },
          usersDefault: 0,
          invite: 0,
          kick: 50,
          changePowerLevels: 100,
        },
      },
    );
    expect(
      detectRoomDrift([desired], new Map([[desired.key, actual]]), ADMIN).map((i) => [i.class, i.userId, i.actual]),
    ).toEqual([
      ["power-level", A, "power level 100"],
      ["member-left", B, "leave"],
      ["member-invited", C, "invited"],
      ["member-joined", D, "joined"],
    ]);
    // Without removeUndeclared, the file does not claim the whole membership.
    const loose = want({ [A]: 50, [B]: undefined });
    expect(detectRoomDrift([loose], new Map([[loose.key, actual]]), ADMIN).map((i) => i.class)).toEqual([
      "power-level",
      "member-left",
    ]);
  });
});

describe("roomFromState: a room version 12's creators", () => {
  it("are the create event's sender and additional_creators; earlier versions have none", () => {
    const state = (version: string) => [
      {
        type: "m.room.create",
        stateKey: "",
        sender: ADMIN,
        content: { room_version: version, additional_creators: [A] },
      },
      { type: "m.room.member", stateKey: A, sender: A, content: { membership: "join" } },
      { type: "m.room.power_levels", stateKey: "", sender: ADMIN, content: { users: { [B]: "50" }, kick: 60 } },
    ];
    const v12 = roomFromState("!x", "!x", state("12"));
    expect(v12.creators).toEqual([ADMIN, A]);
    expect(v12.powerLevels).toEqual({
      users: { [B]: 50 },
      usersDefault: 0,
      invite: 0,
      kick: 60,
      changePowerLevels: 50,
    });
    expect(roomFromState("!x", "!x", state("11")).creators).toEqual([]);
  });
});

describe("export: rooms with their members and power levels", () => {
  it("reads back as the same rooms, and plans no change against the room it came from", () => {
    const user = (localpart: string): ActualUser => actualUser(id(localpart), "active");
    const actual = room(
      { [A]: "join", [B]: "invite", "@remote:elsewhere.org": "join" },
      {
        powerLevels: { users: { [ADMIN]: 100, [A]: 50 }, usersDefault: 0, invite: 0, kick: 50, changePowerLevels: 100 },
      },
    );
    const text = exportUsersFile([user("admin"), user("alice"), user("bob")], S, "", [actual]);
    expect(text).toContain(
      'rooms:\n  "#eng:example.org":\n    users:\n      - admin\n      - alice\n    powerLevels:\n      admin: 100\n      alice: 50\n',
    );
    const back = parse(text);
    const result = planRooms({
      now: 0,
      rooms: back.rooms,
      actual: new Map([[actual.key, actual]]),
      accounts: new Map([
        [A, "active"],
        [ADMIN, "active"],
      ]),
      desired: back.users,
      activating: new Set(),
      ownUserId: ADMIN,
      policy: { protected: [] },
    });
    expect(result).toEqual({
      plan: {
        changes: [],
        rooms: [{ key: "#eng:example.org", roomId: "!eng:example.org" }],
        summary: { join: 0, remove: 0, power: 0 },
      },
      refusals: [],
    });
  });
});

// ---- the renderers ----

const HOSTILE = "Eng\u001b[2J\nRoom](http://evil) <b>@room</b>";
const plan: Plan = {
  serverName: S,
  policy: { unmanaged: "report", maxDeactivations: 10, maxErasures: 5, protected: [], maxRemovals: 3 },
  actions: [],
  refusals: [],
  unmanaged: [],
  summary: { create: 0, update: 0, deactivate: 0, erase: 0, reactivate: 0 },
  rooms: {
    rooms: [{ key: "#eng:example.org", roomId: "!eng:example.org", name: HOSTILE, type: "m.space" }],
    changes: [
      {
        kind: "join",
        room: "#eng:example.org",
        roomId: "!eng:example.org",
        userId: A,
        from: "none",
        to: "join",
        reason: "group engineering",
      },
      {
        kind: "remove",
        room: "#eng:example.org",
        roomId: "!eng:example.org",
        userId: B,
        from: "join",
        to: "leave",
        reason: "not in the file (removeUndeclared)",
      },
      {
        kind: "power",
        room: "#eng:example.org",
        roomId: "!eng:example.org",
        userId: A,
        from: 0,
        to: 50,
        reason: "group engineering",
      },
    ],
    summary: { join: 1, remove: 1, power: 1 },
  },
};

describe("rooms in the reports", () => {
  it("text: per room, each change; the room's name escaped", () => {
    const text = renderPlanText({ command: "plan", plan });
    expect(text).toBe(
      [
        "Plan: 0 to create, 0 to update, 0 to deactivate, 0 to erase, 0 to reactivate.",
        "",
        "Rooms: 1 to join, 1 to remove, 1 power levels to change.",
        '  space #eng:example.org "Eng\\u001b[2J\\nRoom](http://evil) <b>@room</b>"',
        `    + ${A}  join (group engineering)`,
        `    - ${B}  remove (not in the file (removeUndeclared); joined now)`,
        `    ~ ${A}  power level 0 → 50 (group engineering)`,
        "Rooms policy: maxRemovals 3.",
        "",
        "Policy: unmanaged report, maxDeactivations 10, maxErasures 5, protected: none.",
        "",
      ].join("\n"),
    );
    expect(text).not.toContain("\u001b");
  });

  it("Markdown: a row per change, the room's name unable to link, mention or format", () => {
    const md = renderMarkdown({ command: "plan", plan });
    expect(md).toContain("**Rooms: 1 to join, 1 to remove, 1 power levels to change.**");
    const row = md.split("\n").find((l) => l.startsWith("| ➕"))!;
    expect(row).toContain(`| ${"`"}${A}${"`"} | join (${"`"}group engineering${"`"}) |`);
    // In a code span: no link, no HTML, no mention.
    expect(row).toContain('| space `#eng:example.org` `"Eng\\u001b[2J\\nRoom](http://evil) <b>@room</b>"` |');
  });

  it("JSON: the rooms' changes and, after apply, each one's outcome", () => {
    const apply = {
      results: [],
      summary: { done: 0, failed: 0, stale: 0, "not-started": 0 },
      rooms: [
        { change: plan.rooms!.changes[0]!, outcome: "done" as const },
        { change: plan.rooms!.changes[1]!, outcome: "stale" as const, message: "bob left meanwhile" },
      ],
    };
    const doc = JSON.parse(renderJson({ command: "apply", plan, apply }));
    expect(doc.changes).toBe(true);
    expect(doc.rooms.summary).toEqual({ join: 1, remove: 1, power: 1 });
    expect(doc.rooms.changes).toHaveLength(3);
    expect(doc.rooms.apply).toEqual([
      { room: "#eng:example.org", userId: A, kind: "join", outcome: "done" },
      { room: "#eng:example.org", userId: B, kind: "remove", outcome: "stale", message: "bob left meanwhile" },
    ]);
    expect(renderApplyText({ command: "apply", plan, apply })).toContain(
      `Room changes not done:\n  stale  remove ${B} in #eng:example.org: bob left meanwhile\nRooms applied: 1 done, 0 failed, 1 stale.`,
    );
  });
});

describe("policy review: maxRemovals", () => {
  it("raising it loosens the policy (unset is the default, 10); lowering it does not", async () => {
    const { policyChanges } = await import("../../src/plan/policy.js");
    const base = { unmanaged: "report" as const, maxDeactivations: 10, maxErasures: 5, protected: [] };
    expect(policyChanges(base, { ...base, maxRemovals: 10 })).toEqual([]);
    expect(policyChanges(base, { ...base, maxRemovals: 500 }).map((c) => [c.description, c.loosens])).toEqual([
      ["maxRemovals 10 → 500", true],
    ]);
    expect(policyChanges({ ...base, maxRemovals: 50 }, base).map((c) => [c.description, c.loosens])).toEqual([
      ["maxRemovals 50 → 10", false],
    ]);
  });
});
