// The Admin API's user rows ↔ the domain's users: the Synapse half of each managed attribute
// (src/domain/attributes.ts) is one line in normaliseUser and one in toRawChanges.
import type { AccountState, ActualUser } from "../domain/account.js";
import type { UserChanges } from "../domain/accounts.js";
import type { ExternalId } from "../domain/attributes.js";
import { SynapseError } from "./errors.js";

/** Raw rows as Synapse sends them (only the fields we read). */
export interface RawUser {
  name: string;
  deactivated?: boolean | number;
  erased?: boolean;
  locked?: boolean;
  admin?: boolean | number;
  displayname?: string | null;
  avatar_url?: string | null;
  user_type?: string | null;
  is_guest?: boolean | number;
  shadow_banned?: boolean | number;
  creation_ts?: number;
  threepids?: { medium: string; address: string }[];
  external_ids?: { auth_provider: string; external_id: string }[];
  appservice_id?: string | null;
  suspended?: boolean | number;
}

export function stateOf(raw: RawUser): AccountState {
  if (!raw.deactivated) return "active";
  return raw.erased ? "erased" : "deactivated";
}

/**
 * `creationUnit`: Synapse 1.160 sends `creation_ts` in seconds from the single-user GET and in
 * milliseconds from the list (seen on a real server; see docs/synapse-facts).
 *
 * The row is checked as it is read: an answer is not trusted to be what the Admin API documents (a
 * proxy, another server, a hostile one). A field of the wrong type is a SynapseError
 * `invalid-response` naming it (`path`: the endpoint, for the message), never a TypeError deeper
 * in. Plain `typeof` checks: this runs for every user of the server.
 */
export function normaliseUser(row: unknown, creationUnit: "s" | "ms", path: string): ActualUser {
  if (typeof row !== "object" || row === null || Array.isArray(row)) {
    throw new SynapseError("invalid-response", "GET", path, "a user in the answer is not a JSON object");
  }
  const raw = row as RawUser;
  const name = raw.name;
  if (typeof name !== "string" || name === "") invalidField(path, undefined, "name", "a user ID", name);
  if (!isFlag(raw.deactivated)) invalidField(path, name, "deactivated", "a boolean", raw.deactivated);
  if (!isFlag(raw.erased)) invalidField(path, name, "erased", "a boolean", raw.erased);
  if (!isFlag(raw.locked)) invalidField(path, name, "locked", "a boolean", raw.locked);
  if (!isFlag(raw.admin)) invalidField(path, name, "admin", "a boolean", raw.admin);
  if (!isFlag(raw.is_guest)) invalidField(path, name, "is_guest", "a boolean", raw.is_guest);
  if (!isFlag(raw.shadow_banned)) invalidField(path, name, "shadow_banned", "a boolean", raw.shadow_banned);
  if (!isOptional(raw.displayname, "string")) invalidField(path, name, "displayname", "a string", raw.displayname);
  if (!isOptional(raw.avatar_url, "string")) invalidField(path, name, "avatar_url", "a string", raw.avatar_url);
  if (!isOptional(raw.user_type, "string")) invalidField(path, name, "user_type", "a string", raw.user_type);
  if (!isOptional(raw.creation_ts, "number")) invalidField(path, name, "creation_ts", "a number", raw.creation_ts);
  const user: ActualUser = {
    userId: name,
    state: stateOf(raw),
    locked: raw.locked === true,
    admin: Boolean(raw.admin),
    displayname: raw.displayname ?? null,
    avatarUrl: raw.avatar_url ?? null,
    userType: raw.user_type ?? null,
    isGuest: Boolean(raw.is_guest),
    shadowBanned: Boolean(raw.shadow_banned),
    creationTs: (raw.creation_ts ?? 0) * (creationUnit === "s" ? 1000 : 1),
  };
  const threepids: unknown = raw.threepids;
  if (threepids !== undefined && threepids !== null) {
    if (!Array.isArray(threepids)) invalidField(path, name, "threepids", "a list", threepids);
    const emails: string[] = [];
    for (let i = 0; i < threepids.length; i++) {
      const t = threepids[i] as { medium?: unknown; address?: unknown } | null;
      if (typeof t !== "object" || t === null) invalidField(path, name, `threepids[${i}]`, "an object", t);
      if (typeof t.medium !== "string") invalidField(path, name, `threepids[${i}].medium`, "a string", t.medium);
      if (typeof t.address !== "string") invalidField(path, name, `threepids[${i}].address`, "a string", t.address);
      // Synapse stores email addresses lower-cased; compare them that way too.
      if (t.medium === "email") emails.push(t.address.toLowerCase());
    }
    user.emails = emails;
  }
  const externalIds: unknown = raw.external_ids;
  if (externalIds !== undefined && externalIds !== null) {
    if (!Array.isArray(externalIds)) invalidField(path, name, "external_ids", "a list", externalIds);
    const ids: ExternalId[] = [];
    for (let i = 0; i < externalIds.length; i++) {
      const e = externalIds[i] as { auth_provider?: unknown; external_id?: unknown } | null;
      const at = `external_ids[${i}]`;
      if (typeof e !== "object" || e === null) invalidField(path, name, at, "an object", e);
      if (typeof e.auth_provider !== "string")
        invalidField(path, name, `${at}.auth_provider`, "a string", e.auth_provider);
      if (typeof e.external_id !== "string") invalidField(path, name, `${at}.external_id`, "a string", e.external_id);
      ids.push({ provider: e.auth_provider, id: e.external_id });
    }
    user.externalIds = ids;
  }
  // Only the single-user GET carries it (Synapse ≥ 1.121); the list does not (1.160).
  if (raw.suspended !== undefined && raw.suspended !== null) {
    if (!isFlag(raw.suspended)) invalidField(path, name, "suspended", "a boolean", raw.suspended);
    user.suspended = Boolean(raw.suspended);
  } else if (creationUnit === "s") user.suspended = false; // a server older than suspension: no one is

  if ("appservice_id" in raw) {
    if (!isOptional(raw.appservice_id, "string"))
      invalidField(path, name, "appservice_id", "a string", raw.appservice_id);
    user.appserviceId = raw.appservice_id ?? null;
  }
  return user;
}

