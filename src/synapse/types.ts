/** A user's lifecycle state as the reconciler sees it. `erased` implies deactivated. */
export type AccountState = "active" | "deactivated" | "erased";

export interface ExternalId {
  provider: string;
  id: string;
}

/**
 * A user as it is on the server, normalised from whichever endpoint answered.
 * `emails`, `externalIds` and `appserviceId` come only from the single-user GET: they are
 * `undefined` (unknown) on users read from the list, never a guessed empty value.
 */
export interface ActualUser {
  userId: string;
  state: AccountState;
  locked: boolean;
  admin: boolean;
  displayname: string | null;
  userType: string | null;
  isGuest: boolean;
  shadowBanned: boolean;
  /** Milliseconds since the epoch, whichever endpoint it came from. */
  creationTs: number;
  emails?: string[];
  externalIds?: ExternalId[];
  appserviceId?: string | null;
}

/** The attributes a PUT /_synapse/admin/v2/users/<id> may set, in our names. */
export interface UserChanges {
  displayname?: string;
  admin?: boolean;
  locked?: boolean;
  /** false reactivates. Synapse keeps `erased` as it is only if we never send false to an erased user. */
  deactivated?: boolean;
  emails?: string[];
  externalIds?: ExternalId[];
  password?: string;
  userType?: string | null;
}

/** Raw rows as Synapse sends them (only the fields we read). */
export interface RawUser {
  name: string;
  deactivated?: boolean | number;
  erased?: boolean;
  locked?: boolean;
  admin?: boolean | number;
  displayname?: string | null;
  user_type?: string | null;
  is_guest?: boolean | number;
  shadow_banned?: boolean | number;
  creation_ts?: number;
  threepids?: { medium: string; address: string }[];
  external_ids?: { auth_provider: string; external_id: string }[];
  appservice_id?: string | null;
}

export function stateOf(raw: RawUser): AccountState {
  if (!raw.deactivated) return "active";
  return raw.erased ? "erased" : "deactivated";
}

/**
 * `creationUnit`: Synapse 1.160 sends `creation_ts` in seconds from the single-user GET and in
 * milliseconds from the list (seen on a real server; see docs/synapse-facts).
 */
export function normaliseUser(raw: RawUser, creationUnit: "s" | "ms"): ActualUser {
  const user: ActualUser = {
    userId: raw.name,
    state: stateOf(raw),
    locked: raw.locked === true,
    admin: Boolean(raw.admin),
    displayname: raw.displayname ?? null,
    userType: raw.user_type ?? null,
    isGuest: Boolean(raw.is_guest),
    shadowBanned: Boolean(raw.shadow_banned),
    creationTs: (raw.creation_ts ?? 0) * (creationUnit === "s" ? 1000 : 1),
  };
  if (raw.threepids) {
    // Synapse stores email addresses lower-cased; compare them that way too.
    user.emails = raw.threepids.filter((t) => t.medium === "email").map((t) => t.address.toLowerCase());
  }
  if (raw.external_ids) {
    user.externalIds = raw.external_ids.map((e) => ({ provider: e.auth_provider, id: e.external_id }));
  }
  if ("appservice_id" in raw) user.appserviceId = raw.appservice_id ?? null;
  return user;
}

export function toRawChanges(changes: UserChanges): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (changes.displayname !== undefined) body.displayname = changes.displayname;
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
