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
  /** Throws LockLostError if the lease is no longer this run's (checked before irreversible steps). */
  confirm(): Promise<void>;
  /** False once a renewal found the lease gone: the run must stop starting changes. */
  held(): boolean;
  release(): Promise<void>;
}

export class LockLostError extends ToolError {
  override name = "LockLostError";
}

export interface LockOptions {
  /** How long the lease lasts without renewal. */
  ttlMs?: number;
  /** How long to wait for another apply to finish before giving up. */
  waitMs?: number;
  onWait?: (until: number | null) => void;
}

/** Expiry times are the holder's clock; another machine's may differ. A lease counts as abandoned this long after it expired. */
const SKEW_GRACE_MS = 60_000;
/** After taking the lease, how long to wait before reading it back (a racing waiter's delete-then-create shows by then). */
const SETTLE_MS = 500;

export async function acquireApplyLock(client: SynapseClient, options: LockOptions = {}): Promise<ApplyLock> {
  const ttl = options.ttlMs ?? 60_000;
  // The nonce rides in the expiry's last minute of milliseconds: 1 in 60,000 that two runs share it.
  const nonce = randomInt(1, 60_000);
  // Between ttl and ttl + 60 s from now (the lease is renewed every ttl / 3).
  const expiry = () => Math.floor((Date.now() + ttl) / 60_000) * 60_000 + 60_000 + nonce;
  const mine = (expiryTime: number | null | undefined) =>
    typeof expiryTime === "number" && expiryTime % 60_000 === nonce;
  const deadline = Date.now() + (options.waitMs ?? 120_000);
  const unknownOutcome = (e: unknown) => e instanceof SynapseError && (e.kind === "network" || (e.status ?? 0) >= 500);
  // Set when one of our creates may have happened without us hearing so: only then is a matching
  // nonce evidence that the lease is ours.
  let mayBeOurs = false;
  for (let waited = false; ; ) {
    let held: number | null | undefined;
    try {
      let created = false;
      try {
        created = await client.createLockToken(LOCK_NAME, expiry());
      } catch (e) {
        if (!unknownOutcome(e)) throw e;
        mayBeOurs = true;
      }
      held = await client.readLockToken(LOCK_NAME);
      if (created || (mayBeOurs && mine(held))) {
        // Two waiters can both have seen an abandoned lease; the later one's delete would remove ours.
        await sleep(SETTLE_MS);
        if (mine(await client.readLockToken(LOCK_NAME))) break;
        mayBeOurs = false;
        continue;
      }
      if (held === undefined) continue; // released meanwhile: try again at once
      if (typeof held === "number" && held + SKEW_GRACE_MS < Date.now()) {
        await client.deleteLockToken(LOCK_NAME); // abandoned by a run that died
        continue;
      }
    } catch (e) {
      // A failing network while taking the lock: look again (until the deadline), never give up holding it.
      if (!unknownOutcome(e)) throw e;
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
  let lost = false;
  const renew = setInterval(async () => {
    try {
      if (!mine(await client.readLockToken(LOCK_NAME))) lost = true;
      else await client.renewLockToken(LOCK_NAME, expiry());
    } catch {
      // A missed renewal is retried at the next tick; the lease outlives two of them.
    }
  }, ttl / 3);
  renew.unref();
  return {
    held: () => !lost,
    confirm: async () => {
      if (lost || !mine(await client.readLockToken(LOCK_NAME))) {
        lost = true;
        throw new LockLostError("this run lost the apply lock (another apply took it over); stopping");
      }
    },
    release: async () => {
      clearInterval(renew);
      // After losing the lease, deleting would free another run's. Otherwise it is ours (nobody takes a
      // lease over while its renewals succeed): delete it, trying hard — a lease left behind blocks
      // every other run until it expires.
      if (lost) return;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          return await client.deleteLockToken(LOCK_NAME);
        } catch {
          await sleep(200 * (attempt + 1));
        }
      }
    },
  };
}
