// Rooms and spaces as desired state: the built CLI against the real Synapse. Public and invite-only
// rooms, a space with child rooms and a room version 12 room, all made here by the admin (or by
// another user where the admin must lack power); each refusal, the removal threshold, drift, the
// export round trip, and the issue's "done means" scenario end to end. Every test uses its own
// users and rooms (unique names), under `unmanaged: ignore`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SynapseClient } from "../../src/synapse/client.js";
import { type CliRun, runCli, serverEnv, tempFiles } from "../support/cli.js";
import { login, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
const env = serverEnv(server);
let client: SynapseClient;
beforeAll(() => {
  // Retrying: kicks and power levels are events, which Synapse rate-limits (admins too).
  client = new SynapseClient({ baseUrl: server.url, token: server.token, retries: 10 });
});
afterAll(() => client.close());

const id = (localpart: string) => `@${localpart}:${server.serverName}`;
const enc = encodeURIComponent;

/** A client-server or Admin API call as `token`'s user (the admin by default), straight to the server. */
async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  token = server.token,
): Promise<T> {
  for (;;) {
    const res = await fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as T & { retry_after_ms?: number };
    // Synapse limits the events a user sends (rc_message), admins included: wait as it asks.
    if (res.status === 429) {
      await new Promise((r) => setTimeout(r, json.retry_after_ms ?? 1000));
      continue;
    }
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
    return json;
  }
}

/** Users made through the Admin API directly (not through the tool under test); returns their localparts. */
async function users<T extends string[]>(...prefixes: T): Promise<{ [K in keyof T]: string }> {
  const names = prefixes.map((p) => uniqueLocalpart(p)) as { [K in keyof T]: string };
  await Promise.all(names.map((n) => client.createUser(id(n), { displayname: n, password: "pw-rooms-1" })));
  return names;
}

/** A room made as `token`'s user (the admin by default), with an alias; returns the alias and ID. */
async function room(
  prefix: string,
  options: Record<string, unknown> = {},
  token = server.token,
): Promise<{ alias: string; roomId: string }> {
  const local = uniqueLocalpart(prefix);
  const { room_id } = await call<{ room_id: string }>(
    "POST",
    "/_matrix/client/v3/createRoom",
    { room_alias_name: local, ...options },
    token,
  );
  return { alias: `#${local}:${server.serverName}`, roomId: room_id };
}

async function membership(roomId: string, localpart: string): Promise<string> {
  const state = await client.getRoomState(roomId);
  const event = state?.find((e) => e.type === "m.room.member" && e.stateKey === id(localpart));
  return typeof event?.content.membership === "string" ? event.content.membership : "none";
}

async function levelOf(roomId: string, localpart: string): Promise<number | undefined> {
  const state = await client.getRoomState(roomId);
  const pl = state?.find((e) => e.type === "m.room.power_levels");
  return (pl?.content.users as Record<string, number> | undefined)?.[id(localpart)];
}

function file(body: string): string {
  return `version: 1\npolicy:\n  unmanaged: ignore\n${body}`;
}

async function cli(command: string, yaml: string, ...flags: string[]): Promise<CliRun & { dir: string }> {
  const dir = tempFiles({ "users.yaml": yaml });
  const args = [command, join(dir, "users.yaml"), ...(command === "apply" ? ["--yes"] : []), ...flags];
  return { ...(await runCli(args, env)), dir };
}

