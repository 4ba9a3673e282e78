import { randomInt } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { abandonMarginMs, describeHolder, type LeaseInfo } from "../domain/lease.js";
import { ToolError } from "../errors.js";
import type { SynapseClient } from "../synapse/client.js";
import { SynapseError } from "../synapse/errors.js";
import { VERSION } from "../version.js";

/**
 * One apply at a time per server. Re-checking each user right before it changes is not enough on
 * its own: two runs can both see "deactivated", one erases, the other's reactivation then
 * un-erases (seen in test/e2e/safety.test.ts before this lock existed). So apply holds a lease.
 *
 * The lease is a room and an alias. The holder creates a private room that no one else can enter
 * (invite-only, no one invited, not federated), whose state event `org.synapse_gitops.lease` says
 * who holds it, then points the alias `#synapse-gitops-apply-lock:<server>` at it. Synapse keeps
 * aliases under a unique key (a second PUT answers 409), so claiming the alias is an atomic
 * test-and-set; the lease's ID is the room's ID, and "mine" means "the alias points at my room".
 * Nothing about it can be used for anything else: it is not a registration token (the lock used to
 * be one, and Synapse took its `uses_allowed: 0` as *unlimited*: anyone could register with it while
 * an apply ran), and it needs only the client-server room API and the Admin API's room endpoints,
 * so it works with and without the Matrix Authentication Service.
 *
 * The holder renews the lease every ttl / 3 by writing the state event again with a counter bumped.
 * A waiter never compares clocks with the holder's machine: it counts a lease as abandoned once it
 * has itself watched the lease stay unchanged for longer than the lease's ttl (plus a margin), by its
 * own clock. It then deletes the dead room, which deletes the alias only if the alias still points
 * there, and claims the alias as usual. After any claim the winner waits a moment and reads the
 * alias back (a racing waiter's late delete shows by then), and before each irreversible step the
 * holder checks that the alias still points at its room.
 */
export const LOCK_ALIAS_LOCALPART = "synapse-gitops-apply-lock";
/** The state event type that describes a lease. */
export const LEASE_EVENT_TYPE = "org.synapse_gitops.lease";
/** The registration token older versions used as the lock; deleted on sight. */
export const LEGACY_LOCK_TOKEN = "synapse-gitops-apply-lock";

export const DEFAULT_LOCK_TTL_MS = 60_000;
/** Long enough that a lease left by a dead run (abandoned after about one ttl) is taken over, not given up on. */
export const DEFAULT_LOCK_TIMEOUT_MS = 300_000;

/** After claiming the alias, how long to wait before reading it back (a racing waiter's delete shows by then). */
const SETTLE_MS = 500;

export function lockAlias(serverName: string): string {
  return `#${LOCK_ALIAS_LOCALPART}:${serverName}`;
}

export interface ApplyLock {
  /** The lease's ID (its room's ID). */
  readonly leaseId: string;
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
  /** How long the lease lasts without renewal (it is renewed every ttl / 3). */
  ttlMs?: number;
  /** How long to wait for another apply's lease before giving up. Should be well above its ttl. */
  waitMs?: number;
  /** Called once, when another apply holds the lease and this one starts waiting. */
  onWait?: (lease: LeaseInfo) => void;
  /** Told about what the lock did that an operator should know: a lease taken over, a legacy token deleted. */
  onNotice?: (text: string) => void;
  /** The process taking the lease, as force-unlock will show its holder (the shell knows it). */
  runner?: { host: string; pid: number };
}

/** The lease state event's content. */
interface LeaseContent {
  holder: string;
  host: string;
  pid: number;
  version: string;
  startedAt: number;
  renewedAt: number;
  renewals: number;
  ttlMs: number;
}

/** A network failure, a 5xx or a 429: the outcome may be unknown, and it is worth looking again. */
function transient(e: unknown): e is SynapseError {
  return e instanceof SynapseError && (e.kind === "network" || e.kind === "rate-limited" || (e.status ?? 0) >= 500);
}

/** Ignores failures: for clean-up that a later run or the abandonment rule makes good. */
async function bestEffort(attempts: number, step: () => Promise<unknown>): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      await step();
      return true;
    } catch {
      if (attempt + 1 < attempts) await sleep(200 * (attempt + 1));
    }
  }
  return false;
}

