// The rooms' writer (src/apply/rooms.ts) against an in-memory room: re-checked before, read back
// after, stale rather than forced, one failure never stopping the others, and no new change once
// told to stop. (The real Synapse is in test/e2e/rooms.test.ts.)
import { describe, expect, it } from "vitest";
import { applyRoomChanges } from "../../src/apply/rooms.js";
import type { ActualUser } from "../../src/domain/account.js";
import type { AccountsBackend } from "../../src/domain/accounts.js";
import type { Membership, RoomChange } from "../../src/domain/rooms.js";
import type { SynapseClient } from "../../src/synapse/client.js";
import { SynapseError } from "../../src/synapse/errors.js";

const S = "example.org";
const id = (l: string) => `@${l}:${S}`;

/** One room's state, and the calls made to it. */
function fakeRoom(members: Record<string, Membership>, levels: Record<string, number> = {}) {
  const state = { members: new Map(Object.entries(members)), levels: { ...levels } };
  const calls: string[] = [];
  const failures = new Map<string, SynapseError>();
  const client = {
    async getStateEvent(_room: string, type: string, key = "") {
      if (type === "m.room.member") {
        const m = state.members.get(key);
        return m ? { membership: m } : undefined;
      }
      return { users: { ...state.levels }, users_default: 0 };
    },
    async adminJoin(_room: string, userId: string) {
      calls.push(`join ${userId}`);
      const failure = failures.get(userId);
      if (failure) throw failure;
      state.members.set(userId, "join");
    },
    async kick(_room: string, userId: string) {
      calls.push(`kick ${userId}`);
      state.members.set(userId, "leave");
    },
    async putRoomState(_room: string, _type: string, content: { users: Record<string, number> }) {
      calls.push(`power ${JSON.stringify(content.users)}`);
      state.levels = { ...content.users };
      return "$e";
    },
  } as unknown as SynapseClient;
  return { client, state, calls, failures };
}

const active = (userId: string) => ({ userId, state: "active" }) as ActualUser;
const accounts = (inactive: string[] = []) =>
  ({
    findUser: async (userId: string) =>
      inactive.includes(userId) ? { ...active(userId), state: "deactivated" } : active(userId),
  }) as unknown as AccountsBackend;

const change = (kind: RoomChange["kind"], l: string, from: RoomChange["from"], to: RoomChange["to"]): RoomChange => ({
  kind,
  room: "#eng:example.org",
  roomId: "!eng:example.org",
  userId: id(l),
  from,
  to,
  reason: "group engineering",
});

const go = () => true;

describe("applyRoomChanges", () => {
  it("joins, removes and sets power levels in one event; each read back", async () => {
    const room = fakeRoom({ [id("bob")]: "join", [id("carol")]: "join" }, { [id("carol")]: 0 });
    const results = await applyRoomChanges(
      room.client,
      accounts(),
      [
        change("join", "alice", "none", "join"),
        change("remove", "bob", "join", "leave"),
        change("power", "carol", 0, 50),
        change("power", "alice", 0, 20),
      ],
      { concurrency: 2, shouldContinue: go },
    );
    expect(results.map((r) => r.outcome)).toEqual(["done", "done", "done", "done"]);
    expect(room.calls).toEqual([
      `join ${id("alice")}`,
      `kick ${id("bob")}`,
      `power ${JSON.stringify({ [id("carol")]: 50, [id("alice")]: 20 })}`,
    ]);
  });

  it("skips as stale what moved since the plan, and joins no account deactivated since", async () => {
    const room = fakeRoom({ [id("alice")]: "join", [id("carol")]: "join" }, { [id("carol")]: 90 });
    const results = await applyRoomChanges(
      room.client,
      accounts([id("dave")]),
      [
        change("join", "alice", "none", "join"), // joined by hand meanwhile
        change("remove", "bob", "join", "leave"), // left meanwhile
        change("join", "dave", "none", "join"), // deactivated meanwhile
        change("power", "carol", 0, 50), // promoted by hand meanwhile
      ],
      { concurrency: 1, shouldContinue: go },
    );
    expect(results.map((r) => [r.outcome, r.message])).toEqual([
      ["stale", `${id("alice")} is join in #eng:example.org now, but the plan saw none; run plan again`],
      ["stale", `${id("bob")} is none in #eng:example.org now, but the plan saw join; run plan again`],
      ["stale", `${id("dave")} is deactivated now; only an active account is joined`],
      ["stale", `${id("carol")}'s power level in #eng:example.org is 90 now, but the plan saw 0; run plan again`],
    ]);
    expect(room.calls).toEqual([]);
  });

  it("one failure does not stop the others; an unknown outcome is settled by reading again", async () => {
    const room = fakeRoom({});
    room.failures.set(id("alice"), new SynapseError("rejected", "POST", "/join", "nope", 403, "M_FORBIDDEN"));
    const lost = new SynapseError("network", "POST", "/join", "socket hang up");
    room.failures.set(id("bob"), lost);
    // The join happened, but its answer was lost.
    const join = room.client.adminJoin.bind(room.client);
    room.client.adminJoin = async (r: string, u: string) => {
      if (u === id("bob")) room.state.members.set(u, "join");
      return join(r, u);
    };
    const results = await applyRoomChanges(
      room.client,
      accounts(),
      [
        change("join", "alice", "none", "join"),
        change("join", "bob", "none", "join"),
        change("join", "carol", "none", "join"),
      ],
      { concurrency: 1, shouldContinue: go },
    );
    expect(results.map((r) => r.outcome)).toEqual(["failed", "done", "done"]);
    expect(room.calls.filter((c) => c.includes("bob"))).toHaveLength(1);
  });

  it("starts no change once told to stop (interrupt, or the lock lost)", async () => {
    const room = fakeRoom({});
    const results = await applyRoomChanges(
      room.client,
      accounts(),
      [change("join", "alice", "none", "join"), change("join", "bob", "none", "join"), change("power", "alice", 0, 50)],
      // Told to stop once the first change has been sent.
      { concurrency: 1, shouldContinue: () => room.calls.length === 0 },
    );
    expect(results.map((r) => r.outcome)).toEqual(["done", "not-started", "not-started"]);
  });
});