describe("done means: engineering is alice and bob; #eng and #eng-ops are for engineering", () => {
  it("plans and applies the joins, and after a one-line move bob leaves #eng-ops on the next apply", async () => {
    const [alice, bob] = await users("alice", "bob");
    const eng = await room("eng", { preset: "public_chat" });
    const ops = await room("eng-ops", { preset: "private_chat" });
    const sales = await room("sales", { preset: "private_chat" });
    const yaml = (team: string) =>
      file(`users:
  ${alice}: active
  ${bob}:
    groups: [${team}]
groups:
  engineering: [${alice}]
  sales: []
rooms:
  "${eng.alias}":
    groups: [engineering]
  "${ops.alias}":
    groups: [engineering]
    powerLevels:
      ${alice}: 50
    removeUndeclared: true
  "${sales.alias}":
    groups: [sales]
`);

    // The plan a pull request shows.
    const planned = await cli("plan", yaml("engineering"), "--detailed-exitcode", "--format", "markdown");
    expect(planned.stderr).toBe("");
    expect(planned.code).toBe(2);
    expect(planned.stdout).toContain("**Rooms: 4 to join, 0 to remove, 1 power levels to change.**");
    expect(planned.stdout).toContain(`| ➕ | \`${ops.alias}\` | \`${id(bob)}\` | join (\`group engineering\`) |`);

    const applied = await cli("apply", yaml("engineering"));
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`  ok     join ${id(bob)} in ${ops.alias}`);
    expect(applied.stdout).toMatch(/^Rooms applied: 5 done, 0 failed, 0 stale\.$/m);
    for (const r of [eng, ops]) {
      expect(await membership(r.roomId, alice)).toBe("join");
      expect(await membership(r.roomId, bob)).toBe("join");
    }
    expect(await membership(sales.roomId, bob)).toBe("none");
    expect(await levelOf(ops.roomId, alice)).toBe(50);

    const again = await cli("apply", yaml("engineering"));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("No changes: the server matches the file.");
    expect(again.stdout).toContain("Rooms: no changes (3 managed rooms match the file).");

    // The one-line change: bob moves to sales.
    const moved = await cli("apply", yaml("sales"));
    expect(moved.stderr).toBe("");
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain("Rooms: 1 to join, 1 to remove, 0 power levels to change.");
    expect(moved.stdout).toContain(`    - ${id(bob)}  remove (not in the file (removeUndeclared); joined now)`);
    expect(await membership(ops.roomId, bob)).toBe("leave");
    expect(await membership(sales.roomId, bob)).toBe("join");
    // #eng does not remove undeclared members: bob stays until someone removes him.
    expect(await membership(eng.roomId, bob)).toBe("join");
  });
});

describe("onboarding", () => {
  it("one apply creates a new user's account and joins it to its team's rooms", async () => {
    const newcomer = uniqueLocalpart("newcomer");
    const r = await room("team", { preset: "private_chat" });
    const run = await cli(
      "apply",
      file(
        `users:\n  ${newcomer}:\n    groups: [team]\ngroups:\n  team: []\nrooms:\n  "${r.alias}":\n    groups: [team]\n`,
      ),
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Apply: 1 done, 0 failed, 0 stale\.$/m);
    expect(run.stdout).toMatch(/^Rooms applied: 1 done, 0 failed, 0 stale\.$/m);
    expect(await membership(r.roomId, newcomer)).toBe("join");
  });
});

describe("rooms of every kind the admin makes", () => {
  it("a space and its child rooms, and a room version 12 room, are joined like any room", async () => {
    const [carol] = await users("carol");
    const child = await room("child", { preset: "private_chat" });
    const space = await room("space", {
      preset: "private_chat",
      creation_content: { type: "m.space" },
      initial_state: [{ type: "m.space.child", state_key: child.roomId, content: { via: [server.serverName] } }],
    });
    const v12 = await room("v12", { preset: "private_chat", room_version: "12" });
    // Synapse 1.160 offers room version 12 as stable; its room IDs carry no server name.
    expect(v12.roomId).not.toContain(":");
    const yaml = file(`users:
  ${carol}: active
rooms:
  "${space.alias}":
    users: [${carol}]
  "${child.alias}":
    users: [${carol}]
  "${v12.alias}":
    users: [${carol}]
    powerLevels:
      ${carol}: 20
`);
    const run = await cli("apply", yaml);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`  space ${space.alias}`);
    for (const r of [space, child, v12]) expect(await membership(r.roomId, carol)).toBe("join");
    expect(await levelOf(v12.roomId, carol)).toBe(20);
    // The admin created the v12 room: it has unlimited power and is never listed in its power levels.
    expect(await levelOf(v12.roomId, "admin")).toBeUndefined();
  });
});

