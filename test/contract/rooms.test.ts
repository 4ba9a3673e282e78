// The client's room calls (src/synapse/client.ts, src/synapse/rooms.ts) against the real Synapse:
// what the rooms' planner and writer rely on. (The fake Synapse has no rooms: these run on the real one only.)
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { readRooms } from "../../src/core/rooms.js";
import { SynapseClient } from "../../src/synapse/client.js";
import { SynapseError } from "../../src/synapse/errors.js";
import { readRoom } from "../../src/synapse/rooms.js";
import { startFaultProxy } from "../support/fault-proxy.js";
import { type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
let client: SynapseClient;
beforeAll(() => {
  client = new SynapseClient({ baseUrl: server.url, token: server.token, retries: 10 });
});
afterAll(() => client.close());

const id = (localpart: string) => `@${localpart}:${server.serverName}`;

async function createRoom(body: Record<string, unknown>): Promise<{ alias: string; roomId: string }> {
  const local = uniqueLocalpart("contract-room");
  for (;;) {
    const res = await fetch(`${server.url}/_matrix/client/v3/createRoom`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ room_alias_name: local, ...body }),
    });
    const json = (await res.json()) as { room_id?: string; retry_after_ms?: number };
    if (res.status === 429) {
      await new Promise((r) => setTimeout(r, json.retry_after_ms ?? 1000));
      continue;
    }
    if (!res.ok || !json.room_id) throw new Error(`createRoom → ${res.status} ${JSON.stringify(json)}`);
    return { alias: `#${local}:${server.serverName}`, roomId: json.room_id };
  }
}

describe("SynapseClient rooms contract [real Synapse]", () => {
  it("readRoom resolves an alias and reads members, join rule, power levels and type in one state request", async () => {
    const u = uniqueLocalpart("member");
    await client.createUser(id(u), {});
    const space = await createRoom({ preset: "public_chat", name: "A <space>", creation_content: { type: "m.space" } });
    await client.adminJoin(space.roomId, id(u));
    const room = await readRoom(client, space.alias);
    expect(room).toMatchObject({
      key: space.alias,
      roomId: space.roomId,
      name: "A <space>",
      roomType: "m.space",
      joinRule: "public",
      creators: [],
    });
    expect(room!.members.get(server.adminUserId)).toBe("join");
    expect(room!.members.get(id(u))).toBe("join");
    expect(room!.powerLevels.users[server.adminUserId]).toBe(100);
    expect(await readRoom(client, space.roomId)).toMatchObject({ roomId: space.roomId });
  });

  it("readRoom: an unknown alias or room ID is undefined, not an error", async () => {
    expect(await readRoom(client, `#${uniqueLocalpart("none")}:${server.serverName}`)).toBeUndefined();
    expect(await readRoom(client, `!${uniqueLocalpart("none")}:${server.serverName}`)).toBeUndefined();
  });

  it("room version 12: the creators are the create event's sender and additional_creators, never in power levels", async () => {
    const c = uniqueLocalpart("creator");
    await client.createUser(id(c), {});
    const v12 = await createRoom({
      preset: "private_chat",
      room_version: "12",
      creation_content: { additional_creators: [id(c)] },
    });
    const room = (await readRoom(client, v12.alias))!;
    expect(room.version).toBe("12");
    expect(room.creators).toEqual([server.adminUserId, id(c)]);
    expect(room.powerLevels.users).toEqual({});
    // Synapse refuses to list a creator in power levels and to kick one.
    const pl = (await client.getStateEvent(v12.roomId, "m.room.power_levels"))!;
    const listed = await client
      .putRoomState(v12.roomId, "m.room.power_levels", { ...pl, users: { [id(c)]: 50 } })
      .catch((e: unknown) => e);
    expect(listed).toBeInstanceOf(SynapseError);
    await client.adminJoin(v12.roomId, id(c));
    const kicked = await client.kick(v12.roomId, id(c), "test").catch((e: unknown) => e);
    expect(kicked).toMatchObject({ status: 403, errcode: "M_FORBIDDEN" });
  });

  it("adminJoin joins a local user to an invite-only room the admin is in; kick makes it leave; getStateEvent reads both", async () => {
    const u = uniqueLocalpart("joiner");
    await client.createUser(id(u), {});
    const r = await createRoom({ preset: "private_chat" });
    expect(await client.getStateEvent(r.roomId, "m.room.member", id(u))).toBeUndefined();
    await client.adminJoin(r.roomId, id(u));
    expect(await client.getStateEvent(r.roomId, "m.room.member", id(u))).toMatchObject({ membership: "join" });
    await client.kick(r.roomId, id(u), "contract");
    expect(await client.getStateEvent(r.roomId, "m.room.member", id(u))).toMatchObject({
      membership: "leave",
      reason: "contract",
    });
  });

  it("adminJoin: an invalid user ID is refused before any request, a user of another server by Synapse", async () => {
    const r = await createRoom({ preset: "private_chat" });
    await expect(client.adminJoin(r.roomId, "not-a-user")).rejects.toThrow(/invalid Matrix user ID/);
    const remote = await client.adminJoin(r.roomId, "@x:elsewhere.invalid").catch((e: unknown) => e);
    expect(remote).toBeInstanceOf(SynapseError);
  });
  it("reading the file's rooms costs a request a room and one more per alias, whatever their members (issue 14: O(rooms))", async () => {
    // Two rooms of 1 and 25 members, then the same two with a third: the count follows the rooms only.
    const small = await createRoom({ preset: "public_chat" });
    const big = await createRoom({ preset: "public_chat" });
    const third = await createRoom({ preset: "public_chat" });
    for (let i = 0; i < 25; i++) {
      const u = id(uniqueLocalpart("crowd"));
      await client.createUser(u, {});
      await client.adminJoin(big.roomId, u);
    }
    const proxy = await startFaultProxy(server.url);
    const counted = new SynapseClient({ baseUrl: proxy.url, token: server.token, retries: 0 });
    try {
      const two = await readRooms(counted, [small.alias, big.roomId], 4);
      const forTwo = proxy.counts.requests;
      expect(two.get(big.roomId)!.members.size).toBe(26);
      await readRooms(counted, [small.alias, big.roomId, third.alias], 4);
      expect(forTwo).toBe(3); // alias + state, state
      expect(proxy.counts.requests - forTwo).toBe(5); // alias + state, state, alias + state
    } finally {
      await counted.close();
      await proxy.close();
    }
  });
});
