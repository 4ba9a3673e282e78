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
 * Every user on the server, keyed by ID: the list, page by page, then one GET for each user the
 * caller says needs details. Keyed by ID, so a row repeated by offset pagination (a user created
 * during the listing) collapses into one.
 */
export async function readInventory(
  client: SynapseClient,
  options: InventoryOptions = {},
): Promise<Map<string, ActualUser>> {
  const users = new Map<string, ActualUser>();
  const detailed: ActualUser[] = [];
  for await (const page of client.listAllUsers()) {
    for (const user of page) {
      users.set(user.userId, user);
      if (options.needsDetails?.(user)) detailed.push(user);
    }
    options.onProgress?.({ listed: users.size, detailed: 0, detailsNeeded: detailed.length });
  }
  let done = 0;
  await mapConcurrent(detailed, options.concurrency ?? 8, async (user) => {
    users.set(user.userId, await client.getUser(user.userId));
    done++;
    if (done % 100 === 0 || done === detailed.length) {
      options.onProgress?.({ listed: users.size, detailed: done, detailsNeeded: detailed.length });
    }
  });
  return users;
}