describe("refusals: nothing is applied, exit 1", () => {
  async function expectRefused(yaml: string, message: string, ...flags: string[]) {
    const run = await cli("apply", yaml, ...flags);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(message);
    expect(run.stderr).toContain("Nothing was applied");
    return run;
  }

  it("a room version 12 creator cannot be listed in power levels nor removed", async () => {
    const [dora, erin] = await users("dora", "erin");
    const v12 = await room("v12-creators", {
      preset: "private_chat",
      room_version: "12",
      creation_content: { additional_creators: [id(dora)] },
    });
    await client.adminJoin(v12.roomId, id(dora));
    const listed = file(`users:
  ${dora}: active
  ${erin}: active
rooms:
  "${v12.alias}":
    users: [${dora}, ${erin}]
    powerLevels:
      ${dora}: 50
`);
    await expectRefused(
      listed,
      `x ${v12.alias}: ${id(dora)} created this version 12 room: a creator's power is unlimited and cannot be listed in power levels`,
    );
    expect(await membership(v12.roomId, erin)).toBe("none");
    const removed = file(
      `users:\n  ${dora}: active\nrooms:\n  "${v12.alias}":\n    users: []\n    removeUndeclared: true\n`,
    );
    await expectRefused(removed, `x ${v12.alias}: ${id(dora)} created this version 12 room and cannot be removed`);
    expect(await membership(v12.roomId, dora)).toBe("join");
  });

  it("the admin is not in the room, or lacks the power to invite, kick or change power levels", async () => {
    const [owner, frank] = await users("owner", "frank");
    const token = await login(server, id(owner), "pw-rooms-1");
    const notIn = await room("not-in", { preset: "private_chat" }, token);
    await expectRefused(
      file(`users:\n  ${frank}: active\nrooms:\n  "${notIn.alias}":\n    users: [${frank}]\n`),
      `x ${notIn.alias}: ${server.adminUserId} is not in the room, so it cannot change its members or power levels`,
    );
    // The admin in the room with power level 0, where inviting takes 50.
    const weak = await room(
      "weak",
      { preset: "private_chat", invite: [server.adminUserId], power_level_content_override: { invite: 50 } },
      token,
    );
    await call("POST", `/_matrix/client/v3/rooms/${enc(weak.roomId)}/join`, {});
    await expectRefused(
      file(`users:\n  ${frank}: active\nrooms:\n  "${weak.alias}":\n    users: [${frank}]\n`),
      `x ${weak.alias}: ${server.adminUserId} cannot invite ${id(frank)}: its power level 0 is below invite (50)`,
    );
    await expectRefused(
      file(
        `users:\n  ${owner}: active\nrooms:\n  "${weak.alias}":\n    users: [${owner}]\n    powerLevels:\n      ${owner}: 50\n`,
      ),
      `x ${weak.alias}: ${server.adminUserId} cannot change power levels: its level 0 is below 100`,
    );
    await expectRefused(
      file(`users:\n  ${frank}: active\nrooms:\n  "${weak.alias}":\n    users: []\n    removeUndeclared: true\n`),
      `x ${weak.alias}: ${server.adminUserId} (power level 0) cannot remove ${id(owner)} (power level 100; kick needs 50 and more power than the member)`,
    );
    expect(await membership(weak.roomId, owner)).toBe("join");
  });

  it("a file lowering the admin user's own power level: refused, its level kept", async () => {
    const r = await room("own-level", { preset: "private_chat" });
    const admin = server.adminUserId.slice(1, server.adminUserId.indexOf(":"));
    await expectRefused(
      file(
        `users:\n  ${admin}: active\nrooms:\n  "${r.alias}":\n    users: [${admin}]\n    powerLevels:\n      ${admin}: 50\n`,
      ),
      `x ${r.alias}: ${server.adminUserId} is the admin token's own user; refusing to lower its power level from 100 to 50`,
    );
    expect(await levelOf(r.roomId, admin)).toBe(100);
  });

  it("a member deactivated on the server or in the file, and a room that does not exist", async () => {
    const [gone, leaving] = await users("gone", "leaving");
    await client.deactivate(id(gone), { erase: false });
    const r = await room("inactive", { preset: "private_chat" });
    const run = await expectRefused(
      file(
        `users:\n  ${gone}: active\n  ${leaving}: deactivated\nrooms:\n  "${r.alias}":\n    users: [${gone}, ${leaving}]\n`,
      ),
      `x ${r.alias}: ${id(gone)} is deactivated on the server, so cannot join`,
    );
    expect(run.stdout).toContain(`x ${r.alias}: ${id(leaving)} is declared deactivated in the file, so cannot join`);
    expect(await client.findUser(id(leaving))).toMatchObject({ state: "active" });
    expect(await membership(r.roomId, leaving)).toBe("none");
    const missing = `#${uniqueLocalpart("nowhere")}:${server.serverName}`;
    await expectRefused(
      file(`users:\n  ${leaving}: active\nrooms:\n  "${missing}":\n    users: [${leaving}]\n`),
      `x ${missing}: no such room on this server (the alias resolves to nothing)`,
    );
  });

  it("removals over the threshold, until --max-removals allows them", async () => {
    const [keep, a, b, c] = await users("keep", "extra-a", "extra-b", "extra-c");
    const r = await room("crowded", { preset: "private_chat" });
    for (const u of [keep, a, b, c]) await client.adminJoin(r.roomId, id(u));
    const yaml = file(
      `users:\n  ${keep}: active\nrooms:\n  "${r.alias}":\n    users: [${keep}]\n    removeUndeclared: true\n`,
    );
    await expectRefused(yaml, "x the plan removes 3 members from rooms, over the limit of 2", "--max-removals", "2");
    for (const u of [a, b, c]) expect(await membership(r.roomId, u)).toBe("join");
    const run = await cli("apply", yaml, "--max-removals", "3");
    expect(run.code).toBe(0);
    for (const u of [a, b, c]) expect(await membership(r.roomId, u)).toBe("leave");
    expect(await membership(r.roomId, keep)).toBe("join");
  });
});

