import type { DesiredUser } from "../domain/desired.js";
import type { Refusal } from "../domain/plan.js";
import { DEFAULT_MAX_REMOVALS, type Policy } from "../domain/policy.js";
import type {
  ActualRoom,
  DesiredRoom,
  MemberAccount,
  Membership,
  RoomChange,
  RoomPlan,
  RoomPlanResult,
  RoomSummary,
} from "../domain/rooms.js";
import { dueUser } from "../domain/schedule.js";
import type { DriftItem } from "./drift.js";
import { globMatcher } from "./plan.js";

/**
 * Pure: the file's rooms and the server's → the joins, removals and power-level changes apply
 * would make, and what the plan refuses. Everything apply would fail at is refused here instead
 * (Matrix's authorisation rules, as the admin user meets them):
 * - the admin user must be joined to a room to change anything in it (it invites, kicks and sends
 *   the power levels as itself; Synapse's admin join API also needs it in a room that is not public);
 * - joining a user to a room that is not public takes the `invite` level; a removal the `kick` level
 *   and more power than the member has; a power-level change the level to send
 *   `m.room.power_levels`, more power than the member's current level and at least the new one;
 * - in room version 12 the creators (the create event's sender and `additional_creators`) have
 *   unlimited power: they cannot be listed in power levels, demoted or kicked;
 * - only an active account can be joined: one deactivated, erased or absent on the server (unless
 *   this plan creates or reactivates it), or declared deactivated or erased in the file, is refused.
 * And what the file (a pull request) must not do, as for accounts: lower the admin user's own power
 * level (it would lose the power to manage the room), or remove or lower a protected user's.
 * Demotions count against maxRemovals with the removals.
 */
export interface RoomPlanInput {
  rooms: readonly DesiredRoom[];
  /** Each room of the file as the server has it, by key; undefined when it does not exist. */
  actual: ReadonlyMap<string, ActualRoom | undefined>;
  /** The server's accounts of the rooms' members (absent: no account). */
  accounts: ReadonlyMap<string, MemberAccount>;
  /** The file's users, for their declared state (at `now`: a deactivateOn or eraseOn that has passed counts). */
  desired: ReadonlyMap<string, DesiredUser>;
  /** The plan's clock (ms since the epoch), which the file's scheduled dates are judged by. */
  now: number;
  /** Users this plan's account actions make active (creates, reactivations). */
  activating: ReadonlySet<string>;
  ownUserId: string;
  policy: Pick<Policy, "maxRemovals" | "protected">;
}

const MEMBERS: ReadonlySet<Membership> = new Set(["join", "invite"]);

/** A member's power level in a room: unlimited for a version 12 creator. */
export function powerOf(room: ActualRoom, userId: string): number {
  if (room.creators.includes(userId)) return Number.POSITIVE_INFINITY;
  return room.powerLevels.users[userId] ?? room.powerLevels.usersDefault;
}

export function planRooms(input: RoomPlanInput): RoomPlanResult {
  const changes: RoomChange[] = [];
  const refusals: Refusal[] = [];
  const rooms: RoomPlan["rooms"] = [];
  const isProtected = globMatcher(input.policy.protected);
  for (const want of input.rooms) {
    const have = input.actual.get(want.key);
    if (!have) {
      rooms.push({ key: want.key });
      refusals.push({
        code: "room-not-found",
        message: `${want.key}: no such room on this server (${want.key.startsWith("#") ? "the alias resolves to nothing" : "unknown room ID"})`,
        hint: "create the room (and its alias) first, or remove it from the file",
      });
      continue;
    }
    rooms.push({
      key: want.key,
      roomId: have.roomId,
      ...(have.name === undefined ? {} : { name: have.name }),
      ...(have.roomType === undefined ? {} : { type: have.roomType }),
    });
    planRoom(input, isProtected, want, have, changes, refusals);
  }
  const removals = changes.filter((c) => c.kind === "remove").length;
  const demotions = changes.filter(isDemotion).length;
  const max = input.policy.maxRemovals ?? DEFAULT_MAX_REMOVALS;
  if (removals + demotions > max) refusals.push(removalLimitRefusal(removals, max, demotions));
  const summary: RoomSummary = { join: 0, remove: 0, power: 0 };
  for (const c of changes) summary[c.kind]++;
  return { plan: { changes, rooms, summary }, refusals };
}

