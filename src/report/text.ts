import type { Action, ActionResult } from "../domain/plan.js";
import { escapeTerminal as t } from "./escape.js";
import {
  applySummaryLine,
  backendLine,
  describeAction,
  formatFrom,
  formatValue,
  policyLine,
  type Report,
  SYMBOL,
  scheduledEntries,
  scheduledHeading,
  snapshotLines,
  summaryLine,
} from "./model.js";
import { roomApplyText, roomPlanText } from "./rooms.js";

// For a terminal (and the plain-text body of a Matrix notice, and the workflow log): every value
// from the users file or the server goes through escapeTerminal (`t`), so none can hold a newline,
// a carriage return or an escape sequence that erases or rewrites the lines around it (such as
// the "erase — IRREVERSIBLE" line shown before apply asks for confirmation).

/** One action as a head line and an indented line per attribute change (old → new). */
export function actionLines(a: Action, report: Pick<Report, "snapshot"> = {}): string[] {
  const lines = [`  ${SYMBOL[a.kind]} ${t(a.userId)}  ${describeAction(a, t)}`];
  for (const c of a.changes) {
    lines.push(
      c.from === undefined
        ? `      ${c.attribute}: ${formatValue(c.to, t)}`
        : `      ${c.attribute}: ${formatFrom(c.from, t, report)} → ${formatValue(c.to, t)}`,
    );
  }
  return lines;
}

export function resultLine(r: ActionResult): string {
  const mark = r.outcome === "done" ? "ok" : r.outcome;
  return `  ${mark.padEnd(6)} ${r.action.kind} ${t(r.action.userId)}${r.message ? `: ${t(r.message)}` : ""}`;
}

/** The plan for a terminal: summary, one entry per user, then refusals, then unmanaged users. */
export function renderPlanText(report: Report): string {
  const { plan } = report;
  const out = [summaryLine(plan), ...(snapshotLines(report, t) ?? [])];
  if (plan.actions.length > 0) {
    out.push("");
    for (const a of plan.actions) out.push(...actionLines(a, report));
  }
  out.push(...roomPlanText(plan));
  if (plan.refusals.length > 0) {
    out.push("", `Refused (${plan.refusals.length}); nothing will be applied until these are resolved:`);
    for (const r of plan.refusals) {
      out.push(`  x ${t(r.message)}`);
      if (r.hint) out.push(`      ${t(r.hint)}`);
    }
  }
  const scheduled = scheduledEntries(plan, t);
  if (scheduled.length > 0) {
    out.push("", `${scheduledHeading(plan, t)}:`);
    for (const s of scheduled) out.push(`    ${s.userId}  ${s.what}`);
  }
  const listed = report.plan.policy.unmanaged === "ignore" ? [] : plan.unmanaged;
  if (listed.length > 0) {
    out.push(
      "",
      `On the server but not in the file (${listed.length}, policy unmanaged: ${report.plan.policy.unmanaged}):`,
    );
    for (const u of listed) out.push(`    ${t(u.userId)}${u.exempt ? `  (left alone: ${u.exempt})` : ""}`);
  }
  out.push("", policyLine(plan.policy, t));
  if (plan.backend) out.push(backendLine(plan.backend));
  return `${out.join("\n")}\n`;
}

export function renderApplyText(report: Report): string {
  if (!report.apply) return "";
  const problems = report.apply.results.filter((r) => r.outcome !== "done");
  const lines = problems.length ? ["", "Not done:", ...problems.map(resultLine)] : [];
  return `${[...lines, "", applySummaryLine(report.apply), ...roomApplyText(report.apply)].join("\n")}\n`;
}
