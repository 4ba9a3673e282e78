// Reading the inventory through an accounts backend, for the planner, drift, snapshots and
// apply's read-backs: the server's users handed over as they arrive, never all held at once.
import type { ActualUser } from "../domain/account.js";
import type { AccountsBackend } from "../domain/accounts.js";
import { ToolError } from "../errors.js";
import { mapConcurrent } from "../util/concurrency.js";

export interface InventoryOptions {
  /** Users that need the single-user GET (fields the list lacks). Everyone else costs no extra request. */
  needsDetails?: (user: ActualUser) => boolean;
  /**
   * Users whose `suspended` flag is needed: only Synapse's single-user GET shows it, so they are read
   * in full even from a backend that lists the other details in bulk (MAS).
   */
  needsSuspended?: (user: ActualUser) => boolean;
  /** Users whose erasure residue (rooms, messages, media) is read too: only those a complete erasure concerns. */
  needsResidue?: (user: ActualUser) => boolean;
  concurrency?: number;
  onProgress?: (progress: { listed: number; detailed: number; detailsNeeded: number }) => void;
}

/**
 * Every user on the server, handed to `onUser` as the list arrives, page by page; the users the
 * caller says need details are handed over last, each read with the single-user GET. Nothing is
 * kept: a caller that needs a map builds one (readInventory).
 *
 * Offset pagination can show a row twice (a user created during the listing shifts the rows after
 * it): `onUser` may see a user twice and keeps whichever it likes.
 */
export async function streamInventory(
  accounts: AccountsBackend,
  onUser: (user: ActualUser) => void,
  options: InventoryOptions = {},
): Promise<void> {
  const detailed: ActualUser[] = [];
  const { needsDetails, needsSuspended, needsResidue } = options;
  const needsFull = (user: ActualUser) =>
    (needsDetails?.(user) && !knownInFull(user)) || (needsSuspended?.(user) && user.suspended === undefined);
  let listed = 0;
  for await (const page of accounts.listUsers()) {
    for (const user of page) {
      if (needsFull(user) || needsResidue?.(user)) detailed.push(user);
      else onUser(user);
    }
    listed += page.length;
    options.onProgress?.({ listed, detailed: 0, detailsNeeded: detailed.length });
  }
  let done = 0;
  await mapConcurrent(detailed, options.concurrency ?? 8, async (user) => {
    const full = needsFull(user) ? await fullUser(accounts, user.userId) : user;
    onUser(needsResidue?.(user) ? { ...full, residue: await accounts.erasureResidue(user.userId) } : full);
    done++;
    if (done % 100 === 0 || done === detailed.length) {
      options.onProgress?.({ listed, detailed: done, detailsNeeded: detailed.length });
    }
  });
}

/** A backend that reads the detail attributes in bulk (MAS) lists users in full: no single-user GET then. */
function knownInFull(user: ActualUser): boolean {
  return user.emails !== undefined && user.externalIds !== undefined && user.appserviceId !== undefined;
}

/** Every user on the server, keyed by ID (a row repeated by pagination collapses into one). */
export async function readInventory(
  accounts: AccountsBackend,
  options: InventoryOptions = {},
): Promise<Map<string, ActualUser>> {
  const users = new Map<string, ActualUser>();
  await streamInventory(accounts, (user) => users.set(user.userId, user), options);
  return users;
}

/** A user read in full; one that vanished meanwhile is an error (users are never deleted on Synapse). */
async function fullUser(accounts: AccountsBackend, userId: string): Promise<ActualUser> {
  const user = await accounts.findUser(userId);
  if (!user) throw new ToolError(`${userId} vanished from the server while it was read`, "run the command again");
  return user;
}
