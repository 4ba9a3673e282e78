// Issues 14 and 15 under MAS: complete erasure, suspension, scheduled deactivation, rooms and
// `drift --format patch --write`, with the built CLI against a real Synapse in MAS mode paired with
// the stand-in MAS (one pair for the file). The users are made through the users file, so they live
// in MAS; people act with tokens minted as MAS personal sessions, as a MAS-issued client would; what
// is checked is what Synapse serves to others and what MAS's admin API says.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccountState } from "../../src/domain/account.js";
import { SynapseClient } from "../../src/synapse/client.js";
import { type CliRun, runCli, tempFiles } from "../support/cli.js";
import { type Json, MasAdminApi, useMasSynapse } from "../support/mas.js";
import { uniqueLocalpart } from "../support/servers.js";

const pair = useMasSynapse();

let synapse: SynapseClient;
let mas: MasAdminApi;
beforeAll(() => {
  // Retrying: joins and kicks are events, which Synapse rate-limits (admins too).
  synapse = new SynapseClient({ baseUrl: pair().synapse.url, token: pair().synapse.token, retries: 10 });
  mas = new MasAdminApi(pair().mas);
});
afterAll(() => synapse.close());

const id = (localpart: string) => `@${localpart}:${pair().synapse.serverName}`;
const enc = encodeURIComponent;
let txn = 0;

function env(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const p = pair();
  return {
    SYNAPSE_URL: p.synapse.url,
    SYNAPSE_ADMIN_TOKEN: p.synapse.token,
    MAS_URL: p.mas.url,
    MAS_CLIENT_ID: p.mas.clientId,
    MAS_CLIENT_SECRET: p.mas.clientSecret,
    ...overrides,
  };
}

function usersFile(body: string, policy = ""): string {
  return `version: 1\npolicy:\n  unmanaged: ignore\n${policy}${body}`;
}

/** Writes `yaml` to a users file of its own and returns its path. */
function fileOf(yaml: string): string {
  return join(tempFiles({ "users.yaml": yaml }), "users.yaml");
}

function cli(command: string, file: string, flags: string[] = [], e = env()): Promise<CliRun> {
  return runCli([command, file, ...(command === "apply" ? ["--yes"] : []), ...flags], e);
}

/** Applies a file that creates `localparts` (through MAS, since the backend is MAS). */
async function created(...localparts: string[]): Promise<void> {
  const run = await cli("apply", fileOf(usersFile(`users:\n${localparts.map((l) => `  ${l}: {}\n`).join("")}`)));
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  for (const l of localparts) expect(await masUser(l), l).toBeDefined();
}

async function masUser(localpart: string): Promise<Json | undefined> {
  const res = await mas.request("GET", `/users/by-username/${localpart}`);
  return res.status === 200 ? res.body.data : undefined;
}

async function stateOf(localpart: string): Promise<AccountState | "absent"> {
  return (await synapse.findUser(id(localpart)))?.state ?? "absent";
}

/**
 * A client-server API token of the user's own, as MAS gives a client that logged in: a device made in
 * Synapse through `/_synapse/mas/upsert_device` (as MAS does; Synapse refuses to send events for a
 * token without a device, with a 500), and a personal session whose scope names that device.
 */
async function tokenOf(localpart: string): Promise<string> {
  const user = await masUser(localpart);
  const deviceId = `MD${++txn}`;
  const res = await fetch(`${pair().synapse.url}/_synapse/mas/upsert_device`, {
    method: "POST",
    headers: { authorization: `Bearer ${pair().mas.secret}`, "content-type": "application/json" },
    body: JSON.stringify({ localpart, device_id: deviceId }),
  });
  expect(res.status).toBeLessThan(300);
  const session = await mas.ok(
    "POST",
    "/personal-sessions",
    {
      actor_user_id: user.id,
      human_name: "mas-day2 test",
      scope: `urn:matrix:client:api:* urn:matrix:client:device:${deviceId}`,
    },
    201,
  );
  return session.data.attributes.access_token;
}

