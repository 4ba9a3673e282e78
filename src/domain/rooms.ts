import type { SourcePosition } from "./desired.js";
import type { Refusal } from "./plan.js";

/**
 * Rooms and spaces as the users file declares them (a space is a room whose create event says
 * `type: m.space`; both are managed alike). A room is named by an alias (`#eng:example.org`) or a
 * room ID (`!abc:example.org`, or `!abc` in room version 12, whose IDs carry no server).
 */
export interface DesiredRoomMember {
  userId: string;
  /** The power level the file wants; undefined: not managed (left as it is). */
  powerLevel?: number;
  /** Why the user must be a member: the groups naming them, and `users` when listed by name. */
  via: string[];
}

export interface DesiredRoom {
  /** The alias or room ID as written in the file. */
  key: string;
  /** By user ID, in file order. */
  members: Map<string, DesiredRoomMember>;
  /** Whether members the file does not declare are removed (kicked). Off unless the room says so. */
  removeUndeclared: boolean;
  source: SourcePosition;
}

/** Membership of a user in a room, as the room's current state says; `none`: no member event. */
export const MEMBERSHIPS = ["join", "invite", "leave", "ban", "knock", "none"] as const;
export type Membership = (typeof MEMBERSHIPS)[number];

/**
 * Room IDs and aliases as the users file, a saved plan or a snapshot may hold them: `!opaque:server`
 * or `!opaque` (room version 12) for an ID, `#name:server` for an alias (Matrix allows any character
 * but `:` in the name), the server part as in a user ID. No whitespace, control or format character
 * anywhere; apply percent-encodes them into URL paths to the operator's homeserver.
 */
const OPAQUE = "[^:\\s\\p{Cc}\\p{Cf}\\p{Cs}\\p{Zl}\\p{Zp}]+";
const SERVER = "(?:[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?";
const ROOM_ID = new RegExp(`^!${OPAQUE}(?::${SERVER})?$`, "u");
const ROOM_ALIAS = new RegExp(`^#${OPAQUE}:${SERVER}$`, "u");
const MAX_ROOM_ID_LENGTH = 255;

export function isRoomId(text: string): boolean {
  return text.length <= MAX_ROOM_ID_LENGTH && ROOM_ID.test(text);
}

/** A room as a file names it: an alias or a room ID. */
export function isRoomKey(text: string): boolean {
  return isRoomId(text) || (text.length <= MAX_ROOM_ID_LENGTH && ROOM_ALIAS.test(text));
}

/** The part of `m.room.power_levels` the planner reads (Matrix defaults filled in). */
export interface PowerLevels {
  users: Record<string, number>;
  usersDefault: number;
  invite: number;
  kick: number;
  /** What it takes to send `m.room.power_levels` (events[...] or else state_default). */
  changePowerLevels: number;
}

/** A room as the server has it, read from its current state (one request per room). */
export interface ActualRoom {
  /** The alias or room ID as the file writes it. */
  key: string;
  roomId: string;
  /** The room's name (`m.room.name`): the server's text, escaped per sink wherever shown. */
  name?: string;
  version: string;
  /** `m.space` for a space. */
  roomType?: string;
  joinRule: string;
  /**
   * Room version 12 and later: the create event's sender and `additional_creators`, who have
   * unlimited power and can be neither listed in power levels nor demoted nor kicked. Empty before v12.
   */
  creators: string[];
  /** Every user with a member event, and its membership. */
  members: Map<string, Membership>;
  powerLevels: PowerLevels;
}

/** What the file's rooms need to know of an account: its state on the server, or that there is none. */
export type MemberAccount = "active" | "deactivated" | "erased" | "absent";

export const ROOM_CHANGE_KINDS = ["join", "remove", "power"] as const;
export type RoomChangeKind = (typeof ROOM_CHANGE_KINDS)[number];

/** One change in one room; its `from` is the precondition apply checks again right before it runs. */
export interface RoomChange {
  kind: RoomChangeKind;
  /** The alias or room ID as the file writes it, and the ID it resolved to. */
  room: string;
  roomId: string;
  userId: string;
  /** join/remove: the membership before (and after, `to`); power: the level before and after. */
  from: Membership | number;
  to: Membership | number;
  /** Why: the groups (or `users`) that make this user a member; for a removal, "not in the file". */
  reason: string;
}

export type RoomSummary = Record<RoomChangeKind, number>;

/** The rooms part of a plan: changes room by room (in file order), and the rooms' refusals. */
export interface RoomPlan {
  changes: RoomChange[];
  /** The rooms read, for reports: key → room ID and name. */
  rooms: { key: string; roomId?: string; name?: string; type?: string }[];
  summary: RoomSummary;
}

export interface RoomPlanResult {
  plan: RoomPlan;
  refusals: Refusal[];
}

/** How one room change ended in apply (the account outcomes' words). */
export interface RoomChangeResult {
  change: RoomChange;
  outcome: "done" | "failed" | "stale" | "not-started";
  message?: string;
}
