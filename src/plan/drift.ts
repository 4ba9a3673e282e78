import { attributeChanges } from "./attributes.js";
import { globMatcher, unmanagedExemption } from "./plan.js";
import type { AttributeChange, PlanInput } from "./types.js";

/**
 * How the server differs from the file, by kind — not all drift is equal:
 * - `reactivated`: the file says deactivated or erased and the user is active. The dangerous one
 *   (a departed person can sign in again): listed first.
 * - `deactivated-out-of-band`: the file says active and the user is deactivated or erased.
 * - `erasure`: deactivated vs erased disagree (the file says erased and the user is only
 *   deactivated — e.g. a failed reactivation that un-erased it — or the other way round).
 * - `missing`: declared in the file, absent from the server.
 * - `attributes`: an active user whose managed attributes differ (old → new).
 * - `unmanaged`: an active user that is not in the file (under `unmanaged: report`, or under
 *   `deactivate` when the policy would deactivate it).
 */
export type DriftClass = "reactivated" | "deactivated-out-of-band" | "erasure" | "missing" | "attributes" | "unmanaged";

export const DRIFT_ORDER: readonly DriftClass[] = [
  "reactivated",
  "deactivated-out-of-band",
  "erasure",
  "missing",
  "attributes",
  "unmanaged",
];

export interface DriftItem {
  class: DriftClass;
  userId: string;
  /** What the file says and what the server has. */
  expected: string;
  actual: string;
  changes?: AttributeChange[];
}

export interface DriftReport {
  serverName: string;
  drifted: boolean;
  counts: Record<DriftClass, number>;
  items: DriftItem[];
}

/** Pure: the same inputs as the planner, compared rather than planned. */
export function detectDrift(input: PlanInput): DriftReport {
  const items: DriftItem[] = [];
  for (const [userId, want] of input.desired) {
    const have = input.actual.get(userId);
    if (!have) {
      items.push({ class: "missing", userId, expected: want.state, actual: "absent" });
      continue;
    }
    if (have.state === want.state) {
      if (have.state !== "active") continue;
      const changes = attributeChanges(want, have);
      if (changes.length > 0)
        items.push({ class: "attributes", userId, expected: "active", actual: "active", changes });
      continue;
    }
    const cls: DriftClass =
      have.state === "active" ? "reactivated" : want.state === "active" ? "deactivated-out-of-band" : "erasure";
    items.push({ class: cls, userId, expected: want.state, actual: have.state });
  }
  if (input.policy.unmanaged !== "ignore") {
    const isProtected = globMatcher(input.policy.protected);
    for (const have of input.actual.values()) {
      // Under `deactivate`, users the policy spares (bridges, guests, own, protected) are not drift:
      // apply would leave them as they are.
      const spared =
        input.policy.unmanaged === "deactivate" && unmanagedExemption(have, input.ownUserId, isProtected) !== undefined;
      if (have.state === "active" && !input.desired.has(have.userId) && !spared) {
        items.push({ class: "unmanaged", userId: have.userId, expected: "not in the file", actual: "active" });
      }
    }
  }
  const rank = new Map(DRIFT_ORDER.map((c, i) => [c, i]));
  items.sort(
    (a, b) => rank.get(a.class)! - rank.get(b.class)! || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0),
  );
  const counts = Object.fromEntries(DRIFT_ORDER.map((c) => [c, 0])) as Record<DriftClass, number>;
  for (const item of items) counts[item.class]++;
  return { serverName: input.serverName, drifted: items.length > 0, counts, items };
}