/** Reads the lease the alias points at: who holds it, or why the room is not a lease. */
async function inspect(
  client: SynapseClient,
  alias: string,
  roomId: string,
  admins: Map<string, boolean>,
  defaultTtlMs: number,
): Promise<LeaseInfo> {
  const state = await client.getRoomState(roomId);
  if (state === undefined) return { leaseId: roomId, alias, ttlMs: defaultTtlMs, notALease: "the room does not exist" };
  const creator = state.find((e) => e.type === "m.room.create" && e.stateKey === "")?.sender;
  const event = state.find((e) => e.type === LEASE_EVENT_TYPE && e.stateKey === "");
  if (!event) {
    return { leaseId: roomId, alias, ttlMs: defaultTtlMs, notALease: `the room (created by ${creator}) has no lease` };
  }
  // Any local user may create aliases: a lease counts only if a server admin made the room and wrote it.
  if (!creator || event.sender !== creator) {
    return {
      leaseId: roomId,
      alias,
      ttlMs: defaultTtlMs,
      notALease: "the lease was not written by the room's creator",
    };
  }
  let admin = admins.get(creator);
  if (admin === undefined) {
    admin = await client.findUser(creator).then(
      (user) => user?.admin === true,
      (e: unknown) => {
        if (transient(e)) throw e;
        return false; // e.g. a user of another server
      },
    );
    admins.set(creator, admin);
  }
  if (!admin) {
    return {
      leaseId: roomId,
      alias,
      ttlMs: defaultTtlMs,
      notALease: `the room was created by ${creator}, not an admin`,
    };
  }
  const c = event.content;
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  // Written by an admin's run, but shown on terminals and in logs: no control characters, bounded.
  const str = (v: unknown) => (typeof v === "string" ? v.slice(0, 200).replace(CONTROL, "?") : "?");
  const ttl = num(c.ttlMs);
  const info: LeaseInfo = {
    leaseId: roomId,
    alias,
    holder: { userId: event.sender, host: str(c.host), pid: num(c.pid) ?? 0, version: str(c.version) },
    // A lease's own ttl is believed within reason: an hour at most.
    ttlMs: ttl === undefined ? defaultTtlMs : Math.min(3_600_000, Math.max(1_000, ttl)),
  };
  for (const key of ["startedAt", "renewedAt", "renewals"] as const) {
    const v = num(c[key]);
    if (v !== undefined) info[key] = v;
  }
  if (event.originServerTs !== undefined) info.lastSeen = event.originServerTs;
  return info;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to remove them
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** What identifies one renewal of one lease: any change means its holder is alive. */
function renewalKey(lease: LeaseInfo): string {
  return JSON.stringify([lease.leaseId, lease.renewals, lease.renewedAt, lease.lastSeen, lease.notALease]);
}

export async function acquireApplyLock(client: SynapseClient, options: LockOptions = {}): Promise<ApplyLock> {
  const ttl = Math.max(1_000, options.ttlMs ?? DEFAULT_LOCK_TTL_MS);
  // Waiting is timed by this process's monotonic clock: no wall-clock jump makes a lease look abandoned.
  const deadline = performance.now() + (options.waitMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  const pollMs = () => Math.min(1_000, Math.max(250, ttl / 20)) + randomInt(0, 250);
  const me = await client.whoami();
  const alias = lockAlias(me.serverName);
  const admins = new Map<string, boolean>([[me.userId, true]]);
  const startedAt = Date.now();
  const content: LeaseContent = {
    holder: me.userId,
    host: options.runner?.host ?? "unknown",
    pid: options.runner?.pid ?? 0,
    version: VERSION,
    startedAt,
    renewedAt: startedAt,
    renewals: 0,
    ttlMs: ttl,
  };
  /** My room: created right before a claim; deleted if the claim fails. */
  let mine: string | undefined;
  const dropMine = async () => {
    const room = mine;
    mine = undefined;
    if (room) await bestEffort(2, () => client.deleteRoom(room));
  };
  /** Another run's lease as this run first saw it in its current renewal, by this run's clock. */
  let watched: { key: string; since: number } | undefined;
  /** Aliases not ours removed during this wait: a squatter who keeps taking it back is named, not raced. */
  let squats = 0;
  /** Rooms this run deleted as abandoned, and when: not deleted again while Synapse finishes. */
  const deleting = new Map<string, number>();
  let last: LeaseInfo | undefined;

  /** One look at the lock: true once it is this run's; otherwise how long to wait before the next. */
  const step = async (): Promise<true | number> => {
    const current = await client.getRoomAlias(alias);
    if (current !== undefined && current === mine) {
      // Claimed (perhaps by a request whose answer was lost). Two waiters can both have seen an
      // abandoned lease, and the later one's delete would remove this claim: it shows by now.
      await sleep(SETTLE_MS);
      if ((await client.getRoomAlias(alias)) === mine) return true;
      await dropMine();
      return 0;
    }
    if (current === undefined) {
      mine ??= await client.createPrivateRoom({
        name: "synapse-gitops apply lock — do not join",
        topic: "Held while a synapse-gitops apply runs; deleted when it ends. See: synapse-gitops force-unlock",
        initialState: [{ type: LEASE_EVENT_TYPE, content }],
      });
      // Whether it took or not, the next look says (an answer lost to the network included).
      if (!(await client.putRoomAlias(alias, mine))) await dropMine();
      return 0;
    }
    if (mine) await dropMine(); // another run's claim won
    const lease = await inspect(client, alias, current, admins, ttl);
    last = lease;
    if (lease.notALease) {
      // Not a lease: an alias any local user could have made, e.g. to block applies. It goes (the
      // room, not ours, stays) if it still points there. (Or the room of an abandoned lease this run
      // is deleting, whose alias Synapse has not removed yet.)
      const removed = (await client.getRoomAlias(alias)) === current && (await client.deleteRoomAlias(alias));
      if (removed && !deleting.has(current)) {
        options.onNotice?.(
          `removed the alias ${alias}: it pointed at ${current}, which is not a synapse-gitops lease (${lease.notALease})`,
        );
        // Taken again after it was removed: someone is squatting it to hold applies up. Say who, and
        // how to stop it, rather than race them until the lock timeout.
        if (++squats >= 3) {
          throw new ToolError(
            `the apply lock's alias ${alias} keeps being taken by a room that is not a synapse-gitops lease (${lease.notALease}); nothing was changed`,
            `deny #synapse-gitops-* to non-admins in Synapse's alias_creation_rules, and look into who is creating it`,
          );
        }
      }
      return 100;
    }
    // Abandoned once this run has watched it stay unchanged for longer than its ttl, by its own clock.
    const key = renewalKey(lease);
    const now = performance.now();
    if (watched?.key !== key) watched = { key, since: now };
    const unchangedFor = now - watched.since;
    if (unchangedFor <= lease.ttlMs + abandonMarginMs(lease.ttlMs)) return pollMs();
    // Its holder died (or lost the server for longer than its ttl). Deleting its room deletes the
    // alias only if the alias still points there: a late delete never removes a new lease.
    const since = deleting.get(current);
    if (since === undefined || now - since > 10_000) {
      deleting.set(current, now);
      options.onNotice?.(
        `the apply lock's lease ${current} (${describeHolder(lease)}) was not renewed for ${Math.round(unchangedFor / 1000)} s: its apply is gone; taking the lock over`,
      );
      try {
        await client.deleteRoom(current);
      } catch (e) {
        if (transient(e)) throw e;
        // The room cannot be deleted here: delete the alias, if it still points there.
        if ((await client.getRoomAlias(alias)) === current) await client.deleteRoomAlias(alias);
      }
    }
    return 100; // the alias goes within moments
  };

  let waited = false;
  let lastError: SynapseError | undefined;
  try {
    for (;;) {
      let pause: number;
      try {
        const outcome = await step();
        if (outcome === true) break;
        pause = outcome;
      } catch (e) {
        // A failing network, or a server too busy, while taking the lock: look again until the deadline.
        if (!transient(e)) throw e;
        lastError = e;
        pause = e.kind === "rate-limited" && e.retryAfterMs !== undefined ? e.retryAfterMs : pollMs();
      }
      if (performance.now() + pause > deadline) {
        throw timedOut(last, lastError, options.waitMs ?? DEFAULT_LOCK_TIMEOUT_MS);
      }
      if (!waited && last && !last.notALease) {
        waited = true;
        options.onWait?.(last);
      }
      await sleep(pause);
    }
  } catch (e) {
    await dropMine();
    throw e;
  }
  if (mine === undefined) throw new Error("unreachable: the lock was taken without a room");
  const leaseId: string = mine;
  await removeLegacyToken(client, options.onNotice);

  let lost = false;
  let renewing: Promise<void> | undefined;
  const renew = setInterval(() => {
    if (renewing || lost) return;
    renewing = (async () => {
      try {
        if ((await client.getRoomAlias(alias)) !== leaseId) {
          lost = true;
          clearInterval(renew);
          return;
        }
        content.renewals++;
        content.renewedAt = Date.now();
        await client.putRoomState(leaseId, LEASE_EVENT_TYPE, content);
      } catch {
        // A missed renewal is tried again at the next tick; the lease outlives two of them.
      } finally {
        renewing = undefined;
      }
    })();
  }, ttl / 3);
  renew.unref();
  return {
    leaseId,
    held: () => !lost,
    confirm: async () => {
      if (lost || (await client.getRoomAlias(alias)) !== leaseId) {
        lost = true;
        throw new LockLostError("this run lost the apply lock (another apply took it over); stopping");
      }
    },
    release: async () => {
      clearInterval(renew);
      await renewing;
      // Deleting the room deletes the alias if it still points at it, and never another run's: safe
      // to repeat after a lost answer. Trying hard: a lease left behind holds every other run up for a ttl.
      await bestEffort(5, () => client.deleteRoom(leaseId));
      if (lost) return;
      for (let i = 0; i < 30; i++) {
        try {
          if ((await client.getRoomAlias(alias)) !== leaseId) return;
        } catch {
          // look again
        }
        await sleep(100);
      }
      // The room's deletion did not take the alias (a server that cannot delete rooms): delete it.
      await bestEffort(3, async () => {
        if ((await client.getRoomAlias(alias)) === leaseId) await client.deleteRoomAlias(alias);
      });
    },
  };
}

/** The registration token older versions held as the lock let anyone register while it existed: it goes. */
async function removeLegacyToken(client: SynapseClient, onNotice: ((text: string) => void) | undefined) {
  let token: Awaited<ReturnType<SynapseClient["getRegistrationToken"]>>;
  try {
    token = await client.getRegistrationToken(LEGACY_LOCK_TOKEN);
  } catch {
    return; // checked again by the next run
  }
  if (!token) return; // none, or a server where registration tokens do not exist (MAS)
  const used = token.completed + token.pending;
  const uses = `${used === 0 ? "no" : used} registration${used === 1 ? " has" : "s have"} used it (Admin API: GET /_synapse/admin/v1/registration_tokens)`;
  try {
    await client.deleteRegistrationToken(LEGACY_LOCK_TOKEN);
    onNotice?.(
      `deleted the registration token "${LEGACY_LOCK_TOKEN}", left by an older synapse-gitops that used it as its apply lock: while it existed, anyone could register an account on this server with it; ${uses}`,
    );
  } catch (e) {
    onNotice?.(
      `the registration token "${LEGACY_LOCK_TOKEN}", left by an older synapse-gitops that used it as its apply lock, lets anyone register an account on this server, and could not be deleted (${e instanceof Error ? e.message : String(e)}): delete it with DELETE /_synapse/admin/v1/registration_tokens/${LEGACY_LOCK_TOKEN}; ${uses}`,
    );
  }
}

function timedOut(lease: LeaseInfo | undefined, error: SynapseError | undefined, waitMs: number): ToolError {
  const seconds = Math.round(waitMs / 1000);
  if (!lease || lease.notALease) {
    const why = error ? ` (last: ${error.message})` : "";
    return new ToolError(
      `could not take this server's apply lock within ${seconds} s${why}; nothing was changed`,
      error?.kind === "rate-limited"
        ? "Synapse limits how many rooms a user creates (rc_room_creation; each apply creates one): try again in a minute, or wait longer with --lock-timeout"
        : "check that the homeserver is reachable, then try again",
    );
  }
  const abandonAfter = Math.round((lease.ttlMs + abandonMarginMs(lease.ttlMs)) / 1000);
  return new ToolError(
    `another synapse-gitops apply holds this server's apply lock (lease ${lease.leaseId}: ${describeHolder(lease)}); gave up waiting for it after ${seconds} s; nothing was changed`,
    `try again when it has finished, or wait longer with --lock-timeout (a dead run's lease is taken over once it has gone ${abandonAfter} s without renewal); if no apply is running, see synapse-gitops force-unlock`,
  );
}

/** The apply lock as it stands: undefined when no apply holds it. */
export async function readLease(client: SynapseClient): Promise<LeaseInfo | undefined> {
  const me = await client.whoami();
  const alias = lockAlias(me.serverName);
  const roomId = await client.getRoomAlias(alias);
  if (roomId === undefined) return undefined;
  return inspect(client, alias, roomId, new Map([[me.userId, true]]), DEFAULT_LOCK_TTL_MS);
}

/**
 * Removes the apply lock, as `terraform force-unlock` does: only the lease named (so that a lease
 * taken meanwhile by another run is not removed by mistake). A run still holding it stops before
 * its next irreversible step, and starts no change after its next renewal. Returns the lease removed.
 */
export async function forceUnlock(client: SynapseClient, leaseId: string): Promise<LeaseInfo> {
  const current = await readLease(client);
  if (!current) throw new ToolError("no apply lock is held on this server; nothing was changed");
  if (current.leaseId !== leaseId) {
    throw new ToolError(
      `the apply lock's lease is ${current.leaseId}, not ${leaseId}; nothing was changed`,
      "run force-unlock without a lease ID to see the current lease",
    );
  }
  // A lease's room is deleted (which deletes the alias with it); a room that is not a lease is
  // someone else's, and only the alias goes.
  if (!current.notALease) await client.deleteRoom(leaseId);
  for (let i = 0; i < 50; i++) {
    if ((await client.getRoomAlias(current.alias)) !== leaseId) return current;
    if (current.notALease || i === 30) await client.deleteRoomAlias(current.alias);
    await sleep(100);
  }
  throw new ToolError(`the apply lock's alias ${current.alias} still points at ${leaseId}; try again`);
}
