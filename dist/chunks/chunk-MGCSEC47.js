#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  roomApplyText,
  roomPlanText
} from "./chunk-RRRXE2QY.js";
import {
  SYMBOL,
  applySummaryLine,
  backendLine,
  describeAction,
  formatFrom,
  formatValue,
  policyLine,
  scheduledEntries,
  scheduledHeading,
  snapshotLines,
  summaryLine
} from "./chunk-GMYKIWAC.js";
import {
  escapeTerminal
} from "./chunk-5J3ZCMMJ.js";

// src/report/text.ts
function actionLines(a, report = {}) {
  const lines = [`  ${SYMBOL[a.kind]} ${escapeTerminal(a.userId)}  ${describeAction(a, escapeTerminal)}`];
  for (const c of a.changes) {
    lines.push(
      c.from === void 0 ? `      ${c.attribute}: ${formatValue(c.to, escapeTerminal)}` : `      ${c.attribute}: ${formatFrom(c.from, escapeTerminal, report)} \u2192 ${formatValue(c.to, escapeTerminal)}`
    );
  }
  return lines;
}
function resultLine(r) {
  const mark = r.outcome === "done" ? "ok" : r.outcome;
  return `  ${mark.padEnd(6)} ${r.action.kind} ${escapeTerminal(r.action.userId)}${r.message ? `: ${escapeTerminal(r.message)}` : ""}`;
}
function renderPlanText(report) {
  const { plan } = report;
  const out = [summaryLine(plan), ...snapshotLines(report, escapeTerminal) ?? []];
  if (plan.actions.length > 0) {
    out.push("");
    for (const a of plan.actions) out.push(...actionLines(a, report));
  }
  out.push(...roomPlanText(plan));
  if (plan.refusals.length > 0) {
    out.push("", `Refused (${plan.refusals.length}); nothing will be applied until these are resolved:`);
    for (const r of plan.refusals) {
      out.push(`  x ${escapeTerminal(r.message)}`);
      if (r.hint) out.push(`      ${escapeTerminal(r.hint)}`);
    }
  }
  const scheduled = scheduledEntries(plan, escapeTerminal);
  if (scheduled.length > 0) {
    out.push("", `${scheduledHeading(plan, escapeTerminal)}:`);
    for (const s of scheduled) out.push(`    ${s.userId}  ${s.what}`);
  }
  const listed = report.plan.policy.unmanaged === "ignore" ? [] : plan.unmanaged;
  if (listed.length > 0) {
    out.push(
      "",
      `On the server but not in the file (${listed.length}, policy unmanaged: ${report.plan.policy.unmanaged}):`
    );
    for (const u of listed) out.push(`    ${escapeTerminal(u.userId)}${u.exempt ? `  (left alone: ${u.exempt})` : ""}`);
  }
  out.push("", policyLine(plan.policy, escapeTerminal));
  if (plan.backend) out.push(backendLine(plan.backend));
  return `${out.join("\n")}
`;
}
function renderApplyText(report) {
  if (!report.apply) return "";
  const problems = report.apply.results.filter((r) => r.outcome !== "done");
  const lines = problems.length ? ["", "Not done:", ...problems.map(resultLine)] : [];
  return `${[...lines, "", applySummaryLine(report.apply), ...roomApplyText(report.apply)].join("\n")}
`;
}

export {
  actionLines,
  resultLine,
  renderPlanText,
  renderApplyText
};