/** Synapse sends flags as booleans, or 0/1 from some databases; absent or null reads as false. */
function isFlag(value: unknown): boolean {
  return value === undefined || value === null || typeof value === "boolean" || typeof value === "number";
}

function isOptional(value: unknown, type: "string" | "number"): boolean {
  return value === undefined || value === null || typeof value === type;
}

function invalidField(path: string, userId: string | undefined, field: string, expected: string, got: unknown): never {
  // The user ID and the value come from the answer: quoted, and cut short.
  const who = userId === undefined ? "a user" : `user ${quote(userId)}`;
  const what = got === null ? "null" : Array.isArray(got) ? "a list" : typeof got;
  throw new SynapseError("invalid-response", "GET", path, `${who}: \`${field}\` should be ${expected}, got ${what}`);
}

function quote(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}

/** What a PUT /_synapse/admin/v2/users/<id> may set: `deactivated: false` reactivates (never sent to an erased user). */
export type SynapseUserChanges = UserChanges & { deactivated?: boolean; userType?: string | null };

export function toRawChanges(changes: SynapseUserChanges): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (changes.displayname !== undefined) body.displayname = changes.displayname;
  if (changes.avatarUrl !== undefined) body.avatar_url = changes.avatarUrl;
  if (changes.admin !== undefined) body.admin = changes.admin;
  if (changes.locked !== undefined) body.locked = changes.locked;
  if (changes.deactivated !== undefined) body.deactivated = changes.deactivated;
  if (changes.emails !== undefined) body.threepids = changes.emails.map((address) => ({ medium: "email", address }));
  if (changes.externalIds !== undefined) {
    body.external_ids = changes.externalIds.map((e) => ({ auth_provider: e.provider, external_id: e.id }));
  }
  if (changes.password !== undefined) body.password = changes.password;
  if (changes.userType !== undefined) body.user_type = changes.userType;
  return body;
}
