import { DEFAULT_MAX_REMOVALS, type Policy } from "../domain/policy.js";

/** One way a policy differs from another, and whether it makes the tool less careful. */
export interface PolicyChange {
  setting: "unmanaged" | "maxDeactivations" | "maxErasures" | "maxRemovals" | "protected" | "erasure";
  /** In words: `maxDeactivations 10 → 100000`, `protected no longer lists @root:example.org`. */
  description: string;
  loosens: boolean;
}

/** How much each `unmanaged` setting lets the tool do to users outside the file. */
const UNMANAGED_REACH = { ignore: 0, report: 0, deactivate: 1 } as const;

/**
 * What changed between the policy of the base branch and the one a pull request proposes. Pure.
 * Loosening: a higher limit, `unmanaged: deactivate` newly on (or `ignore`, which hides users the
 * file does not name from every report), a protected user or pattern removed, `erasure: complete`
 * newly on.
 */
export function policyChanges(base: Policy, head: Policy): PolicyChange[] {
  const changes: PolicyChange[] = [];
  if (base.unmanaged !== head.unmanaged) {
    changes.push({
      setting: "unmanaged",
      description: `unmanaged ${base.unmanaged} → ${head.unmanaged}`,
      loosens: UNMANAGED_REACH[head.unmanaged] > UNMANAGED_REACH[base.unmanaged] || head.unmanaged === "ignore",
    });
  }
  for (const setting of ["maxDeactivations", "maxErasures"] as const) {
    if (base[setting] !== head[setting]) {
      changes.push({
        setting,
        description: `${setting} ${base[setting]} → ${head[setting]}`,
        loosens: head[setting] > base[setting],
      });
    }
  }
  // A complete erasure removes more, irreversibly (every message and upload): turning it on loosens.
  const [was, now] = [base.erasure ?? "standard", head.erasure ?? "standard"];
  if (was !== now)
    changes.push({ setting: "erasure", description: `erasure ${was} → ${now}`, loosens: now === "complete" });
  // Unset means the default: a file that starts setting it at the default changes nothing.
  const [baseRemovals, headRemovals] = [
    base.maxRemovals ?? DEFAULT_MAX_REMOVALS,
    head.maxRemovals ?? DEFAULT_MAX_REMOVALS,
  ];
  if (baseRemovals !== headRemovals) {
    changes.push({
      setting: "maxRemovals",
      description: `maxRemovals ${baseRemovals} → ${headRemovals}`,
      loosens: headRemovals > baseRemovals,
    });
  }
  const kept = new Set(head.protected);
  for (const pattern of base.protected) {
    if (!kept.has(pattern)) {
      changes.push({ setting: "protected", description: `protected no longer lists ${pattern}`, loosens: true });
    }
  }
  const had = new Set(base.protected);
  for (const pattern of head.protected) {
    if (!had.has(pattern)) {
      changes.push({ setting: "protected", description: `protected now lists ${pattern}`, loosens: false });
    }
  }
  return changes;
}
