// The file's rooms, read and planned beside the accounts: the members' accounts are noted as the
// inventory streams past (no extra request), then each room's state is read (one request a room,
// one more per alias) and the pure room planner (src/plan/rooms.ts) adds its changes and refusals
// to the account plan. Rooms live in Synapse whichever accounts backend runs, so they are read
// through Synapse's own APIs.
import type { DesiredState } from "../config/types.js";
import type { ActualUser } from "../domain/account.js";
import type { Plan } from "../domain/plan.js";
import type { ActualRoom, DesiredRoom, MemberAccount } from "../domain/rooms.js";
import type { DriftReport } from "../plan/drift.js";
import { DRIFT_ORDER } from "../plan/drift.js";
import { detectRoomDrift, planRooms } from "../plan/rooms.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import type { SynapseClient } from "../synapse/client.js";
import { readRoom } from "../synapse/rooms.js";
import { mapConcurrent } from "../util/concurrency.js";
import type { Comparer } from "./session.js";

/** Notes the server state of every user the rooms name, as the inventory streams past. */
export class MemberAccounts {
  readonly accounts = new Map<string, MemberAccount>();
  readonly #wanted = new Set<string>();

  constructor(rooms: readonly DesiredRoom[]) {
    for (const room of rooms) for (const userId of room.members.keys()) this.#wanted.add(userId);
  }

  /** The comparer, seeing every user it saw before, and this noting the members among them. */
  around<T>(comparer: Comparer<T>): Comparer<T> {
    if (this.#wanted.size === 0) return comparer;
    return {
      observe: (have: ActualUser) => {
        if (this.#wanted.has(have.userId)) this.accounts.set(have.userId, have.state);
        comparer.observe(have);
      },
      finish: () => comparer.finish(),
      get listed() {
        return comparer.listed;
      },
    };
  }
}

/** Each room the file names, as the server has it (undefined: not found), `concurrency` at a time. */
export async function readRooms(
  client: SynapseClient,
  keys: readonly string[],
  concurrency: number,
  onProgress?: (text: string) => void,
): Promise<Map<string, ActualRoom | undefined>> {
  const rooms = new Map<string, ActualRoom | undefined>();
  let read = 0;
  await mapConcurrent(keys, concurrency, async (key) => {
    rooms.set(key, await readRoom(client, key));
    onProgress?.(`read ${++read}/${keys.length} rooms`);
  });
  return rooms;
}

/** The account plan with the rooms' changes and refusals added. */
export function withRoomPlan(
  plan: Plan,
  desired: Pick<DesiredState, "rooms" | "users">,
  actual: ReadonlyMap<string, ActualRoom | undefined>,
  members: Pick<MemberAccounts, "accounts">,
  ownUserId: string,
): Plan {
  const activating = new Set(plan.actions.filter((a) => a.to === "active" && a.from !== "active").map((a) => a.userId));
  const { plan: roomPlan, refusals } = planRooms({
    rooms: desired.rooms,
    actual,
    accounts: members.accounts,
    desired: desired.users,
    // The clock the account plan was made with: a member whose deactivation has come due is not joined.
    now: plan.now === undefined ? Number.NaN : Date.parse(plan.now),
    activating,
    ownUserId,
    policy: plan.policy,
  });
  return { ...plan, rooms: roomPlan, refusals: [...plan.refusals, ...refusals] };
}

/** The account drift with the rooms' drift added. */
export function withRoomDrift(
  drift: DriftReport,
  rooms: readonly DesiredRoom[],
  actual: ReadonlyMap<string, ActualRoom | undefined>,
  ownUserId: string,
): DriftReport {
  const rank = new Map(DRIFT_ORDER.map((c, i) => [c, i]));
  const roomItems = detectRoomDrift(rooms, actual, ownUserId).sort((a, b) => rank.get(a.class)! - rank.get(b.class)!);
  const items = [...drift.items, ...roomItems];
  const counts = Object.fromEntries(DRIFT_ORDER.map((c) => [c, 0])) as DriftReport["counts"];
  for (const item of items) counts[item.class]++;
  return { ...drift, drifted: items.length > 0, counts, items };
}

/**
 * The offline plan with the rooms the snapshot holds planned as a live plan plans them (the members'
 * accounts as the snapshot has them). A room the file declares that the snapshot does not hold (taken
 * from an older file, or by an older version) is not compared, and listed so that the report says so.
 */
export function snapshotRoomPlan(
  plan: Plan,
  desired: Pick<DesiredState, "rooms" | "users">,
  snapshot: Pick<Snapshot, "rooms" | "users" | "meta">,
): { plan: Plan; roomsNotCompared: string[] } {
  const held = snapshot.rooms ?? new Map<string, ActualRoom | undefined>();
  const rooms = desired.rooms.filter((r) => held.has(r.key));
  const roomsNotCompared = desired.rooms.filter((r) => !held.has(r.key)).map((r) => r.key);
  if (rooms.length === 0) return { plan, roomsNotCompared };
  const accounts = new Map<string, MemberAccount>();
  for (const room of rooms) {
    for (const userId of room.members.keys()) {
      const user = snapshot.users.get(userId);
      if (user) accounts.set(userId, user.state);
    }
  }
  return {
    plan: withRoomPlan(plan, { rooms, users: desired.users }, held, { accounts }, snapshot.meta.ownUserId),
    roomsNotCompared,
  };
}
