import type { ActualUser, ErasureResidue } from "./account.js";
import type { DesiredAttributes } from "./attributes.js";

/**
 * What a write may set on an account: managed attributes (`suspended` included: a backend sets it
 * however its server does), and a password on create or reactivation.
 */
export interface UserChanges extends DesiredAttributes {
  password?: string;
}

/** What a backend can and cannot do, known once connected: the planner refuses what it cannot. */
export interface BackendTraits {
  /** false: no password can be set (MAS with password login off: set-password answers 403). */
  passwordLogin?: boolean;
  /** Why an external-ID provider named in the users file cannot be used, if it cannot. */
  providerProblem?: (provider: string) => string | undefined;
}

/**
 * Where accounts live and how they change: every read of the inventory and every write of apply
 * goes through this: Synapse's Admin API (src/accounts/synapse.ts) or MAS (src/accounts/mas.ts);
 * the planner and the reporters never see which one runs. Each method either does what it says
 * or throws; none decides policy.
 */
export interface AccountsBackend {
  /** Its name, for reports: "synapse" or "mas". */
  readonly name: string;
  readonly traits?: BackendTraits;
  /** Every user, page by page, locked and deactivated ones included; a page may repeat a user (offset pagination). */
  listUsers(): AsyncIterable<ActualUser[]>;
  /** One user read in full (the detail attributes included); undefined when there is none. */
  findUser(userId: string): Promise<ActualUser | undefined>;
  /** Creates a user; `created: false` when it existed already (it was then modified instead). */
  createUser(userId: string, changes: UserChanges): Promise<{ created: boolean }>;
  /** Sets attributes of an existing user (not atomic on Synapse: fields are written one after another). */
  updateUser(userId: string, changes: UserChanges): Promise<void>;
  /** Locks or unlocks an account. */
  setLocked(userId: string, locked: boolean): Promise<void>;
  deactivate(userId: string): Promise<void>;
  /** Deactivates (if needed) and erases: irreversible. */
  erase(userId: string): Promise<void>;
  /** Brings a deactivated, not erased, account back, setting `changes` on the way. */
  reactivate(userId: string, changes: UserChanges): Promise<void>;
  /** What a complete erasure still has to remove of this user: rooms, unredacted messages, media. */
  erasureResidue(userId: string): Promise<ErasureResidue>;
  /** Redacts the user's messages in `rooms`, waiting (bounded) for the server; returns how many it could not. */
  redactMessages(userId: string, rooms: string[]): Promise<number>;
  /** Deletes every media the user uploaded; returns how many. */
  deleteMedia(userId: string): Promise<number>;
}