describe("drift in rooms", () => {
  it("someone left, was invited, joined by hand, was promoted: each its own class", async () => {
    const [hana, ivan, jon, kim] = await users("hana", "ivan", "jon", "kim");
    const r = await room("drift", { preset: "private_chat" });
    const yaml = file(
      `users:\n  ${hana}: active\n  ${ivan}: active\nrooms:\n  "${r.alias}":\n    users: [${hana}, ${ivan}]\n    powerLevels:\n      ${hana}: 10\n    removeUndeclared: true\n`,
    );
    expect((await cli("apply", yaml)).code).toBe(0);
    expect((await cli("drift", yaml)).code).toBe(0);

    await client.kick(r.roomId, id(ivan), "by hand");
    await call("POST", `/_matrix/client/v3/rooms/${enc(r.roomId)}/invite`, { user_id: id(jon) });
    await client.adminJoin(r.roomId, id(kim));
    const pl = (await client.getStateEvent(r.roomId, "m.room.power_levels"))!;
    await client.putRoomState(r.roomId, "m.room.power_levels", {
      ...pl,
      users: { ...(pl.users as object), [id(hana)]: 90 },
    });

    const run = await cli("drift", yaml, "--format", "json");
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout) as { items: { class: string; userId: string; room?: string }[] };
    expect(report.items.map((i) => [i.class, i.userId, i.room])).toEqual([
      ["member-left", id(ivan), r.alias],
      ["member-invited", id(jon), r.alias],
      ["member-joined", id(kim), r.alias],
      ["power-level", id(hana), r.alias],
    ]);
    const text = await cli("drift", yaml);
    expect(text.stdout).toContain(
      `Declared room members who left (or never joined) [member-left] (1):\n  ${id(ivan)} in ${r.alias}: file says joined, server has leave`,
    );
  });
});

describe("export: adoption starts from the server's truth", () => {
  it("writes the rooms asked for with their members and power levels; planning the export changes no room", async () => {
    const [lea, max] = await users("lea", "max");
    const r = await room("adopt", { preset: "private_chat" });
    await client.adminJoin(r.roomId, id(lea));
    await client.adminJoin(r.roomId, id(max));
    const pl = (await client.getStateEvent(r.roomId, "m.room.power_levels"))!;
    await client.putRoomState(r.roomId, "m.room.power_levels", {
      ...pl,
      users: { ...(pl.users as object), [id(lea)]: 50 },
    });

    const dir = tempFiles({});
    const out = join(dir, "exported.yaml");
    const exported = await runCli(["export", "--room", r.alias, "--out", out], env);
    expect(exported.code).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text).toContain(`  "${r.alias}":\n    users:\n`);
    expect(text).toContain(`      - ${lea}\n      - ${max}\n`);
    expect(text).toContain(`      ${lea}: 50\n`);

    const planned = await runCli(["plan", out, "--format", "json"], env);
    const doc = JSON.parse(planned.stdout) as { rooms: { changes: unknown[]; summary: unknown } };
    expect(doc.rooms.changes).toEqual([]);
    expect(doc.rooms.summary).toEqual({ join: 0, remove: 0, power: 0 });

    const unknown = await runCli(["export", "--room", `#${uniqueLocalpart("none")}:${server.serverName}`], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no such room on this server/);
  });
});

