import type { AccountsBackend } from "../domain/accounts.js";
import { hasResidue } from "../plan/erasure.js";

/**
 * The purge of a complete erasure, run right before the erase (and as the whole action when an
 * earlier purge was left half done). What is purged is read again from the live server first:
 * the rooms as they are now (a room joined since the plan is not missed), and only what is left
 * (a re-run redacts nothing twice and deletes no media twice). Then it is read once more: anything
 * left fails the action, and the erase does not run — the next plan shows what is left.
 */
export async function purgeUser(accounts: AccountsBackend, userId: string): Promise<void> {
  const before = await accounts.erasureResidue(userId);
  const unredacted = before.messages > 0 ? await accounts.redactMessages(userId, before.rooms) : 0;
  if (before.media > 0) await accounts.deleteMedia(userId);
  const after = await accounts.erasureResidue(userId);
  if (hasResidue(after)) {
    const failed = unredacted > 0 ? ` (Synapse could not redact ${unredacted} events)` : "";
    throw new Error(
      `${after.messages} messages and ${after.media} media of ${userId} are left after the purge${failed}; it was not erased: plan and apply again`,
    );
  }
}