/** A power-level change that lowers the member's level: counted with the removals. */
export function isDemotion(change: RoomChange): boolean {
  return change.kind === "power" && (change.to as number) < (change.from as number);
}

/**
 * The plan-wide threshold on removals and demotions, as for deactivations. A saved plan's removals
 * and demotions are checked again against this run's limit (src/core/savedPlan.ts).
 */
export function removalLimitRefusal(removals: number, max: number, demotions = 0): Refusal {
  const what = [
    ...(removals > 0 || demotions === 0 ? [`removes ${removals} members from rooms`] : []),
    ...(demotions > 0 ? [`lowers ${demotions} members' power levels in rooms`] : []),
  ].join(" and ");
  const counts = demotions > 0 ? " (maxRemovals counts removals and demotions)" : "";
  return {
    code: "max-removals",
    message: `the plan ${what}, over the limit of ${max}${counts}`,
    hint: `if that is intended, raise policy.maxRemovals or pass --max-removals ${removals + demotions}`,
  };
}

function planRoom(
  input: RoomPlanInput,
  isProtected: (userId: string) => boolean,
  want: DesiredRoom,
  have: ActualRoom,
  changes: RoomChange[],
  refusals: Refusal[],
): void {
  const room = want.key;
  const own = input.ownUserId;
  const ownPower = powerOf(have, own);
  const mine: RoomChange[] = [];
  const refuse = (code: Refusal["code"], userId: string | undefined, message: string, hint?: string) =>
    refusals.push({ code, ...(userId ? { userId } : {}), message: `${room}: ${message}`, ...(hint ? { hint } : {}) });
  const change = (
    kind: RoomChange["kind"],
    userId: string,
    from: RoomChange["from"],
    to: RoomChange["to"],
    reason: string,
  ) => mine.push({ kind, room, roomId: have.roomId, userId, from, to, reason });
  const levels = have.powerLevels;
  const before = refusals.length;
  let needsAdmin = false;

  for (const member of want.members.values()) {
    const { userId } = member;
    const membership = have.members.get(userId) ?? "none";
    const via = member.via.map((v) => (v === "users" ? "listed in users" : `group ${v}`)).join(", ");
    if (membership !== "join") {
      const fileUser = input.desired.get(userId);
      const declared = fileUser ? dueUser(fileUser, input.now).state : "active";
      const account = input.accounts.get(userId) ?? "absent";
      if (declared !== "active") {
        refuse(
          "room-member-inactive",
          userId,
          `${userId} is declared ${declared} in the file, so cannot join`,
          "remove the user from the room's groups and users",
        );
        continue;
      }
      if (account !== "active" && !input.activating.has(userId)) {
        refuse(
          "room-member-inactive",
          userId,
          `${userId} is ${account} on the server, so cannot join`,
          "create or reactivate the account first, or remove the user from the room",
        );
        continue;
      }
      if (membership === "ban") {
        refuse(
          "room-member-inactive",
          userId,
          `${userId} is banned from the room`,
          "unban the user in the room first, or remove the user from the room",
        );
        continue;
      }
      if (userId === own) {
        needsAdmin = true; // the admin's own membership is checked below
        continue;
      }
      if (have.joinRule !== "public" && ownPower < levels.invite) {
        refuse(
          "room-admin-power",
          userId,
          `${own} cannot invite ${userId}: its power level ${ownPower} is below invite (${levels.invite})`,
        );
        continue;
      }
      change("join", userId, membership, "join", via);
    }
    if (member.powerLevel === undefined) continue;
    if (have.creators.includes(userId)) {
      refuse(
        "room-creator",
        userId,
        `${userId} created this version ${have.version} room: a creator's power is unlimited and cannot be listed in power levels`,
        "remove the user from the room's powerLevels",
      );
      continue;
    }
    const current = levels.users[userId] ?? levels.usersDefault;
    if (current === member.powerLevel) continue;
    if (member.powerLevel < current && (userId === own || isProtected(userId))) {
      refuse(
        userId === own ? "own-user" : "protected-user",
        userId,
        userId === own
          ? `${userId} is the admin token's own user; refusing to lower its power level from ${current} to ${member.powerLevel} (it would lose the power to manage the room)`
          : `${userId} is protected by policy.protected; refusing to lower its power level from ${current} to ${member.powerLevel}`,
        "remove the user's entry from the room's powerLevels, or change it by hand",
      );
    } else if (ownPower < levels.changePowerLevels) {
      refuse(
        "room-admin-power",
        userId,
        `${own} cannot change power levels: its level ${ownPower} is below ${levels.changePowerLevels}`,
      );
    } else if (member.powerLevel > ownPower || (userId !== own && current >= ownPower)) {
      refuse(
        "room-admin-power",
        userId,
        `${own} (power level ${ownPower}) cannot change ${userId}'s power level from ${current} to ${member.powerLevel}`,
        "give the admin user more power in the room, or change it by hand",
      );
    } else change("power", userId, current, member.powerLevel, via);
  }

  if (want.removeUndeclared) {
    for (const [userId, membership] of have.members) {
      if (!MEMBERS.has(membership) || want.members.has(userId) || userId === own) continue;
      if (have.creators.includes(userId)) {
        refuse(
          "room-creator",
          userId,
          `${userId} created this version ${have.version} room and cannot be removed`,
          "declare the user in the room",
        );
        continue;
      }
      if (isProtected(userId)) {
        refuse(
          "protected-user",
          userId,
          `${userId} is protected by policy.protected; refusing to remove it from the room`,
          "declare the user in the room, or remove them by hand",
        );
        continue;
      }
      const theirs = powerOf(have, userId);
      if (ownPower < levels.kick || theirs >= ownPower) {
        refuse(
          "room-admin-power",
          userId,
          `${own} (power level ${ownPower}) cannot remove ${userId} (power level ${theirs}; kick needs ${levels.kick} and more power than the member)`,
          "declare the user in the room, or remove them by hand",
        );
        continue;
      }
      change("remove", userId, membership, "leave", "not in the file (removeUndeclared)");
    }
  }

  if ((needsAdmin || mine.length > 0 || refusals.length > before) && have.members.get(own) !== "join") {
    refusals.length = before;
    refuse(
      "room-admin-not-member",
      own,
      `${own} is not in the room, so it cannot change its members or power levels`,
      "join the admin user to the room (or invite it and accept), then plan again",
    );
    return;
  }
  changes.push(...mine);
}

