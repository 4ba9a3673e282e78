import type { DriftClass, DriftItem, DriftReport } from "../plan/drift.js";
import { DRIFT_ORDER } from "../plan/drift.js";
import { VERSION } from "../version.js";
import { type Escaper, mdCode, mdText, escapeTerminal as t } from "./escape.js";
import { backendLine, formatValue } from "./model.js";

const TITLE: Record<DriftClass, string> = {
  reactivated: "Reactivated behind the file's back (the file says deactivated or erased)",
  "deactivated-out-of-band": "Deactivated or erased, but active in the file",
  erasure: "Erasure differs from the file",
  "backends-disagree": "MAS and Synapse disagree",
  "synapse-only": "In Synapse but not in MAS",
  due: "Scheduled in the file, due, not yet applied",
  missing: "In the file but not on the server",
  attributes: "Attributes changed on the server",
  unmanaged: "On the server but not in the file",
  "member-left": "Declared room members who left (or never joined)",
  "member-invited": "Invited to a room that does not declare them",
  "member-joined": "Joined a room that does not declare them (by hand)",
  "power-level": "Power levels changed in a room",
};

/** One line; the server's name is written with `esc`, the sink's escaper (src/report/escape.ts). */
export function driftSummaryLine(report: DriftReport, esc: Escaper): string {
  if (!report.drifted) return `No drift: ${esc(report.serverName)} matches the file.`;
  const parts = DRIFT_ORDER.filter((c) => report.counts[c] > 0).map((c) => `${report.counts[c]} ${c}`);
  return `Drift on ${esc(report.serverName)}: ${parts.join(", ")}.`;
}

function itemLines(item: DriftItem, indent: string): string[] {
  const head = `${indent}${t(item.userId)}${item.room ? ` in ${t(item.room)}` : ""}: file says ${item.expected}, server has ${item.actual}`;
  return [
    head,
    ...(item.changes ?? []).map(
      (c) =>
        `${indent}    ${c.attribute}: ${formatValue(c.to, t)} in the file, ${formatValue(c.from, t)} on the server`,
    ),
    ...(item.hint ? [`${indent}    ${t(item.hint)}`] : []),
  ];
}

/** For a terminal: every value from the users file or the server goes through escapeTerminal (`t`). */
export function renderDriftText(report: DriftReport): string {
  const out = [driftSummaryLine(report, t)];
  if (report.backend) out.push(backendLine(report.backend));
  for (const cls of DRIFT_ORDER) {
    const items = report.items.filter((i) => i.class === cls);
    if (items.length === 0) continue;
    out.push("", `${TITLE[cls]} [${cls}] (${items.length}):`);
    for (const item of items) out.push(...itemLines(item, "  "));
  }
  return `${out.join("\n")}\n`;
}

/** `formatVersion: 1`; each item carries its `class`. */
export function renderDriftJson(report: DriftReport): string {
  return `${JSON.stringify(
    {
      formatVersion: 1,
      tool: { name: "synapse-gitops", version: VERSION },
      command: "drift",
      serverName: report.serverName,
      ...(report.backend ? { backend: report.backend } : {}),
      drifted: report.drifted,
      counts: report.counts,
      items: report.items,
    },
    null,
    2,
  )}\n`;
}

/** For the drift issue, job summaries and the Matrix notice: values through mdCode (src/report/escape.ts). */
export function renderDriftMarkdown(report: DriftReport): string {
  const out = [
    `### synapse-gitops drift for ${mdCode(report.serverName)}`,
    "",
    `**${driftSummaryLine(report, mdText)}**`,
    ...(report.backend ? ["", backendLine(report.backend)] : []),
  ];
  for (const cls of DRIFT_ORDER) {
    const items = report.items.filter((i) => i.class === cls);
    if (items.length === 0) continue;
    out.push("", `#### ${cls === "reactivated" ? "🚨 " : ""}${TITLE[cls]} — \`${cls}\` (${items.length})`, "");
    for (const item of items) {
      const changes = (item.changes ?? [])
        .map((c) => `${c.attribute}: ${formatValue(c.from, mdCode)} → ${formatValue(c.to, mdCode)}`)
        .join("; ");
      const hint = item.hint ? ` — _${mdText(item.hint)}_` : "";
      out.push(
        `- ${mdCode(item.userId)}${item.room ? ` in ${mdCode(item.room)}` : ""}: file says ${item.expected}, server has ${item.actual}${changes ? ` (${changes})` : ""}${hint}`,
      );
    }
  }
  return `${out.join("\n")}\n`;
}
