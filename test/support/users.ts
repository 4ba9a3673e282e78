// Builders of the domain's users for the unit and property tests: a user as the server has it
// (ActualUser), a user as the file wants it (DesiredUser), and the planner's input around them.
import type { AccountState, ActualUser } from "../../src/domain/account.js";
import type { DesiredUser } from "../../src/domain/desired.js";
import type { PlanInput } from "../../src/domain/plan.js";

/** The server the tests' users live on, and the tool's own account there. */
export const SERVER = "example.org";
export const OWN = `@admin:${SERVER}`;
/** The creation time most tests give their users. */
export const CREATED = 1_700_000_000_000;

/** `@localpart:server`; a full user ID is kept as it is. */
export function userId(localpart: string, server: string = SERVER): string {
  return localpart.startsWith("@") ? localpart : `@${localpart}:${server}`;
}

/** A user on the server: not locked, not admin, no profile, created at 0, unless `extra` says otherwise. */
export function actualUser(id: string, state: AccountState, extra: Partial<ActualUser> = {}): ActualUser {
  return {
    userId: id,
    state,
    locked: false,
    admin: false,
    displayname: null,
    avatarUrl: null,
    userType: null,
    isGuest: false,
    shadowBanned: false,
    creationTs: 0,
    ...extra,
  };
}

/** What only reading a user in full tells (none of it here): fresh arrays each time. */
export function readInFull(): Pick<ActualUser, "emails" | "externalIds" | "appserviceId"> {
  return { emails: [], externalIds: [], appserviceId: null };
}

/** A user as read in full: `actualUser` by localpart on SERVER, with no emails, external IDs or appservice. */
export function fullUser(localpart: string, state: AccountState, extra: Partial<ActualUser> = {}): ActualUser {
  return actualUser(userId(localpart), state, { ...readInFull(), ...extra });
}

/** A user the file wants: number 0, no reactivation, at users.yaml:1:1, unless `extra` says otherwise. */
export function desiredUser(id: string, state: AccountState, extra: Partial<DesiredUser> = {}): DesiredUser {
  return {
    userId: id,
    index: 0,
    state,
    allowReactivation: false,
    source: { file: "users.yaml", line: 1, column: 1 },
    ...extra,
  };
}

/** The planner tests' user on the server: by localpart on SERVER, named after it, created at CREATED. */
export function have(localpart: string, state: AccountState, extra: Partial<ActualUser> = {}): ActualUser {
  return actualUser(userId(localpart), state, { displayname: localpart, creationTs: CREATED, ...extra });
}

/** The planner tests' user in the file: by localpart on SERVER. */
export function want(localpart: string, state: AccountState, extra: Partial<DesiredUser> = {}): DesiredUser {
  return desiredUser(userId(localpart), state, extra);
}

/**
 * The planner's input on SERVER as OWN, at `now` 0: a list of desired users is numbered in order (a
 * map is taken as it is), and the tool's own account (`admin`, by default `have("admin", "active")`
 * made admin) is on the server before `actual`. `extra` overrides any field last.
 */
export function planInput(
  desired: DesiredUser[] | Map<string, DesiredUser>,
  actual: ActualUser[],
  policy: Partial<PlanInput["policy"]> = {},
  { admin = have("admin", "active", { admin: true }), ...extra }: Partial<PlanInput> & { admin?: ActualUser } = {},
): PlanInput {
  return {
    desired: desired instanceof Map ? desired : new Map(desired.map((d, index) => [d.userId, { ...d, index }])),
    actual: new Map([admin, ...actual].map((a) => [a.userId, a])),
    serverName: SERVER,
    ownUserId: OWN,
    policy: { unmanaged: "ignore", maxDeactivations: 10, maxErasures: 5, protected: [], ...policy },
    now: 0,
    ...extra,
  };
}
