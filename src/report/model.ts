import type { ApplyResult } from "../apply/apply.js";
import type { Action, AttributeValue, Plan } from "../plan/types.js";
import type { NotCompared } from "../snapshot/snapshot.js";

/** What every reporter renders: one plan, and the apply result when there was one. */
export interface Report {
  command: "plan" | "apply";
  plan: Plan;
  apply?: ApplyResult;
  /**
   * Set when the plan was made offline, against an inventory snapshot: how old it is, and what the
   * snapshot could not compare. Values from such a server are digests (shown as "(changed)").
   */
  snapshot?: { age: string; notCompared: NotCompared[] };
}

export const SYMBOL: Record<Action["kind"], string> = {
  create: "+",
  update: "~",
  deactivate: "-",
  erase: "!",
  reactivate: "^",
};

/** "create", "create, then erase", "deactivate (not in the file)", … */
export function describeAction(a: Action): string {
  let text: string = a.kind;
  if (a.kind === "create" && a.to !== "active") {
    text = a.to === "erased" ? "create, then erase (reserves the ID)" : "create, then deactivate (reserves the ID)";
  }
  if (a.reason === "unmanaged") text += " (not in the file; policy unmanaged: deactivate)";
  if (a.password) text += " with the password from the file";
  return a.irreversible ? `${text} — IRREVERSIBLE` : text;
}

export function formatValue(value: AttributeValue | undefined): string {
  if (value === undefined || value === null) return "(none)";
  if (Array.isArray(value)) {
    return `[${(value as (string | { provider: string; id: string })[])
      .map((v) => (typeof v === "string" ? v : `${v.provider}:${v.id}`))
      .join(", ")}]`;
  }
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

export function summaryLine(plan: Plan): string {
  const s = plan.summary;
  if (plan.actions.length === 0 && plan.refusals.length === 0) return "No changes: the server matches the file.";
  return `Plan: ${s.create} to create, ${s.update} to update, ${s.deactivate} to deactivate, ${s.erase} to erase, ${s.reactivate} to reactivate.`;
}

export function applySummaryLine(result: ApplyResult): string {
  const s = result.summary;
  const parts = [`${s.done} done`, `${s.failed} failed`, `${s.stale} stale`];
  if (s["not-started"]) parts.push(`${s["not-started"]} not started`);
  return `Apply: ${parts.join(", ")}.`;
}
