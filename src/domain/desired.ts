import type { AccountState } from "./account.js";
import type { DesiredAttributes } from "./attributes.js";
import type { ErasureKind } from "./policy.js";
import type { Schedule } from "./schedule.js";

/** Where something was written: for messages like `users.yaml:14:5 users.bob.state: …`. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** A password is never written in the file: it is read from an environment variable or a file when needed. */
export type PasswordRef = { env: string } | { file: string };

/**
 * One user as the file wants it. An attribute that is `undefined` is not managed: it is never
 * compared or changed. Attributes only exist on `active` users (the loader enforces it); emails
 * are lower-cased (Synapse stores them so), in file order.
 */
export interface DesiredUser extends DesiredAttributes {
  /** The full user ID, `@localpart:server`. */
  userId: string;
  /**
   * The user's number among the file's users: the loader numbers them 0, 1, 2… in file order.
   * Unique among the users of one map, whatever its order, so that the planner can note which users
   * it has met in an array of flags by number, without writing on the users or keeping a set of IDs.
   */
  index: number;
  state: AccountState;
  allowReactivation: boolean;
  password?: PasswordRef;
  /** Only on erased users: how much their erasure removes; absent, the policy's `erasure` says. */
  erasure?: ErasureKind;
  /** The position of the user's key in its file. */
  source: SourcePosition;
  /**
   * Set (by the loader) when the localpart is a historical one, outside today's grammar
   * (`@Old.Admin`): such an account can be managed where it exists, never created.
   */
  historical?: true;
  /** `deactivateOn` / `eraseOn` (see ./schedule.ts): what the file wants is then a function of the clock. */
  schedule?: Schedule;
  /**
   * Set only on the user as the planner sees it at its `now` (dueUser), when a date of the schedule
   * has passed: that date as written, which made `state` what it is.
   */
  due?: string;
}
