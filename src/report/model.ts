import type { AttributeValue } from "../domain/attributes.js";
import { type Action, type ApplyResult, type Plan, planHasChanges } from "../domain/plan.js";
import { CHANGED_MARKER, isDigest } from "../snapshot/digest.js";
import type { NotCompared } from "../snapshot/snapshot.js";
import type { Escaper } from "./escape.js";

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

/**
 * "create", "create, then erase", "deactivate (not in the file)", "create with the password from
 * env NEW_USER_PASSWORD", … The password reference's name comes from the users file: it is passed
 * through `esc`, the sink's escaper (src/report/escape.ts); the rest is the tool's own words.
 */
export function describeAction(a: Action, esc: Escaper): string {
  let text: string = a.kind;
  if (a.kind === "create" && a.to !== "active") {
    text = a.to === "erased" ? "create, then erase (reserves the ID)" : "create, then deactivate (reserves the ID)";
  }
  if (a.reason === "unmanaged") text += " (not in the file; policy unmanaged: deactivate)";
  if (a.password) {
    text +=
      "env" in a.password
        ? ` with the password from env ${esc(a.password.env)}`
        : ` with the password from file ${esc(a.password.file)}`;
  }
  return a.irreversible ? `${text} — IRREVERSIBLE` : text;
}

/**
 * An attribute value as shown in a report: `"Pat"`, `[a@x.org, oidc:123]`, `true`, `(none)`. The
 * value comes from the users file or the server, so the whole of it goes through `esc`, the
 * sink's escaper (src/report/escape.ts): there is no unescaped form to forget to escape.
 */
export function formatValue(value: AttributeValue | undefined, esc: Escaper): string {
  return esc(plainValue(value));
}

function plainValue(value: AttributeValue | undefined): string {
  if (value === undefined || value === null) return "(none)";
  if (Array.isArray(value)) {
    return `[${(value as (string | { provider: string; id: string })[])
      .map((v) => (typeof v === "string" ? v : `${v.provider}:${v.id}`))
      .join(", ")}]`;
  }
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * The server's value of an attribute as a report shows it: "(changed)" where the plan was made
 * against a snapshot, which holds only a digest of it.
 */
export function formatFrom(value: AttributeValue | undefined, esc: Escaper, report: Pick<Report, "snapshot">): string {
  return report.snapshot && isDigest(value) ? CHANGED_MARKER : formatValue(value, esc);
}

/** The policy the plan was made under, in one line: every plan shows it, so loosening it is seen. */
export function policyLine(policy: Plan["policy"], esc: Escaper): string {
  const protectedList = policy.protected.length === 0 ? "none" : policy.protected.map(esc).join(", ");
  return `Policy: unmanaged ${policy.unmanaged}, maxDeactivations ${policy.maxDeactivations}, maxErasures ${policy.maxErasures}, protected: ${protectedList}.`;
}

/** Where an offline plan came from, and what it could not compare; undefined for a live plan. */
export function snapshotLines(report: Report, esc: Escaper): string[] | undefined {
  if (!report.snapshot) return undefined;
  const lines = [
    `Planned offline against the inventory snapshot ${report.snapshot.age}; apply plans again against the live server.`,
  ];
  for (const n of report.snapshot.notCompared) {
    lines.push(`Not compared (the snapshot did not read it): ${n.attribute} of ${esc(n.userId)}.`);
  }
  return lines;
}

export function summaryLine(plan: Plan): string {
  const s = plan.summary;
  if (!planHasChanges(plan) && plan.refusals.length === 0) return "No changes: the server matches the file.";
  return `Plan: ${s.create} to create, ${s.update} to update, ${s.deactivate} to deactivate, ${s.erase} to erase, ${s.reactivate} to reactivate.`;
}

export function applySummaryLine(result: ApplyResult): string {
  const s = result.summary;
  const parts = [`${s.done} done`, `${s.failed} failed`, `${s.stale} stale`];
  if (s["not-started"]) parts.push(`${s["not-started"]} not started`);
  return `Apply: ${parts.join(", ")}.`;
}
