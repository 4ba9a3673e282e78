import { randomInt } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { ToolError } from "../errors.js";
import type { SynapseClient } from "../synapse/client.js";
import { SynapseError } from "../synapse/errors.js";

/**
 * One apply at a time per server. Re-checking each user right before it changes is not enough on
 * its own: two runs can both see "deactivated", one erases, the other's reactivation then
 * un-erases (seen in test/e2e/safety.test.ts before this lock existed). So apply holds a lease.
 *
 * The lease is a registration token (see SynapseClient.createLockToken) that expires by itself if
 * its holder dies, and is renewed while the apply runs. Its `expiry_time` carries a nonce in its
 * milliseconds, so a holder whose create answer was lost (network fault) can tell the lock is its own.
 */
export const LOCK_NAME = "synapse-gitops-apply-lock";

export interface ApplyLock {
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long the lease lasts without renewal. */
  ttlMs?: number;
  /** How long to wait for another apply to finish before giving up. */
  waitMs?: number;
  onWait?: (until: number | null) => void;
}

export async function acquireApplyLock(client: SynapseClient, options: LockOptions = {}): Promise<ApplyLock> {
  const ttl = options.ttlMs ?? 120_000;
  const nonce = randomInt(1, 1000);
  const expiry = () => Math.floor((Date.now() + ttl) / 1000) * 1000 + nonce;
  const mine = (expiryTime: number | null | undefined) => typeof expiryTime === "number" && expiryTime % 1000 === nonce;
  const deadline = Date.now() + (options.waitMs ?? 120_000);
  for (let waited = false; ; ) {
    let created: boolean;
    try {
      created = await client.createLockToken(LOCK_NAME, expiry());
    } catch (e) {
      // The create may have happened: look before trying again.
      if (!(e instanceof SynapseError && (e.kind === "network" || (e.status ?? 0) >= 500))) throw e;
      created = mine(await client.readLockToken(LOCK_NAME));
    }
    if (created) break;
    const held = await client.readLockToken(LOCK_NAME);
    if (mine(held)) break;
    if (typeof held === "number" && held < Date.now()) {
      await client.deleteLockToken(LOCK_NAME); // abandoned by a run that died
      continue;
    }
    if (Date.now() > deadline) {
      const until = typeof held === "number" ? ` (its lease runs until ${new Date(held).toISOString()})` : "";
      throw new ToolError(
        `another synapse-gitops apply is running on this server${until}; nothing was changed`,
        "try again when it has finished",
      );
    }
    if (!waited) options.onWait?.(held ?? null);
    waited = true;
    await sleep(300 + randomInt(0, 400));
  }
  const renew = setInterval(() => {
    client.renewLockToken(LOCK_NAME, expiry()).catch(() => {
      // A missed renewal is retried at the next tick; the lease outlives two of them.
    });
  }, ttl / 3);
  renew.unref();
  return {
    release: async () => {
      clearInterval(renew);
      await client.deleteLockToken(LOCK_NAME).catch(() => {
        // It expires by itself.
      });
    },
  };
}
