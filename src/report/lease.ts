import { abandonMarginMs, describeHolder, type LeaseInfo } from "../domain/lease.js";
import { escapeTerminal as t } from "./escape.js";

/** The apply lock as `force-unlock` shows it. The holder's fields come from the server: escaped. */
export function renderLeaseText(lease: LeaseInfo): string {
  const when = (ms: number | undefined) => (ms === undefined ? "unknown" : new Date(ms).toISOString());
  if (!lease.holder) {
    return `The apply lock's alias ${t(lease.alias)} points at ${t(lease.leaseId)}, which is not a synapse-gitops lease (${t(lease.notALease ?? "")}). apply removes such an alias by itself.\n`;
  }
  const abandon = lease.ttlMs + abandonMarginMs(lease.ttlMs);
  const lines = [
    "The apply lock on this server is held:",
    `  lease    ${t(lease.leaseId)}`,
    `  holder   ${t(describeHolder(lease))}`,
    `  started  ${when(lease.startedAt)} by the holder's clock`,
    `  renewed  ${when(lease.lastSeen)} by the server's clock (renewal ${lease.renewals ?? "?"}, every ${Math.round(lease.ttlMs / 3000)} s)`,
    `  expiry   an apply that finds it not renewed for ${Math.round(abandon / 1000)} s takes it over${
      lease.lastSeen === undefined ? "" : ` (if not renewed: after ${new Date(lease.lastSeen + abandon).toISOString()})`
    }`,
  ];
  return `${lines.join("\n")}\n`;
}
