import { applySummaryLine, describeAction, formatValue, type Report, summaryLine } from "./model.js";

const ICON = { create: "➕", update: "✏️", deactivate: "⛔", erase: "🗑️", reactivate: "♻️" } as const;

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** For pull-request comments and job summaries. */
export function renderMarkdown(report: Report): string {
  const { plan } = report;
  const out = [`### synapse-gitops ${report.command} for \`${plan.serverName}\``, "", `**${summaryLine(plan)}**`];
  if (plan.refusals.length > 0) {
    out.push("", `#### ❌ Refused (${plan.refusals.length}): nothing will be applied`, "");
    for (const r of plan.refusals) out.push(`- ${cell(r.message)}${r.hint ? ` — _${cell(r.hint)}_` : ""}`);
  }
  if (plan.actions.length > 0) {
    out.push("", "| | user | action | changes |", "|---|---|---|---|");
    for (const a of plan.actions) {
      const changes = a.changes
        .map((c) =>
          c.from === undefined
            ? `${c.attribute}: ${formatValue(c.to)}`
            : `${c.attribute}: ${formatValue(c.from)} → ${formatValue(c.to)}`,
        )
        .join("<br>");
      const what = a.irreversible ? `**${describeAction(a)}**` : describeAction(a);
      out.push(`| ${ICON[a.kind]} | \`${a.userId}\` | ${cell(what)} | ${cell(changes)} |`);
    }
  }
  const listed = report.plan.policy.unmanaged === "ignore" ? [] : plan.unmanaged;
  if (listed.length > 0) {
    out.push("", `<details><summary>On the server but not in the file: ${listed.length}</summary>`, "");
    for (const u of listed) out.push(`- \`${u.userId}\`${u.exempt ? ` (left alone: ${u.exempt})` : ""}`);
    out.push("", "</details>");
  }
  if (report.apply) {
    out.push("", `**${applySummaryLine(report.apply)}**`);
    const problems = report.apply.results.filter((r) => r.outcome !== "done");
    for (const r of problems)
      out.push(`- ${r.outcome}: ${r.action.kind} \`${r.action.userId}\`${r.message ? ` — ${cell(r.message)}` : ""}`);
  }
  return `${out.join("\n")}\n`;
}
