// Complete erasure and suspension (issue 15), with the built CLI against the real Synapse. The
// users, their rooms, messages and uploads are made through the client-server API, as people would;
// what is checked is what another member of the room, and anyone fetching the media, would see.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { SynapseClient } from "../../src/synapse/client.js";
import { type CliRun, runCli, serverEnv, tempFiles } from "../support/cli.js";
import { clientFor, login, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
const env = serverEnv(server);
let client: SynapseClient;
beforeAll(() => {
  client = clientFor(server);
});
afterAll(() => client.close());

const id = (localpart: string) => `@${localpart}:${server.serverName}`;
const PASSWORD = "erasure-test-password";

interface Person {
  userId: string;
  token: string;
}

/** A client-server API call as a person; the answer's status and JSON. */
async function cs(
  person: Person,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${person.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

async function person(prefix: string): Promise<Person> {
  const userId = id(uniqueLocalpart(prefix));
  await client.createUser(userId, { password: PASSWORD, displayname: prefix });
  return { userId, token: await login(server, userId, PASSWORD) };
}

let txn = 0;
async function say(who: Person, roomId: string, body: string): Promise<{ status: number; errcode?: unknown }> {
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t${++txn}-${Date.now()}`;
  const res = await cs(who, "PUT", path, { msgtype: "m.text", body });
  return { status: res.status, errcode: res.json.errcode };
}

/** Two rooms made by `host`, joined by `author`, who says two things in each and uploads a file. */
async function chattyUser(host: Person, prefix: string): Promise<{ author: Person; rooms: string[]; mxc: string }> {
  const author = await person(prefix);
  const rooms: string[] = [];
  for (const n of [1, 2]) {
    const room = await cs(host, "POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: `room ${n}` });
    const roomId = room.json.room_id as string;
    rooms.push(roomId);
    expect((await cs(author, "POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {})).status).toBe(200);
    expect((await say(author, roomId, `secret ${n}a`)).status).toBe(200);
    expect((await say(author, roomId, `secret ${n}b`)).status).toBe(200);
  }
  const upload = await fetch(`${server.url}/_matrix/media/v3/upload?filename=cv.txt`, {
    method: "POST",
    headers: { authorization: `Bearer ${author.token}`, "content-type": "text/plain" },
    body: "a file only its author should keep",
  });
  expect(upload.status).toBe(200);
  const mxc = ((await upload.json()) as { content_uri: string }).content_uri;
  return { author, rooms, mxc };
}

/** What `reader` sees of `author`'s messages in a room: their bodies, or "(redacted)". */
async function seenBy(reader: Person, roomId: string, author: string): Promise<string[]> {
  const res = await cs(
    reader,
    "GET",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=100`,
  );
  const chunk = res.json.chunk as {
    type: string;
    sender: string;
    content: { body?: string };
    unsigned?: { redacted_because?: unknown };
  }[];
  return chunk
    .filter((e) => e.type === "m.room.message" && e.sender === author)
    .map((e) => (e.unsigned?.redacted_because && e.content.body === undefined ? "(redacted)" : String(e.content.body)))
    .reverse();
}

/** The status of a download of an mxc:// URI by `reader`. */
async function download(reader: Person, mxc: string): Promise<number> {
  const res = await fetch(`${server.url}/_matrix/client/v1/media/download/${mxc.slice("mxc://".length)}`, {
    headers: { authorization: `Bearer ${reader.token}` },
  });
  await res.arrayBuffer();
  return res.status;
}

function usersFile(users: string, policy = ""): string {
  return `version: 1\npolicy:\n  unmanaged: ignore\n${policy}users:\n${users}`;
}

async function cli(command: "plan" | "apply" | "drift", file: string, ...flags: string[]): Promise<CliRun> {
  return runCli([command, file, ...(command === "apply" ? ["--yes"] : []), ...flags], env);
}

describe("complete erasure", () => {
  it("redacts the user's messages in every room and deletes their media before erasing them", async () => {
    const bob = await person("bob");
    const { author: alice, rooms, mxc } = await chattyUser(bob, "alice");
    expect(await seenBy(bob, rooms[0]!, alice.userId)).toEqual(["secret 1a", "secret 1b"]);
    expect(await download(bob, mxc)).toBe(200);
    const localpart = alice.userId.slice(1, alice.userId.indexOf(":"));
    const file = join(
      tempFiles({ "users.yaml": usersFile(`  ${localpart}: erased\n`, "  erasure: complete\n") }),
      "users.yaml",
    );

    const plan = await cli("plan", file);
    expect(plan.stderr).toBe("");
    expect(plan.stdout).toContain(
      `! ${alice.userId}  erase completely: redact 4 messages in 2 rooms, delete 1 media — IRREVERSIBLE`,
    );
    expect(plan.stdout).toContain("erasure complete");

    const applied = await cli("apply", file);
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toMatch(/^Apply: 1 done, 0 failed, 0 stale\.$/m);
    expect((await client.getUser(alice.userId)).state).toBe("erased");
    // What another member of both rooms reads now, and what anyone fetching the upload gets.
    for (const roomId of rooms) expect(await seenBy(bob, roomId, alice.userId)).toEqual(["(redacted)", "(redacted)"]);
    expect(await download(bob, mxc)).toBe(404);

    expect((await cli("plan", file)).stdout).toMatch(/^No changes: the server matches the file\.$/m);
    expect((await cli("drift", file)).code).toBe(0);
  });

  it("a purge left half done (erased the standard way, media deleted, messages not) is shown in plan and drift, and finished by apply", async () => {
    const bob = await person("bob");
    const { author: dave, rooms, mxc } = await chattyUser(bob, "dave");
    const localpart = dave.userId.slice(1, dave.userId.indexOf(":"));
    const dir = tempFiles({ "users.yaml": usersFile(`  ${localpart}: erased\n`) });
    const file = join(dir, "users.yaml");
    // First a standard erasure: Synapse leaves the messages readable and the upload stored.
    expect((await cli("apply", file)).code).toBe(0);
    expect(await seenBy(bob, rooms[1]!, dave.userId)).toEqual(["secret 2a", "secret 2b"]);
    // Then someone deleted the media by hand, but never redacted anything.
    expect(await client.deleteUserMedia(dave.userId)).toBe(1);

    writeFileSync(file, usersFile(`  ${localpart}:\n    state: erased\n    erasure: complete\n`));
    const plan = await cli("plan", file);
    expect(plan.stdout).toContain(
      `! ${dave.userId}  finish the complete erasure: redact 4 messages in 2 rooms, delete 0 media — IRREVERSIBLE`,
    );
    expect(plan.stdout).toMatch(/^Plan: 0 to create, 0 to update, 0 to deactivate, 1 to erase, 0 to reactivate\.$/m);
    const drift = await cli("drift", file);
    expect(drift.code).toBe(2);
    expect(drift.stdout).toContain(
      `${dave.userId}: file says erased (complete), server has erased, but 4 messages and 0 media are left`,
    );
    // Counted against the erasure limit, like any erasure.
    const limited = await cli("apply", file, "--max-erasures", "0");
    expect(limited.code).toBe(1);
    expect(limited.stdout).toContain("the plan erases 1 users, over the limit of 0");

    const finished = await cli("apply", file);
    expect(finished.stderr).toBe("");
    expect(finished.stdout).toMatch(/^Apply: 1 done, 0 failed, 0 stale\.$/m);
    for (const roomId of rooms) expect(await seenBy(bob, roomId, dave.userId)).toEqual(["(redacted)", "(redacted)"]);
    expect(await download(bob, mxc)).toBe(404);
    expect((await client.getUser(dave.userId)).state).toBe("erased");
    expect((await cli("plan", file)).stdout).toMatch(/^No changes: the server matches the file\.$/m);
    expect((await cli("drift", file)).code).toBe(0);
  });

  it("a saved plan to finish a purge is refused as stale once the purge was finished meanwhile", async () => {
    const bob = await person("bob");
    const { author: erin } = await chattyUser(bob, "erin");
    await client.deactivate(erin.userId, { erase: true });
    const localpart = erin.userId.slice(1, erin.userId.indexOf(":"));
    const dir = tempFiles({ "users.yaml": usersFile(`  ${localpart}:\n    state: erased\n    erasure: complete\n`) });
    const file = join(dir, "users.yaml");
    const planFile = join(dir, "plan.json");
    expect((await runCli(["plan", file, "--out", planFile], env)).code).toBe(0);
    expect(JSON.parse(readFileSync(planFile, "utf8")).plan.actions[0].purge).toEqual({
      rooms: 2,
      messages: 4,
      media: 1,
    });
    // Someone else finished it (here: the tool itself, from the file) before the saved plan ran.
    expect((await cli("apply", file)).stdout).toMatch(/^Apply: 1 done/m);
    const stale = await runCli(["apply", file, "--plan", planFile, "--yes"], env);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`plan is stale: ${erin.userId} was purged since the plan; run plan again`);
  });
});

describe("suspension", () => {
  it("a suspended user cannot send (403 M_USER_SUSPENDED); unsuspended, they can again; export and drift see it", async () => {
    const carol = await person("carol");
    const room = await cs(carol, "POST", "/_matrix/client/v3/createRoom", { preset: "private_chat" });
    const roomId = room.json.room_id as string;
    expect((await say(carol, roomId, "before")).status).toBe(200);
    const localpart = carol.userId.slice(1, carol.userId.indexOf(":"));
    const dir = tempFiles({ "users.yaml": usersFile(`  ${localpart}:\n    suspended: true\n`) });
    const file = join(dir, "users.yaml");

    const plan = await cli("plan", file);
    expect(plan.stdout).toContain(`~ ${carol.userId}  update`);
    expect(plan.stdout).toContain("      suspended: false → true");
    const applied = await cli("apply", file);
    expect(applied.stdout).toMatch(/^Apply: 1 done, 0 failed, 0 stale\.$/m);
    expect(await say(carol, roomId, "while suspended")).toEqual({ status: 403, errcode: "M_USER_SUSPENDED" });
    expect((await client.getUser(carol.userId)).suspended).toBe(true);
    expect((await cli("plan", file)).stdout).toMatch(/^No changes/m);

    const out = join(dir, "export.yaml");
    expect((await runCli(["export", "--out", out], env)).code).toBe(0);
    expect(readFileSync(out, "utf8")).toContain(
      `  ${localpart}:\n    displayname: carol\n    admin: false\n    suspended: true\n`,
    );

    // Unsuspended by hand: drift says so; the file, changed to say false, makes it so.
    await client.setSuspended(carol.userId, false);
    const drift = await cli("drift", file);
    expect(drift.code).toBe(2);
    expect(drift.stdout).toContain("suspended: true in the file, false on the server");
    await client.setSuspended(carol.userId, true);
    writeFileSync(file, usersFile(`  ${localpart}:\n    suspended: false\n`));
    expect((await cli("apply", file)).stdout).toMatch(/^Apply: 1 done, 0 failed, 0 stale\.$/m);
    expect((await say(carol, roomId, "after")).status).toBe(200);
  });

  it("suspending the admin token's own user is refused in the plan", async () => {
    const own = server.adminUserId.slice(1, server.adminUserId.indexOf(":"));
    const file = join(tempFiles({ "users.yaml": usersFile(`  ${own}:\n    suspended: true\n`) }), "users.yaml");
    const plan = await cli("plan", file);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(`${server.adminUserId} is the admin token's own user; refusing to suspend it`);
    expect((await client.getUser(server.adminUserId)).suspended).toBe(false);
  });
});
