import type { AccountState, ExternalId } from "../synapse/types.js";

/** Where something was written: for messages like `users.yaml:14:5 users.bob.state: …`. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** A password is never written in the file: it is read from an environment variable or a file when needed. */
export type PasswordRef = { env: string } | { file: string };

export type UnmanagedPolicy = "ignore" | "report" | "deactivate";

export interface Policy {
  unmanaged: UnmanagedPolicy;
  maxDeactivations: number;
  maxErasures: number;
  /** Full user IDs or globs (`*` matches any run of characters), e.g. `@*-bot:example.org`. */
  protected: string[];
}

/**
 * One user as the file wants it. An attribute that is `undefined` is not managed: it is never
 * compared or changed. Attributes only exist on `active` users (the loader enforces it).
 */
export interface DesiredUser {
  /** The full user ID, `@localpart:server`. */
  userId: string;
  state: AccountState;
  displayname?: string;
  admin?: boolean;
  locked?: boolean;
  /** Lower-cased (Synapse stores them so), in file order. */
  emails?: string[];
  externalIds?: ExternalId[];
  allowReactivation: boolean;
  password?: PasswordRef;
  /** The position of the user's key in its file. */
  source: SourcePosition;
}

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
  /** The files read, in the order they were merged. */
  files: string[];
  /** sha256 over the files' bytes (name and content), for plan files and audit logs. */
  sha256: string;
}
