// The apply lock as it stands on a server: what the lock code reads and force-unlock shows.

export interface LeaseHolder {
  /** The admin user that took the lease. */
  userId: string;
  host: string;
  pid: number;
  /** The holder's synapse-gitops version. */
  version: string;
}

/** The apply lock as it stands on the server. */
export interface LeaseInfo {
  /** The lease's ID: the ID of the room the lock's alias points to. */
  leaseId: string;
  alias: string;
  /** Who holds it; undefined when the alias points at something that is not a lease (see `notALease`). */
  holder?: LeaseHolder;
  /** Set when the alias points at a room that is not a synapse-gitops lease: why not. apply removes such an alias. */
  notALease?: string;
  /** When the holder took it, and last renewed it (the holder's clock, ms). */
  startedAt?: number;
  renewedAt?: number;
  /** How many times it was renewed. */
  renewals?: number;
  /** The holder's ttl: the lease counts as abandoned once it has not changed for this long (plus a margin). */
  ttlMs: number;
  /** When the server stored the latest renewal (the server's clock, ms). */
  lastSeen?: number;
}

/** How long after its ttl an unchanged lease is still given (renewals take a request or two). */
export function abandonMarginMs(ttlMs: number): number {
  return Math.min(10_000, Math.max(1_000, ttlMs / 4));
}

/** "@admin:example.org on host ci-7 (pid 4242), synapse-gitops 1.2.0" */
export function describeHolder(lease: LeaseInfo): string {
  const h = lease.holder;
  if (!h) return `not a lease: ${lease.notALease ?? "unknown"}`;
  return `${h.userId} on host ${h.host} (pid ${h.pid}), synapse-gitops ${h.version}`;
}
