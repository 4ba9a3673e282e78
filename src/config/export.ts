import { stringify } from "yaml";
import type { ActualUser } from "../domain/account.js";
import { ATTRIBUTE_SPECS, ATTRIBUTES } from "../domain/attributes.js";
import { localpartOf } from "../domain/userId.js";

/**
 * The server's users as a users file (format version 1), sorted by user ID. Active users carry their
 * attributes (`locked` only when true, lists only when not empty); deactivated and erased users use
 * the one-word form. `plan` on the result against the same server shows no changes.
 */
export function exportUsersFile(users: Iterable<ActualUser>, serverName: string, header: string): string {
  const sorted = [...users].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  // A Map, not an object: an object would drop a user named `__proto__` and put numeric
  // localparts ("123") before every other key.
  const entries = new Map<string, unknown>();
  for (const u of sorted) {
    const key = u.userId.endsWith(`:${serverName}`) ? localpartOf(u.userId) : u.userId;
    if (u.state !== "active") {
      entries.set(key, u.state);
      continue;
    }
    const entry: Record<string, unknown> = {};
    for (const attribute of ATTRIBUTES) {
      const value = (ATTRIBUTE_SPECS[attribute].exported as (v: unknown) => unknown)(u[attribute]);
      if (value !== undefined) entry[attribute] = value;
    }
    entries.set(key, entry);
  }
  const body = stringify({ version: 1, serverName, users: entries }, { lineWidth: 0 });
  return `${header}${body}`;
}
