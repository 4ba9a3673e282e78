import type { ActualRoom, Membership, PowerLevels } from "../domain/rooms.js";
import type { RoomStateEvent, SynapseClient } from "./client.js";

// A room's current state (one Admin API request, whatever its size) → the domain's ActualRoom.
// Reading N rooms takes N requests (and one more per alias, to resolve it): the cost grows with the
// rooms the file names, never with the server's users.

const MEMBERSHIPS: ReadonlySet<string> = new Set(["join", "invite", "leave", "ban", "knock"]);

/** The room the file names (alias or ID) as the server has it; undefined when there is none. */
export async function readRoom(client: SynapseClient, key: string): Promise<ActualRoom | undefined> {
  const roomId = key.startsWith("#") ? await client.getRoomAlias(key) : key;
  if (roomId === undefined) return undefined;
  const state = await client.getRoomState(roomId);
  return state === undefined ? undefined : roomFromState(key, roomId, state);
}

/** Normalises a room's current state events (Matrix defaults filled in where an event or field is missing). */
export function roomFromState(key: string, roomId: string, state: readonly RoomStateEvent[]): ActualRoom {
  const get = (type: string) => state.find((e) => e.type === type && e.stateKey === "");
  const create = get("m.room.create");
  const version = typeof create?.content.room_version === "string" ? create.content.room_version : "1";
  // Room version 12 (MSC4289): the create event's sender and its additional_creators are the creators.
  const explicitCreators = /^\d+$/.test(version) && Number(version) >= 12;
  const additional = Array.isArray(create?.content.additional_creators)
    ? create.content.additional_creators.filter((c): c is string => typeof c === "string")
    : [];
  const creators = explicitCreators && create ? [create.sender, ...additional] : [];

  const members = new Map<string, Membership>();
  for (const e of state) {
    if (e.type !== "m.room.member") continue;
    const m = e.content.membership;
    if (typeof m === "string" && MEMBERSHIPS.has(m)) members.set(e.stateKey, m as Membership);
  }

  const name = get("m.room.name")?.content.name;
  const joinRule = get("m.room.join_rules")?.content.join_rule;
  const type = create?.content.type;
  return {
    key,
    roomId,
    ...(typeof name === "string" ? { name } : {}),
    version,
    ...(typeof type === "string" ? { roomType: type } : {}),
    joinRule: typeof joinRule === "string" ? joinRule : "invite",
    creators,
    members,
    powerLevels: powerLevelsOf(get("m.room.power_levels")?.content, create?.sender),
  };
}

/** An integer power level; older room versions allow numbers as strings ("50"). */
function level(value: unknown, fallback: number): number {
  const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) ? n : fallback;
}

/** The power levels with the spec's defaults; without the event, the creator has 100 and everyone else 0. */
export function powerLevelsOf(content: Record<string, unknown> | undefined, creator: string | undefined): PowerLevels {
  if (!content) {
    return { users: creator ? { [creator]: 100 } : {}, usersDefault: 0, invite: 0, kick: 50, changePowerLevels: 0 };
  }
  const users: Record<string, number> = {};
  if (typeof content.users === "object" && content.users !== null) {
    for (const [userId, value] of Object.entries(content.users)) {
      const n = level(value, Number.NaN);
      if (!Number.isNaN(n)) users[userId] = n;
    }
  }
  const events =
    typeof content.events === "object" && content.events !== null ? (content.events as Record<string, unknown>) : {};
  const stateDefault = level(content.state_default, 50);
  return {
    users,
    usersDefault: level(content.users_default, 0),
    invite: level(content.invite, 0),
    kick: level(content.kick, 50),
    changePowerLevels: level(events["m.room.power_levels"], stateDefault),
  };
}