export const ROOM_DRIFT_CLASSES = ["member-left", "member-invited", "member-joined", "power-level"] as const;

/**
 * Pure: how the server's rooms differ from the file, by kind — a declared member who left (or was
 * never joined), a member the file does not declare who was invited or joined by hand (in rooms
 * with `removeUndeclared`, where the file claims the whole membership), a power level that differs.
 */
export function detectRoomDrift(
  rooms: readonly DesiredRoom[],
  actual: ReadonlyMap<string, ActualRoom | undefined>,
  ownUserId: string,
): DriftItem[] {
  const items: DriftItem[] = [];
  for (const want of rooms) {
    const have = actual.get(want.key);
    if (!have) continue;
    const room = want.key;
    for (const member of want.members.values()) {
      const membership = have.members.get(member.userId) ?? "none";
      if (membership !== "join") {
        items.push({
          class: "member-left",
          userId: member.userId,
          room,
          expected: "joined",
          actual: membership === "none" ? "never joined" : membership,
        });
        continue;
      }
      if (member.powerLevel === undefined || have.creators.includes(member.userId)) continue;
      const level = have.powerLevels.users[member.userId] ?? have.powerLevels.usersDefault;
      if (level !== member.powerLevel) {
        items.push({
          class: "power-level",
          userId: member.userId,
          room,
          expected: `power level ${member.powerLevel}`,
          actual: `power level ${level}`,
        });
      }
    }
    if (!want.removeUndeclared) continue;
    for (const [userId, membership] of have.members) {
      if (want.members.has(userId) || userId === ownUserId || !MEMBERS.has(membership)) continue;
      items.push({
        class: membership === "invite" ? "member-invited" : "member-joined",
        userId,
        room,
        expected: "not a member",
        actual: membership === "invite" ? "invited" : "joined",
      });
    }
  }
  return items;
}
