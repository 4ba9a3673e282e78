import type { AccountsBackend } from "../domain/accounts.js";
import type { Membership, RoomChange, RoomChangeResult } from "../domain/rooms.js";
import type { SynapseClient } from "../synapse/client.js";
import { SynapseError } from "../synapse/errors.js";
import { mapConcurrent } from "../util/concurrency.js";

// The only code that writes room memberships and power levels. As for accounts: each change is
// checked against the live room right before it runs (a change whose precondition no longer holds
// is skipped as stale, never forced), read back after, and one change's failure does not stop the
// others. Joins go through Synapse's admin join API; removals are kicks by the admin user (there is
// no Admin API to make a user leave); a room's power-level changes are one `m.room.power_levels`
// event, read, modified and written back whole. It runs under the apply lock (see applyPlan).

export interface RoomApplyOptions {
  /** Rooms changed in parallel; a room's own changes run one after another. */
  concurrency: number;
  /** Once false, no further change starts (the lock was lost, or the operator interrupted). */
  shouldContinue: () => boolean;
  onResult?: (result: RoomChangeResult) => void;
}

/** A change whose room or member is no longer as the plan saw it. */
class StaleError extends Error {}

export async function applyRoomChanges(
  client: SynapseClient,
  accounts: AccountsBackend,
  changes: readonly RoomChange[],
  options: RoomApplyOptions,
): Promise<RoomChangeResult[]> {
  const results: RoomChangeResult[] = changes.map((change) => ({ change, outcome: "not-started" }));
  const byRoom = new Map<string, RoomChangeResult[]>();
  for (const r of results) {
    const list = byRoom.get(r.change.roomId) ?? [];
    list.push(r);
    byRoom.set(r.change.roomId, list);
  }
  const settle = (r: RoomChangeResult, run: () => Promise<void>) =>
    run().then(
      () => {
        r.outcome = "done";
      },
      (e: unknown) => {
        r.outcome = e instanceof StaleError ? "stale" : "failed";
        r.message = e instanceof Error ? e.message : String(e);
      },
    );
  await mapConcurrent(
    [...byRoom.values()],
    options.concurrency,
    async (room) => {
      for (const r of room.filter((r) => r.change.kind !== "power")) {
        if (!options.shouldContinue()) return;
        await settle(r, () => (r.change.kind === "join" ? join(client, accounts, r.change) : remove(client, r.change)));
        options.onResult?.(r);
      }
      const power = room.filter((r) => r.change.kind === "power");
      if (power.length === 0 || !options.shouldContinue()) return;
      await setPowerLevels(client, power);
      for (const r of power) options.onResult?.(r);
    },
    options.shouldContinue,
  );
  return results;
}

async function membershipOf(client: SynapseClient, roomId: string, userId: string): Promise<Membership> {
  const content = await client.getStateEvent(roomId, "m.room.member", userId);
  const m = content?.membership;
  return typeof m === "string" ? (m as Membership) : "none";
}

/** Failures after which the request may or may not have been carried out. */
function outcomeUnknown(e: unknown): boolean {
  return (
    e instanceof SynapseError &&
    (e.kind === "network" || e.kind === "invalid-response" || (e.status !== undefined && e.status >= 500))
  );
}

/**
 * A membership step: re-checked first, then sent; when its outcome is unknown, the membership is
 * read again — done if it is the planned one, repeated (twice at most) if it is still the one
 * before, stale otherwise. Then read back.
 */
async function membershipStep(client: SynapseClient, change: RoomChange, send: () => Promise<void>): Promise<void> {
  const { roomId, userId, room } = change;
  const now = await membershipOf(client, roomId, userId);
  if (now !== change.from) {
    throw new StaleError(`${userId} is ${now} in ${room} now, but the plan saw ${change.from}; run plan again`);
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await send();
      break;
    } catch (e) {
      if (!outcomeUnknown(e) || attempt >= 2) throw e;
      const after = await membershipOf(client, roomId, userId);
      if (after === change.to) break;
      if (after !== change.from) throw new StaleError(`${userId} became ${after} in ${room} while we applied`);
    }
  }
  const after = await membershipOf(client, roomId, userId);
  if (after !== change.to)
    throw new Error(`${userId} is ${after} in ${room} after ${change.kind}; expected ${change.to}`);
}

async function join(client: SynapseClient, accounts: AccountsBackend, change: RoomChange): Promise<void> {
  // Only an active account is joined: one deactivated since the plan stays out.
  const user = await accounts.findUser(change.userId);
  if (user?.state !== "active") {
    throw new StaleError(`${change.userId} is ${user?.state ?? "absent"} now; only an active account is joined`);
  }
  await membershipStep(client, change, () => client.adminJoin(change.roomId, change.userId));
}

async function remove(client: SynapseClient, change: RoomChange): Promise<void> {
  await membershipStep(client, change, () =>
    client.kick(change.roomId, change.userId, "not in the users file (synapse-gitops)"),
  );
}

function levelOf(content: Record<string, unknown> | undefined, userId: string): number {
  const users = (content?.users ?? {}) as Record<string, unknown>;
  const value = Object.hasOwn(users, userId) ? users[userId] : (content?.users_default ?? 0);
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" ? n : 0;
}

/**
 * One room's power-level changes as one state event: the current content is read, each change
 * whose user is still at the planned level is made in it (the others are stale), it is written
 * back whole, and every level read back. Writing the same content twice changes nothing, so an
 * unknown outcome is settled by reading it again.
 */
async function setPowerLevels(client: SynapseClient, results: RoomChangeResult[]): Promise<void> {
  const { roomId, room } = results[0]!.change;
  const fail = (e: unknown, which: RoomChangeResult[]) => {
    for (const r of which) {
      r.outcome = e instanceof StaleError ? "stale" : "failed";
      r.message = e instanceof Error ? e.message : String(e);
    }
  };
  let content: Record<string, unknown> | undefined;
  try {
    content = await client.getStateEvent(roomId, "m.room.power_levels");
    if (!content) throw new StaleError(`${room} has no power levels event now; run plan again`);
  } catch (e) {
    return fail(e, results);
  }
  const fresh: RoomChangeResult[] = [];
  for (const r of results) {
    const now = levelOf(content, r.change.userId);
    if (now === r.change.from) fresh.push(r);
    else
      fail(
        new StaleError(
          `${r.change.userId}'s power level in ${room} is ${now} now, but the plan saw ${r.change.from}; run plan again`,
        ),
        [r],
      );
  }
  if (fresh.length === 0) return;
  const users: Record<string, unknown> = { ...((content.users ?? {}) as Record<string, unknown>) };
  for (const r of fresh) users[r.change.userId] = r.change.to;
  const next = { ...content, users };
  const matches = (read: Record<string, unknown> | undefined) =>
    fresh.every((r) => levelOf(read, r.change.userId) === r.change.to);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.putRoomState(roomId, "m.room.power_levels", next);
        break;
      } catch (e) {
        if (!outcomeUnknown(e) || attempt >= 2) throw e;
        if (matches(await client.getStateEvent(roomId, "m.room.power_levels"))) break;
      }
    }
    const after = await client.getStateEvent(roomId, "m.room.power_levels");
    for (const r of fresh) {
      const level = levelOf(after, r.change.userId);
      if (level === r.change.to) r.outcome = "done";
      else
        fail(
          new Error(
            `${r.change.userId}'s power level in ${room} is ${level} after the change; expected ${r.change.to}`,
          ),
          [r],
        );
    }
  } catch (e) {
    fail(e, fresh);
  }
}
