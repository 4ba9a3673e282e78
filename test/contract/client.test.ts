// The Admin API client's contract. Every test runs against a real Synapse and against the fake,
// and each pins a behaviour the reconciler relies on (see shared/docs/synapse-facts.md).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActualUser } from "../../src/domain/account.js";
import { InvalidUserIdError } from "../../src/domain/userId.js";
import type { SynapseClient } from "../../src/synapse/client.js";
import { SynapseError } from "../../src/synapse/errors.js";
import { clientFor, describeEachServer, login, uniqueLocalpart } from "../support/servers.js";

async function inventory(
  client: SynapseClient,
  pageSize?: number,
): Promise<{ users: Map<string, ActualUser>; pages: number }> {
  const users = new Map<string, ActualUser>();
  let pages = 0;
  for await (const page of client.listAllUsers(pageSize === undefined ? {} : { pageSize })) {
    pages++;
    for (const u of page) users.set(u.userId, u);
  }
  return { users, pages };
}

/** Polls until `done` (Synapse deletes rooms in the background). */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("timed out waiting");
}

async function expectSynapseError(promise: Promise<unknown>): Promise<SynapseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SynapseError);
  return error as SynapseError;
}

describeEachServer("SynapseClient contract", (server) => {
  let client: SynapseClient;
  const id = (localpart: string) => `@${localpart}:${server().serverName}`;
  beforeAll(() => {
    client = clientFor(server());
  });
  afterAll(() => client.close());

  it("whoami names the token's admin user and its server", async () => {
    expect(await client.whoami()).toEqual({ userId: server().adminUserId, serverName: server().serverName });
  });

  it("serverVersion reports a Synapse version", async () => {
    expect(await client.serverVersion()).toMatch(/^1\.\d+\.\d+/);
  });

  it("creates a user and reads it back normalised, emails lower-cased and creationTs in ms", async () => {
    const before = Date.now();
    const alice = id(uniqueLocalpart("alice"));
    const result = await client.createUser(alice, {
      displayname: "Alice Liddell",
      emails: ["Alice.Liddell@Example.ORG"],
      externalIds: [{ provider: "oidc", id: `sub-${alice}` }],
    });
    expect(result).toEqual({ created: true });
    const got = await client.getUser(alice);
    expect(got).toMatchObject({
      userId: alice,
      state: "active",
      locked: false,
      admin: false,
      displayname: "Alice Liddell",
      emails: ["alice.liddell@example.org"],
      externalIds: [{ provider: "oidc", id: `sub-${alice}` }],
      isGuest: false,
      userType: null,
      appserviceId: null,
    });
    // The single-user GET sends seconds; we must hand out milliseconds (within the second it was made).
    expect(got.creationTs).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(got.creationTs).toBeLessThanOrEqual(Date.now());
    // … and the list, which sends milliseconds, must agree to the second.
    const listed = (await inventory(client)).users.get(alice);
    expect(listed).toBeDefined();
    expect(Math.abs(listed!.creationTs - got.creationTs)).toBeLessThan(1000);
    // List rows carry no emails or external IDs: unknown, not empty.
    expect(listed!.emails).toBeUndefined();
    expect(listed!.externalIds).toBeUndefined();
  });

  it("createUser on an existing user reports created: false", async () => {
    const u = id(uniqueLocalpart("twice"));
    expect(await client.createUser(u, {})).toEqual({ created: true });
    expect(await client.createUser(u, { displayname: "Again" })).toEqual({ created: false });
  });

  it("modifyUser changes displayname, admin and locked", async () => {
    const u = id(uniqueLocalpart("mod"));
    await client.createUser(u, { displayname: "Before" });
    await client.modifyUser(u, { displayname: "After", admin: true });
    expect(await client.getUser(u)).toMatchObject({ displayname: "After", admin: true, locked: false });
    await client.modifyUser(u, { admin: false, locked: true });
    expect(await client.getUser(u)).toMatchObject({ admin: false, locked: true, state: "active" });
  });

  it("lists the full inventory: locked and deactivated users included, every page followed", async () => {
    const locked = id(uniqueLocalpart("locked"));
    const gone = id(uniqueLocalpart("gone"));
    await client.createUser(locked, {});
    await client.modifyUser(locked, { locked: true });
    await client.createUser(gone, {});
    await client.deactivate(gone, { erase: false });
    const big = await inventory(client);
    expect(big.users.get(locked)).toMatchObject({ locked: true, state: "active" });
    expect(big.users.get(gone)).toMatchObject({ state: "deactivated" });
    // Tiny pages: the same users, over many pages, none lost and none repeated.
    const small = await inventory(client, 2);
    expect(small.pages).toBeGreaterThanOrEqual(Math.ceil(big.users.size / 2));
    expect([...small.users.keys()].sort()).toEqual([...big.users.keys()].sort());
  });

  it("rooms and aliases (the apply lock): a taken alias refuses a second claim, and deleting the room frees it", async () => {
    const alias = `#${uniqueLocalpart("contract-lock")}:${server().serverName}`;
    const lease = { holder: server().adminUserId, renewals: 0 };
    const room = await client.createPrivateRoom({
      name: "contract",
      initialState: [{ type: "org.synapse_gitops.lease", content: lease }],
    });
    const other = await client.createPrivateRoom({ name: "contract, other", initialState: [] });
    expect(room).toMatch(/^!.+/);
    expect(await client.getRoomAlias(alias)).toBeUndefined();
    expect(await client.putRoomAlias(alias, room)).toBe(true);
    // The atomic test-and-set: a taken alias refuses any room, its own included (Synapse: 409).
    expect(await client.putRoomAlias(alias, other)).toBe(false);
    expect(await client.putRoomAlias(alias, room)).toBe(false);
    expect(await client.getRoomAlias(alias)).toBe(room);

    // The Admin API shows the state: who created the room, and the lease as last written.
    const state = async () => (await client.getRoomState(room)) ?? [];
    expect((await state()).find((e) => e.type === "m.room.create")).toMatchObject({ sender: server().adminUserId });
    expect((await state()).find((e) => e.type === "m.room.join_rules")?.content).toEqual({ join_rule: "invite" });
    await client.putRoomState(room, "org.synapse_gitops.lease", { ...lease, renewals: 1 });
    expect((await state()).find((e) => e.type === "org.synapse_gitops.lease")).toMatchObject({
      stateKey: "",
      sender: server().adminUserId,
      content: { ...lease, renewals: 1 },
      originServerTs: expect.any(Number),
    });

    expect(await client.deleteRoomAlias(alias)).toBe(true);
    expect(await client.deleteRoomAlias(alias)).toBe(false);
    expect(await client.getRoomAlias(alias)).toBeUndefined();
    expect(await client.putRoomAlias(alias, other)).toBe(true);
    // Deleting a room deletes the aliases that point at it (in the background on Synapse), and only those.
    await client.deleteRoom(room);
    await client.deleteRoom(room); // twice is harmless
    expect(await client.getRoomAlias(alias)).toBe(other);
    await client.deleteRoom(other);
    await until(async () => (await client.getRoomAlias(alias)) === undefined);
    await until(async () => (await client.getRoomState(other)) === undefined);
  });

  it("registration tokens: read with their use counts, deleted; an absent one is undefined", async () => {
    const name = `contract-${uniqueLocalpart("t")}`;
    expect(await client.getRegistrationToken(name)).toBeUndefined();
    const res = await fetch(`${server().url}/_synapse/admin/v1/registration_tokens/new`, {
      method: "POST",
      headers: { authorization: `Bearer ${server().token}`, "content-type": "application/json" },
      body: JSON.stringify({ token: name, uses_allowed: 0 }),
    });
    expect(res.status).toBe(200);
    expect(await client.getRegistrationToken(name)).toEqual({
      token: name,
      usesAllowed: 0,
      pending: 0,
      completed: 0,
      expiryTime: null,
    });
    expect(await client.deleteRegistrationToken(name)).toBe(true);
    expect(await client.deleteRegistrationToken(name)).toBe(false);
    expect(await client.getRegistrationToken(name)).toBeUndefined();
  });

  it("an unknown user is a not-found error", async () => {
    const e = await expectSynapseError(client.getUser(id(uniqueLocalpart("nobody"))));
    expect(e).toMatchObject({ kind: "not-found", status: 404, errcode: "M_NOT_FOUND", method: "GET" });
    expect(await client.findUser(id(uniqueLocalpart("nobody")))).toBeUndefined();
  });

  it("a user of another server is rejected", async () => {
    const e = await expectSynapseError(client.getUser("@alice:elsewhere.example"));
    expect(e).toMatchObject({ kind: "rejected", status: 400 });
    expect(e.message).toMatch(/local users/);
  });

  it("a malformed user ID never reaches the server", async () => {
    for (const bad of ["alice", "@alice", "@ali ce:x.org", "@a:b/../../v1/deactivate", ""]) {
      await expect(client.getUser(bad)).rejects.toBeInstanceOf(InvalidUserIdError);
    }
  });

  it("deactivate, then erase, change the state; erasing clears the profile", async () => {
    const u = id(uniqueLocalpart("bye"));
    await client.createUser(u, { displayname: "Bye", emails: [`${u.slice(1, u.indexOf(":"))}@example.org`] });
    await client.deactivate(u, { erase: false });
    expect(await client.getUser(u)).toMatchObject({ state: "deactivated", emails: [] });
    // Erase of an already deactivated user works (seen on Synapse 1.160).
    await client.deactivate(u, { erase: true });
    expect(await client.getUser(u)).toMatchObject({ state: "erased", displayname: null });
    const v = id(uniqueLocalpart("gdpr"));
    await client.createUser(v, {});
    await client.deactivate(v, { erase: true });
    expect(await client.getUser(v)).toMatchObject({ state: "erased" });
  });

  it("records the trap: Synapse itself un-erases a user on deactivated: false (our planner must refuse it)", async () => {
    const u = id(uniqueLocalpart("unerase"));
    await client.createUser(u, {});
    await client.deactivate(u, { erase: true });
    expect((await client.getUser(u)).state).toBe("erased");
    await client.modifyUser(u, { deactivated: false });
    expect((await client.getUser(u)).state).toBe("active");
  });

  it("a bad token is an unauthorized error that does not contain the token", async () => {
    const badToken = "syt_this_is_not_a_valid_token_0123456789";
    const bad = clientFor(server(), badToken);
    const e = await expectSynapseError(bad.whoami());
    expect(e).toMatchObject({ kind: "unauthorized", status: 401, errcode: "M_UNKNOWN_TOKEN" });
    expect(`${e.message} ${e.hint} ${e.stack}`).not.toContain(badToken);
    await bad.close();
  });

  it("a non-admin token is a forbidden error that does not contain the token", async () => {
    const u = id(uniqueLocalpart("plain"));
    const password = "correct-horse-battery-staple";
    await client.createUser(u, { password });
    const token = await login(server(), u, password);
    const plain = clientFor(server(), token);
    expect((await plain.whoami()).userId).toBe(u); // the token works …
    // … but not for the Admin API. (server_version is public on Synapse, so ask for a user.)
    const e = await expectSynapseError(plain.getUser(server().adminUserId));
    expect(e).toMatchObject({ kind: "forbidden", status: 403, errcode: "M_FORBIDDEN" });
    expect(`${e.message} ${e.hint}`).not.toContain(token);
    await plain.close();
  });

  // Issue 15. Synapse 1.160: suspension is in the single-user GET only, never in the list's rows.
  it("suspends and unsuspends a user: the single-user GET shows it, the list's rows do not carry it", async () => {
    const u = id(uniqueLocalpart("suspend"));
    await client.createUser(u, {});
    expect((await client.getUser(u)).suspended).toBe(false);
    await client.setSuspended(u, true);
    expect((await client.getUser(u)).suspended).toBe(true);
    const listed = (await inventory(client)).users.get(u);
    expect(listed).toBeDefined();
    expect(listed!.suspended).toBeUndefined();
    await client.setSuspended(u, false);
    expect((await client.getUser(u)).suspended).toBe(false);
    const e = await expectSynapseError(client.setSuspended(id(uniqueLocalpart("nobody")), true));
    expect(e).toMatchObject({ kind: "not-found", status: 404 });
  });

  it("a user with no rooms and no media: no memberships, no media, nothing to delete, a redaction that completes", async () => {
    const u = id(uniqueLocalpart("clean"));
    await client.createUser(u, {});
    expect(await client.userMemberships(u)).toEqual({});
    expect(await client.countUserMedia(u)).toBe(0);
    expect(await client.deleteUserMedia(u)).toBe(0);
    const redactId = await client.redactUserEvents(u, [], 1000);
    let status: Awaited<ReturnType<SynapseClient["redactStatus"]>>;
    await until(async () => {
      status = await client.redactStatus(redactId);
      return status?.status !== "scheduled" && status?.status !== "active";
    });
    // Synapse 1.160 says `complete` (its documentation: `completed`).
    expect(status!).toEqual({ status: "complete", failed: 0 });
    expect(await client.redactStatus("no-such-redaction")).toBeUndefined();
  });

  it("memberships name the rooms a user is in; a room without their messages counts none", async () => {
    const roomId = await client.createPrivateRoom({ name: "contract memberships", initialState: [] });
    const memberships = await client.userMemberships(server().adminUserId);
    expect(memberships[roomId]).toBe("join");
    expect(await client.countUnredactedMessages(server().adminUserId, roomId)).toBe(0);
    await client.deleteRoom(roomId);
  });
});

describe("SynapseClient without a server", () => {
  it("an unreachable server is a network error naming the request", async () => {
    const { createServer } = await import("node:net");
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const client = clientFor({
      kind: "fake",
      url: `http://127.0.0.1:${port}`,
      token: "secret-token-value",
      serverName: "x",
      adminUserId: "@a:x",
    });
    const e = await expectSynapseError(client.whoami());
    expect(e.kind).toBe("network");
    expect(e.message).toBe(
      "GET /_matrix/client/v3/account/whoami: connection refused (is the homeserver running at this address?)",
    );
    await client.close();
  });
});
