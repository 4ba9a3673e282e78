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
 *
 * The pages are read one ahead: the next page is asked for as soon as one arrives, so the server
 * prepares it while this one is taken in. The requests are the same, in the same order.
 */
export async function readInventory(
  client: SynapseClient,
  options: InventoryOptions = {},
): Promise<Map<string, ActualUser>> {
  const users = new Map<string, ActualUser>();
  const detailed: ActualUser[] = [];
  const { needsDetails } = options;
  const pages = client.listAllUsers();
  let next = pages.next();
  try {
    for (;;) {
      const result = await next;
      if (result.done) break;
      next = pages.next();
      // Handled when awaited above; this keeps a failure that comes before then from being reported as unhandled.
      next.catch(() => {});
      for (const user of result.value) {
        users.set(user.userId, user);
        if (needsDetails?.(user)) detailed.push(user);
      }
      options.onProgress?.({ listed: users.size, detailed: 0, detailsNeeded: detailed.length });
    }
  } catch (e) {
    // No further page: the listing stops once the request in flight (if any) has its answer.
    void pages.return(undefined).catch(() => {});
    throw e;
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
