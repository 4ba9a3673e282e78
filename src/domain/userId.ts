import { ToolError } from "../errors.js";

/**
 * Matrix user IDs: `@localpart:server_name`.
 * New localparts may only use `a-z 0-9 . _ = - / +` (Matrix spec, "User Identifiers"); historical
 * IDs already on a server may hold any printable ASCII but `:`, so the client accepts those when it
 * reads, while the config loader holds new entries to the strict grammar.
 */
const NEW_LOCALPART = /^[a-z0-9._=\-/+]+$/;
const HISTORICAL_USER_ID = /^@([\x21-\x39\x3b-\x7e]+):([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$/;
const MAX_USER_ID_LENGTH = 255;

export function isValidNewLocalpart(localpart: string): boolean {
  return NEW_LOCALPART.test(localpart);
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
