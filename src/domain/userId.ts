import { ToolError } from "../errors.js";

/**
 * Matrix user IDs: `@localpart:server_name`.
 * New localparts may only use `a-z 0-9 . _ = - / +` (Matrix spec, "User Identifiers"); historical
 * IDs already on a server may hold any printable ASCII but `:`. Both are accepted wherever an ID
 * names an account (the client, the users file); only creating one takes today's grammar, which
 * Synapse enforces, and the planner refuses to plan a create of any other (`historical-id`).
 * IDs compare exactly: `@Old.Admin` and `@old.admin` are different accounts.
 */
const NEW_LOCALPART = /^[a-z0-9._=\-/+]+$/;
const HISTORICAL_USER_ID = /^@([\x21-\x39\x3b-\x7e]+):([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$/;
const MAX_USER_ID_LENGTH = 255;

/** The characters today's grammar allows in a localpart, as messages name them. */
export const NEW_LOCALPART_CHARACTERS = "a-z, 0-9 and . _ = - / +";

export function isValidNewLocalpart(localpart: string): boolean {
  return NEW_LOCALPART.test(localpart);
}

const HISTORICAL_LOCALPART = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * Whether a localpart is a historical one: any printable ASCII but `:` (Matrix spec, "Historical
 * User IDs"). Every new localpart is one too. Servers that ran before Synapse enforced today's
 * grammar hold such accounts (`@Old.Admin:example.org`); Synapse refuses to create new ones.
 */
export function isHistoricalLocalpart(localpart: string): boolean {
  return HISTORICAL_LOCALPART.test(localpart);
}

/** Whether a well-formed user ID's localpart is outside today's grammar: an account Synapse would not create. */
export function isHistoricalUserId(userId: string): boolean {
  return !NEW_LOCALPART.test(localpartOf(userId));
}

/** The part after the first `:`, or undefined when `userId` is not a well-formed user ID. */
export function serverNameOf(userId: string): string | undefined {
  if (userId.length > MAX_USER_ID_LENGTH || !HISTORICAL_USER_ID.test(userId)) return undefined;
  return userId.slice(userId.indexOf(":") + 1);
}

export function localpartOf(userId: string): string {
  return userId.slice(1, userId.indexOf(":"));
}

export class InvalidUserIdError extends ToolError {
  override name = "InvalidUserIdError";
}

/** A user ID made safe to put in a URL path: validated, then percent-encoded. */
export function encodeUserId(userId: string): string {
  if (serverNameOf(userId) === undefined) {
    throw new InvalidUserIdError(
      `invalid Matrix user ID ${JSON.stringify(userId)}`,
      "a user ID looks like @alice:example.org",
    );
  }
  return encodeURIComponent(userId);
}
