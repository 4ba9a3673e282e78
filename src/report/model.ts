import type { AttributeValue } from "../domain/attributes.js";
import { type Action, type ApplyResult, type Plan, planHasChanges } from "../domain/plan.js";
import { timeUntil } from "../domain/schedule.js";
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
  snapshot?: { age: string; notCompared: NotCompared[]; roomsNotCompared?: string[] };
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
  if (a.purge) text = purgeText(a);
  if (a.reason === "unmanaged") text += " (not in the file; policy unmanaged: deactivate)";
  if (a.due !== undefined) text += ` (scheduled for ${esc(a.due)}, due)`;
  if (a.password) {
    text +=
      "env" in a.password
        ? ` with the password from env ${esc(a.password.env)}`
        : ` with the password from file ${esc(a.password.file)}`;
  }
  return a.irreversible ? `${text} — IRREVERSIBLE` : text;
}

/**
 * A complete erasure, with what it removes: "erase completely: redact 12 messages in 2 rooms, delete
 * 3 media"; from `erased`, "finish the complete erasure: …" (an earlier purge left these). The counts
 * are the tool's own numbers.
 */
function purgeText(a: Action): string {
  const p = a.purge!;
  const head = a.from === "erased" ? "finish the complete erasure" : "erase completely";
  if (p.rooms === null || p.messages === null || p.media === null) {
    return `${head}: redact the messages and delete the media (not counted offline)`;
  }
  const rooms = `${p.rooms} room${p.rooms === 1 ? "" : "s"}`;
  return `${head}: redact ${p.messages} message${p.messages === 1 ? "" : "s"} in ${rooms}, delete ${p.media} media`;
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
  return `Policy: unmanaged ${policy.unmanaged}, maxDeactivations ${policy.maxDeactivations}, maxErasures ${policy.maxErasures}${policy.erasure === "complete" ? ", erasure complete" : ""}, protected: ${protectedList}.`;
}

/** Which accounts backend ran: every live report says it (the tool's own words, no escaping needed). */
export function backendLine(backend: string): string {
  return backend === "mas"
    ? "Accounts backend: mas (Matrix Authentication Service, with Synapse for profiles)."
    : `Accounts backend: ${backend}.`;
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
  for (const key of report.snapshot.roomsNotCompared ?? []) {
    lines.push(`Not compared (the snapshot holds no such room; take it again from this file): room ${esc(key)}.`);
  }
  return lines;
}

/**
 * What the file schedules for later, one entry per step: the user (through `esc`) and
 * "deactivate on 2026-12-31 (in 29 days)" (the date as written, through `esc`). Empty when nothing is.
 */
export function scheduledEntries(plan: Plan, esc: Escaper): { userId: string; what: string }[] {
  const now = plan.now === undefined ? undefined : Date.parse(plan.now);
  return (plan.scheduled ?? []).map((step) => ({
    userId: esc(step.userId),
    what: `${step.kind} on ${esc(step.on)}${now === undefined ? "" : ` (${timeUntil(Date.parse(step.at), now)})`}`,
  }));
}

/** The heading of the scheduled steps, with the clock they were judged by. */
export function scheduledHeading(plan: Plan, esc: Escaper): string {
  return `Scheduled by the file, not due yet (${plan.scheduled?.length ?? 0}, as of ${esc(plan.now ?? "an unknown time")})`;
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