/** A client-server API call with `token`; the answer's status and JSON. Waits out 429s as asked. */
async function cs(
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, Json> }> {
  for (;;) {
    const res = await fetch(`${pair().synapse.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : {};
    if (res.status === 429) {
      await new Promise((r) => setTimeout(r, json.retry_after_ms ?? 1000));
      continue;
    }
    return { status: res.status, json };
  }
}

async function say(token: string, roomId: string, body: string): Promise<{ status: number; errcode?: unknown }> {
  const path = `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t${++txn}-${Date.now()}`;
  const res = await cs(token, "PUT", path, { msgtype: "m.text", body });
  return { status: res.status, errcode: res.json.errcode };
}

async function newRoom(token: string, options: Record<string, unknown> = {}): Promise<string> {
  const res = await cs(token, "POST", "/_matrix/client/v3/createRoom", options);
  expect(res.status).toBe(200);
  return res.json.room_id;
}

async function membership(roomId: string, localpart: string): Promise<string> {
  const state = await synapse.getRoomState(roomId);
  const event = state?.find((e) => e.type === "m.room.member" && e.stateKey === id(localpart));
  return typeof event?.content.membership === "string" ? event.content.membership : "none";
}

describe("complete erasure under MAS", () => {
  it("redacts the messages and deletes the media of a MAS user, then erases it through MAS", async () => {
    const [alice, bob] = [uniqueLocalpart("md-alice"), uniqueLocalpart("md-bob")];
    await created(alice, bob);
    const [aliceToken, bobToken] = [await tokenOf(alice), await tokenOf(bob)];
    const rooms: string[] = [];
    for (const n of [1, 2]) {
      const roomId = await newRoom(bobToken, { preset: "public_chat", name: `room ${n}` });
      rooms.push(roomId);
      expect((await cs(aliceToken, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, {})).status).toBe(200);
      expect((await say(aliceToken, roomId, `secret ${n}a`)).status).toBe(200);
      expect((await say(aliceToken, roomId, `secret ${n}b`)).status).toBe(200);
    }
    const upload = await fetch(`${pair().synapse.url}/_matrix/media/v3/upload?filename=cv.txt`, {
      method: "POST",
      headers: { authorization: `Bearer ${aliceToken}`, "content-type": "text/plain" },
      body: "a file only its author should keep",
    });
    expect(upload.status).toBe(200);
    const mxc = ((await upload.json()) as { content_uri: string }).content_uri;
    const download = async () => {
      const res = await fetch(`${pair().synapse.url}/_matrix/client/v1/media/download/${mxc.slice(6)}`, {
        headers: { authorization: `Bearer ${bobToken}` },
      });
      await res.arrayBuffer();
      return res.status;
    };
    /** What bob reads of alice's messages in a room: their bodies, or "(redacted)". */
    const seen = async (roomId: string) => {
      const res = await cs(bobToken, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=100`);
      return (res.json.chunk as Json[])
        .filter((e) => e.type === "m.room.message" && e.sender === id(alice))
        .map((e) => (e.unsigned?.redacted_because && e.content.body === undefined ? "(redacted)" : e.content.body))
        .reverse();
    };
    expect(await seen(rooms[0]!)).toEqual(["secret 1a", "secret 1b"]);
    expect(await download()).toBe(200);

    const file = fileOf(usersFile(`users:\n  ${alice}:\n    state: erased\n    erasure: complete\n`));
    const plan = await cli("plan", file);
    expect(plan.stderr).toBe("");
    expect(plan.stdout).toContain("Accounts backend: mas");
    expect(plan.stdout).toContain(
      `! ${id(alice)}  erase completely: redact 4 messages in 2 rooms, delete 1 media — IRREVERSIBLE`,
    );

    await pair().control.resetRequests();
    const applied = await cli("apply", file);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^Apply: 1 done, 0 failed, 0 stale\.$/m);
    // The erase went through MAS (whose job then erased the user in Synapse), not Synapse's own API.
    expect((await pair().control.requests())["POST /api/admin/v1/users/{id}/deactivate"]).toBe(1);
    for (const roomId of rooms) expect(await seen(roomId)).toEqual(["(redacted)", "(redacted)"]);
    expect(await download()).toBe(404);
    expect((await masUser(alice)).attributes.deactivated_at).not.toBeNull();
    expect(await stateOf(alice)).toBe("erased");
    // MAS revoked her sessions when it deactivated her: her token no longer works.
    expect((await say(aliceToken, rooms[0]!, "still here?")).status).toBe(401);

    expect((await cli("plan", file)).stdout).toMatch(/^No changes: the server matches the file\.$/m);
    const drift = await cli("drift", file);
    expect(drift.stdout).toMatch(/^No drift: .* matches the file\.$/m);
    expect(drift.code).toBe(0);
  }, 120_000);
});