describe("room changes handed from one run to the next", () => {
  it("plan --out → apply --plan makes exactly the planned joins and removals; one who left since is stale", async () => {
    const [alice, bob, dave, eve, frank] = await users("alice", "bob", "dave", "eve", "frank");
    const r = await room("saved", { preset: "private_chat" });
    for (const u of [alice, dave, eve]) await client.adminJoin(r.roomId, id(u));
    const yaml = file(`users:
  ${alice}: active
  ${bob}: active
rooms:
  "${r.alias}":
    users: [${alice}, ${bob}]
    removeUndeclared: true
`);
    const dir = tempFiles({ "users.yaml": yaml });
    const users_ = join(dir, "users.yaml");
    const planFile = join(dir, "plan.json");
    const planned = await runCli(["plan", users_, "--out", planFile], env);
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain("Rooms: 1 to join, 2 to remove, 0 power levels to change.");
    const saved = readFileSync(planFile, "utf8");
    expect(saved).toContain(`"roomId": "${r.roomId}"`);
    expect(saved).not.toContain(server.token);

    // Between plan and apply: eve leaves by herself, frank joins (the plan did not see him).
    const eveToken = await login(server, id(eve), "pw-rooms-1");
    await call("POST", `/_matrix/client/v3/rooms/${enc(r.roomId)}/leave`, {}, eveToken);
    await client.adminJoin(r.roomId, id(frank));

    // This run's --max-removals holds for a saved plan too: refused whole, nothing changed.
    const limited = await runCli(["apply", users_, "--plan", planFile, "--yes", "--max-removals", "1"], env);
    expect(limited.code).toBe(1);
    expect(limited.stderr).toContain("the plan removes 2 members from rooms, over the limit of 1");
    expect(await membership(r.roomId, bob)).toBe("none");
    expect(await membership(r.roomId, dave)).toBe("join");

    const applied = await runCli(["apply", users_, "--plan", planFile, "--yes"], env);
    expect(applied.code).toBe(1); // one change was stale
    expect(applied.stdout).toContain(`  ok     join ${id(bob)} in ${r.alias}`);
    expect(applied.stdout).toContain(`  ok     remove ${id(dave)} in ${r.alias}`);
    expect(applied.stdout).toContain(
      `  stale  remove ${id(eve)} in ${r.alias}: ${id(eve)} is leave in ${r.alias} now, but the plan saw join; run plan again`,
    );
    expect(applied.stdout).toMatch(/^Rooms applied: 2 done, 0 failed, 1 stale\.$/m);
    expect(await membership(r.roomId, bob)).toBe("join");
    expect(await membership(r.roomId, dave)).toBe("leave");
    expect(await membership(r.roomId, eve)).toBe("leave");
    // Not in the plan, so not removed: apply --plan makes only the changes that were reviewed.
    expect(await membership(r.roomId, frank)).toBe("join");
  });

  it("snapshot FILE --out → plan --snapshot shows the room changes, without a token; a room not in the snapshot is not compared", async () => {
    const [gina, hank, ivan] = await users("gina", "hank", "ivan");
    const r = await room("pr", { preset: "private_chat" });
    const later = await room("later", { preset: "private_chat" });
    for (const u of [gina, ivan]) await client.adminJoin(r.roomId, id(u));
    const body = `users:
  ${gina}: active
  ${hank}: active
groups:
  team: [${gina}, ${hank}]
rooms:
  "${r.alias}":
    groups: [team]
    removeUndeclared: true
`;
    const dir = tempFiles({
      "users.yaml": file(body),
      "pr.yaml": file(`${body}  "${later.alias}":\n    users: [${gina}]\n`),
    });
    const snap = join(dir, "inventory.json");
    const taken = await runCli(["snapshot", join(dir, "users.yaml"), "--out", snap], env);
    expect(taken.code).toBe(0);
    expect(taken.stderr).toContain("and 1 rooms");

    const offline = await runCli(["plan", join(dir, "pr.yaml"), "--snapshot", snap, "--format", "markdown"], {});
    expect(offline.stderr).toBe("");
    expect(offline.code).toBe(0);
    expect(offline.stdout).toContain("**Rooms: 1 to join, 1 to remove, 0 power levels to change.**");
    expect(offline.stdout).toContain(`| ➕ | \`${r.alias}\` | \`${id(hank)}\` | join (\`group team\`) |`);
    expect(offline.stdout).toContain(`\`${id(ivan)}\``);
    expect(offline.stdout).toContain(
      `Not compared (the snapshot holds no such room; take it again from this file): room \`${later.alias}\`.`,
    );
  });
});
