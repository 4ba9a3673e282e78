import { mapConcurrent } from "../util/concurrency.js";
import type { SynapseClient } from "./client.js";
import type { ActualUser } from "./types.js";

export interface InventoryOptions {
  /** Users that need the single-user GET (fields the list lacks). Everyone else costs no extra request. */
  needsDetails?: (user: ActualUser) => boolean;
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
  client: SynapseClient,
  onUser: (user: ActualUser) => void,
  options: InventoryOptions = {},
): Promise<void> {
  const detailed: ActualUser[] = [];
  const { needsDetails } = options;
  let listed = 0;
  for await (const page of client.listAllUsers()) {
    for (const user of page) {
      if (needsDetails?.(user)) detailed.push(user);
      else onUser(user);
    }
    listed += page.length;
    options.onProgress?.({ listed, detailed: 0, detailsNeeded: detailed.length });
  }
  let done = 0;
  await mapConcurrent(detailed, options.concurrency ?? 8, async (user) => {
    onUser(await client.getUser(user.userId));
    done++;
    if (done % 100 === 0 || done === detailed.length) {
      options.onProgress?.({ listed, detailed: done, detailsNeeded: detailed.length });
    }
  });
}

/** Every user on the server, keyed by ID (a row repeated by pagination collapses into one). */
export async function readInventory(
  client: SynapseClient,
  options: InventoryOptions = {},
): Promise<Map<string, ActualUser>> {
  const users = new Map<string, ActualUser>();
  await streamInventory(client, (user) => users.set(user.userId, user), options);
  return users;
}
