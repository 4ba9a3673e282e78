#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  roomApplyMarkdown,
  roomPlanMarkdown
} from "./chunk-RRRXE2QY.js";
import {
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
  mdCode,
  mdText
} from "./chunk-5J3ZCMMJ.js";

// src/report/markdown.ts
var ICON = { create: "\u2795", update: "\u270F\uFE0F", deactivate: "\u26D4", erase: "\u{1F5D1}\uFE0F", reactivate: "\u267B\uFE0F" };
function renderMarkdown(report) {
  const { plan } = report;
  const out = [`### synapse-gitops ${report.command} for ${mdCode(plan.serverName)}`, "", `**${summaryLine(plan)}**`];
  const offline = snapshotLines(report, mdCode);
  if (offline) out.push("", ...offline.map((line) => `> ${line}`));
  if (plan.refusals.length > 0) {
    out.push("", `#### \u274C Refused (${plan.refusals.length}): nothing will be applied`, "");
    for (const r of plan.refusals) out.push(`- ${mdText(r.message)}${r.hint ? ` \u2014 _${mdText(r.hint)}_` : ""}`);
  }
  if (plan.actions.length > 0) {
    out.push("", "| | user | action | changes |", "|---|---|---|---|");
    for (const a of plan.actions) {
      const changes = a.changes.map(
        (c) => c.from === void 0 ? `${c.attribute}: ${formatValue(c.to, mdCode)}` : `${c.attribute}: ${formatFrom(c.from, mdCode, report)} \u2192 ${formatValue(c.to, mdCode)}`
      ).join("<br>");
      const what = describeAction(a, mdCode);
      out.push(`| ${ICON[a.kind]} | ${mdCode(a.userId)} | ${a.irreversible ? `**${what}**` : what} | ${changes} |`);
    }
  }
  const scheduled = scheduledEntries(plan, mdCode);
  if (scheduled.length > 0) {
    out.push("", `#### \u{1F4C5} ${scheduledHeading(plan, mdCode)}`, "");
    for (const s of scheduled) out.push(`- ${s.userId}: ${s.what}`);
  }
  out.push(...roomPlanMarkdown(plan));
  const listed = report.plan.policy.unmanaged === "ignore" ? [] : plan.unmanaged;
  if (listed.length > 0) {
    out.push("", `<details><summary>On the server but not in the file: ${listed.length}</summary>`, "");
    for (const u of listed) out.push(`- ${mdCode(u.userId)}${u.exempt ? ` (left alone: ${u.exempt})` : ""}`);
    out.push("", "</details>");
  }
  out.push("", policyLine(plan.policy, mdCode));
  if (plan.backend) out.push(backendLine(plan.backend));
  if (report.apply) {
    out.push("", `**${applySummaryLine(report.apply)}**`);
    const problems = report.apply.results.filter((r) => r.outcome !== "done");
    for (const r of problems)
      out.push(
        `- ${r.outcome}: ${r.action.kind} ${mdCode(r.action.userId)}${r.message ? ` \u2014 ${mdText(r.message)}` : ""}`
      );
    out.push(...roomApplyMarkdown(report.apply));
  }
  return `${out.join("\n")}
`;
}

export {
  renderMarkdown
};
