import type { DesiredUser } from "../domain/desired.js";
import type { Policy } from "../domain/policy.js";
import type { DesiredRoom } from "../domain/rooms.js";

/** The validated content of a users file, or of every file in a directory, merged. */
export interface DesiredState {
  homeserver?: string;
  /**
   * From the file, or else the server name the loader was given (the admin token's own server).
   * Undefined only when validating offline a file that does not name its server.
   */
  serverName?: string;
  policy: Policy;
  /** By full user ID, in file order. */
  users: Map<string, DesiredUser>;
  /** The rooms and spaces the files declare (their `groups` resolved), in file order. */
  rooms: DesiredRoom[];
  /** The files read, in the order they were merged. */
  files: string[];
  /** sha256 over the files' bytes (name and content), for plan files and audit logs. */
  sha256: string;
}
