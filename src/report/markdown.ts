import { mdCode, mdText } from "./escape.js";
import {
  applySummaryLine,
  backendLine,
  describeAction,
  formatFrom,
  formatValue,
  policyLine,
  type Report,
  scheduledEntries,
  scheduledHeading,
  snapshotLines,
  summaryLine,
} from "./model.js";
import { roomApplyMarkdown, roomPlanMarkdown } from "./rooms.js";

// For pull-request comments, job summaries and the Matrix notice (rendered to HTML by marked).
// Every value from the users file or the server is written with mdCode (user IDs, attribute
// values, password reference names) or mdText (refusal and failure messages), so none can make a
// link, an image, HTML, emphasis, a heading, a mention, or break out of its table cell or row.

const ICON = { create: "➕", update: "✏️", deactivate: "⛔", erase: "🗑️", reactivate: "♻️" } as const;

/** For pull-request comments and job summaries. */
export function renderMarkdown(report: Report): string {
  const { plan } = report;
  const out = [`### synapse-gitops ${report.command} for ${mdCode(plan.serverName)}`, "", `**${summaryLine(plan)}**`];
  const offline = snapshotLines(report, mdCode);
  if (offline) out.push("", ...offline.map((line) => `> ${line}`));
  if (plan.refusals.length > 0) {
    out.push("", `#### ❌ Refused (${plan.refusals.length}): nothing will be applied`, "");
    for (const r of plan.refusals) out.push(`- ${mdText(r.message)}${r.hint ? ` — _${mdText(r.hint)}_` : ""}`);
  }
  if (plan.actions.length > 0) {
    out.push("", "| | user | action | changes |", "|---|---|---|---|");
    for (const a of plan.actions) {
      const changes = a.changes
        .map((c) =>
          c.from === undefined
            ? `${c.attribute}: ${formatValue(c.to, mdCode)}`
            : `${c.attribute}: ${formatFrom(c.from, mdCode, report)} → ${formatValue(c.to, mdCode)}`,
        )
        .join("<br>");
      const what = describeAction(a, mdCode);
      out.push(`| ${ICON[a.kind]} | ${mdCode(a.userId)} | ${a.irreversible ? `**${what}**` : what} | ${changes} |`);
    }
  }
  const scheduled = scheduledEntries(plan, mdCode);
  if (scheduled.length > 0) {
    out.push("", `#### 📅 ${scheduledHeading(plan, mdCode)}`, "");
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
        `- ${r.outcome}: ${r.action.kind} ${mdCode(r.action.userId)}${r.message ? ` — ${mdText(r.message)}` : ""}`,
      );
    out.push(...roomApplyMarkdown(report.apply));
  }
  return `${out.join("\n")}\n`;
}
