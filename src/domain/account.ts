import * as z from "zod";
import type { ExternalId } from "./attributes.js";

/** A user's lifecycle state. `erased` implies deactivated. */
export const ACCOUNT_STATES = ["active", "deactivated", "erased"] as const;

export const accountStateSchema = z
  .enum(ACCOUNT_STATES, { error: `must be one of ${ACCOUNT_STATES.join(", ")}` })
  .meta({
    description:
      "active: the account exists and can log in. deactivated: it cannot log in (reversible only with allowReactivation). erased: deactivated and its data erased (irreversible).",
  });

export type AccountState = z.output<typeof accountStateSchema>;

/** A state on the server, or no account at all. */
export type ActualState = AccountState | "absent";

/**
 * A user as it is on the server, normalised from whichever endpoint answered. The managed
 * attributes carry the registry's names (./attributes.ts). `emails`, `externalIds` and
 * `appserviceId` come only from reading the user in full: they are `undefined` (unknown) on users
 * read from a list, never a guessed empty value.
 */
export interface ActualUser {
  userId: string;
  state: AccountState;
  locked: boolean;
  admin: boolean;
  displayname: string | null;
  avatarUrl: string | null;
  userType: string | null;
  isGuest: boolean;
  shadowBanned: boolean;
  /** Milliseconds since the epoch, whichever endpoint it came from. */
  creationTs: number;
  emails?: string[];
  externalIds?: ExternalId[];
  appserviceId?: string | null;
  /**
   * Under an accounts backend other than Synapse (MAS): the user lives only in Synapse — an
   * application-service or bridge user, or an account never migrated — and is never written through it.
   */
  synapseOnly?: boolean;
  /** Under MAS: how MAS and Synapse disagree about the user (deactivated in one, active in the other). */
  disagreement?: string;
  /** Only for users whose complete erasure is pending or done: what of theirs is still on the server. */
  residue?: ErasureResidue;
  /** Suspended (Synapse ≥ 1.122); only the single-user GET says. */
  suspended?: boolean;
}

/**
 * What a complete erasure removes that Synapse's erase leaves: the user's messages (events of theirs
 * not yet redacted, in the rooms they were ever in) and their uploaded media. Read only for the
 * users whose file entry asks for a complete erasure.
 */
export interface ErasureResidue {
  /** Every room the user has a membership in (left rooms included): where their events are. */
  rooms: string[];
  /** Messages (m.room.message, m.room.encrypted) they sent that are not redacted. */
  messages: number;
  /** Media they uploaded that is still stored. */
  media: number;
}