describe("suspension under MAS", () => {
  it("a suspended MAS user cannot send (403 M_USER_SUSPENDED); unsuspended, they can again", async () => {
    const carol = uniqueLocalpart("md-carol");
    await created(carol);
    const token = await tokenOf(carol);
    const roomId = await newRoom(token, { preset: "private_chat" });
    expect((await say(token, roomId, "before")).status).toBe(200);

    const suspend = fileOf(usersFile(`users:\n  ${carol}:\n    suspended: true\n`));
    const plan = await cli("plan", suspend);
    expect(plan.stderr).toBe("");
    expect(plan.stdout).toContain("Accounts backend: mas");
    expect(plan.stdout).toContain("      suspended: false → true");
    const applied = await cli("apply", suspend);
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toMatch(/^Apply: 1 done, 0 failed, 0 stale\.$/m);
    expect(await say(token, roomId, "while suspended")).toEqual({ status: 403, errcode: "M_USER_SUSPENDED" });
    expect((await synapse.getUser(id(carol))).suspended).toBe(true);
    // Suspension is Synapse's alone: MAS keeps her active and unlocked, and her session valid.
    const inMas = await masUser(carol);
    expect(inMas.attributes.deactivated_at).toBeNull();
    expect(inMas.attributes.locked_at).toBeNull();
    expect((await cli("plan", suspend)).stdout).toMatch(/^No changes/m);
    expect((await cli("drift", suspend)).code).toBe(0);
    // Export reads the flag from Synapse although MAS lists the rest of the user in bulk.
    const out = join(tempFiles({}), "export.yaml");
    expect((await runCli(["export", "--out", out], env())).code).toBe(0);
    expect(readFileSync(out, "utf8")).toMatch(new RegExp(`\\n  ${carol}:\\n(    .*\\n)*    suspended: true\\n`));

    const lift = fileOf(usersFile(`users:\n  ${carol}:\n    suspended: false\n`));
    expect((await cli("apply", lift)).stdout).toMatch(/^Apply: 1 done, 0 failed, 0 stale\.$/m);
    expect((await say(token, roomId, "after")).status).toBe(200);
    expect((await synapse.getUser(id(carol))).suspended).toBe(false);
  }, 120_000);
});

describe("scheduled deactivation under MAS", () => {
  it("does nothing before the date; after it, apply deactivates through MAS", async () => {
    const dan = uniqueLocalpart("md-dan");
    await created(dan);
    const file = fileOf(usersFile(`users:\n  ${dan}:\n    deactivateOn: 2031-03-10\n`));
    const at = (now: string) => env({ SYNAPSE_GITOPS_NOW: now });

    const before = await cli("apply", file, ["--clock-from-env"], at("2031-03-09T23:59:59Z"));
    expect(before.code).toBe(0);
    expect(before.stdout).toContain("No changes: the server matches the file.");
    expect(await stateOf(dan)).toBe("active");
    expect((await masUser(dan)).attributes.deactivated_at).toBeNull();

    await pair().control.resetRequests();
    const after = await cli("apply", file, ["--clock-from-env"], at("2031-03-10T00:00:00Z"));
    expect(after.stderr).toContain("SYNAPSE_GITOPS_NOW");
    expect(after.code).toBe(0);
    expect(after.stdout).toContain(`- ${id(dan)}  deactivate (scheduled for 2031-03-10, due)`);
    expect(after.stdout).toMatch(/^Apply: 1 done, 0 failed, 0 stale\.$/m);
    expect((await pair().control.requests())["POST /api/admin/v1/users/{id}/deactivate"]).toBe(1);
    expect((await masUser(dan)).attributes.deactivated_at).not.toBeNull();
    expect(await stateOf(dan)).toBe("deactivated");
    expect((await cli("plan", file, ["--detailed-exitcode"], at("2031-03-11T00:00:00Z"))).code).toBe(0);
    expect((await cli("drift", file, [], at("2031-03-11T00:00:00Z"))).code).toBe(0);
  }, 120_000);
});

