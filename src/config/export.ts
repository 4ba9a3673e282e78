import { Document, isScalar, type YAMLMap } from "yaml";
import type { ActualUser } from "../domain/account.js";
import { exportedAttributes } from "../domain/attributes.js";
import type { ActualRoom } from "../domain/rooms.js";
import { localpartOf } from "../domain/userId.js";

/**
 * The rooms asked for, as the file declares rooms: their joined members among the exported
 * (active, local) users, and each one's power level where the room sets one apart from its default
 * (a version 12 creator's is unlimited and never written). Members of other servers, and
 * invitations, are left out: a room can only name the file's users. removeUndeclared is left off.
 */
function exportRooms(rooms: readonly ActualRoom[], exported: ReadonlySet<string>, serverName: string) {
  const out = new Map<string, unknown>();
  for (const room of rooms) {
    const members = [...room.members]
      .filter(([userId, m]) => m === "join" && exported.has(userId))
      .map(([userId]) => userId)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const levels = new Map<string, number>();
    for (const userId of members) {
      const level = room.powerLevels.users[userId];
      if (level !== undefined && level !== room.powerLevels.usersDefault && !room.creators.includes(userId))
        levels.set(userKey(userId, serverName), level);
    }
    out.set(room.key, {
      users: members.map((userId) => userKey(userId, serverName)),
      ...(levels.size > 0 ? { powerLevels: levels } : {}),
    });
  }
  return out;
}

/**
 * The server's users as a users file (format version 1), sorted by user ID. Active users carry their
 * attributes (`locked` only when true, lists only when not empty); deactivated and erased users use
 * the one-word form. `plan` on the result against the same server shows no changes.
 */
export function exportUsersFile(
  users: Iterable<ActualUser>,
  serverName: string,
  header: string,
  rooms: readonly ActualRoom[] = [],
): string {
  const sorted = [...users].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  // A Map, not an object: an object would drop a user named `__proto__` and put numeric
  // localparts ("123") before every other key.
  const entries = new Map<string, unknown>();
  for (const u of sorted) {
    const key = userKey(u.userId, serverName);
    entries.set(key, u.state === "active" ? exportedAttributes(u) : u.state);
  }
  const exported = new Set(sorted.filter((u) => u.state === "active").map((u) => u.userId));
  const doc = new Document({
    version: 1,
    serverName,
    users: entries,
    ...(rooms.length > 0 ? { rooms: exportRooms(rooms, exported, serverName) } : {}),
  });
  quoteMergeKey(doc.get("users", true) as YAMLMap);
  return `${header}${doc.toString({ lineWidth: 0 })}`;
}

/**
 * The key a user is written under: by localpart on this server, unless the localpart starts with
 * `@` (a historical ID, such as `@@bot:example.org`): such a key would read back as a full ID. The
 * yaml library quotes the keys that need it (`"a\`b|c*d"`, `"*x"`, `"~"`, `"True"`), so each reads
 * back as the same string.
 */
export function userKey(userId: string, serverName: string): string {
  const localpart = localpartOf(userId);
  return userId.endsWith(`:${serverName}`) && !localpart.startsWith("@") ? localpart : userId;
}

/**
 * A user named `<<` is a merge key to YAML 1.1 readers (editors among them), which the library
 * writes plain: quoted, every reader takes it as the name it is.
 */
export function quoteMergeKey(users: YAMLMap): void {
  const pair = users.items.find((p) => isScalar(p.key) && p.key.value === "<<");
  if (pair && isScalar(pair.key)) pair.key.type = "QUOTE_DOUBLE";
}