describe("rooms under MAS", () => {
  it("a group's room is joined by MAS-created users; moving one to another group removes them", async () => {
    const [erin, finn] = [uniqueLocalpart("md-erin"), uniqueLocalpart("md-finn")];
    const aliasOf = async (prefix: string) => {
      const local = uniqueLocalpart(prefix);
      const roomId = await newRoom(pair().synapse.token, { preset: "private_chat", room_alias_name: local });
      return { alias: `#${local}:${pair().synapse.serverName}`, roomId };
    };
    const ops = await aliasOf("md-ops");
    const sales = await aliasOf("md-sales");
    const yaml = (finnTeam: string) =>
      usersFile(`users:
  ${erin}:
    groups: [ops]
  ${finn}:
    groups: [${finnTeam}]
groups:
  ops: []
  sales: []
rooms:
  "${ops.alias}":
    groups: [ops]
    removeUndeclared: true
  "${sales.alias}":
    groups: [sales]
`);
    const applied = await cli("apply", fileOf(yaml("ops")));
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^Apply: 2 done, 0 failed, 0 stale\.$/m);
    expect(applied.stdout).toMatch(/^Rooms applied: 2 done, 0 failed, 0 stale\.$/m);
    for (const u of [erin, finn]) {
      expect(await masUser(u), u).toBeDefined();
      expect(await membership(ops.roomId, u)).toBe("join");
    }

    const moved = await cli("apply", fileOf(yaml("sales")));
    expect(moved.stderr).toBe("");
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain(`    - ${id(finn)}  remove (not in the file (removeUndeclared); joined now)`);
    expect(await membership(ops.roomId, finn)).toBe("leave");
    expect(await membership(sales.roomId, finn)).toBe("join");
    expect(await membership(ops.roomId, erin)).toBe("join");
    // Joined by the admin API, the MAS user can speak in the room with its own MAS-issued token.
    expect((await say(await tokenOf(finn), sales.roomId, "hello sales")).status).toBe(200);
  }, 120_000);
});

describe("drift --format patch under MAS", () => {
  it("a user deactivated by hand through MAS's admin API: the written patch leaves no drift", async () => {
    const gus = uniqueLocalpart("md-gus");
    await created(gus);
    const original = usersFile(`users:\n  ${gus}: active # joined in March\n`, "  # other tests share this server\n");
    const file = fileOf(original);
    expect((await cli("drift", file)).code).toBe(0);

    // By hand, as in MAS's admin UI: deactivated in MAS, which deactivates in Synapse by its job.
    await mas.ok("POST", `/users/${(await masUser(gus)).id}/deactivate`, { skip_erase: true });
    await pair().control.drain();
    expect(await stateOf(gus)).toBe("deactivated");
    const drift = await cli("drift", file, ["--format", "json"]);
    expect(drift.code).toBe(2);
    expect(JSON.parse(drift.stdout).items.map((i: Json) => [i.class, i.userId])).toEqual([
      ["deactivated-out-of-band", id(gus)],
    ]);

    const written = await cli("drift", file, ["--format", "patch", "--write"]);
    expect(written.stderr).toContain(`wrote the patch to ${file}`);
    expect(written.code).toBe(0);
    expect(readFileSync(file, "utf8")).toContain(`  ${gus}: deactivated # joined in March\n`);

    const again = await cli("drift", file);
    expect(again.stdout).toMatch(/^No drift: .* matches the file\.$/m);
    expect(again.code).toBe(0);
    expect((await cli("plan", file, ["--detailed-exitcode"])).code).toBe(0);
  }, 120_000);
});
