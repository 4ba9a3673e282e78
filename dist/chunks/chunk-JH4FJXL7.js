#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  escapeTerminal,
  escapeTerminalLines,
  mdCode,
  mdText
} from "./chunk-5J3ZCMMJ.js";

// src/report/patch.ts
function renderPatchText(patch) {
  return escapeTerminalLines(patch.diff);
}
function patchSummaryLines(patch, value, prose) {
  const out = [];
  if (patch.accepted > 0) {
    const files = patch.files.map((f) => value(f.name)).join(", ");
    out.push(`The patch takes ${patch.accepted} drifted user${patch.accepted === 1 ? "" : "s"} into ${files}.`);
  }
  for (const note of patch.notes) out.push(`${value(note.userId)}: ${prose(note.text)}`);
  for (const left of patch.left)
    out.push(`Left as the file says: ${value(left.userId)} [${left.class}]: ${prose(left.reason)}`);
  return out;
}
function renderPatchSummaryText(patch) {
  const lines = patchSummaryLines(patch, escapeTerminal, escapeTerminal);
  return lines.length > 0 ? `${lines.join("\n")}
` : "";
}
var MAX_ISSUE_PATCH = 3e4;
function renderPatchMarkdown(report, patch, config) {
  if (!report.drifted) return "";
  const file = mdCode(config);
  const out = [
    "",
    "### Two ways to end this drift",
    "",
    `**Undo it** \u2014 make the server match the file again (review the plan it shows first): ${mdCode(`synapse-gitops apply ${config}`)}`,
    ...report.counts.unmanaged > 0 ? ["(apply deactivates users that are only on the server under `unmanaged: deactivate` only)"] : [],
    ""
  ];
  if (patch.files.length === 0) {
    out.push("**Accept it** \u2014 nothing in the file can take this drift:", "");
  } else {
    out.push(
      `**Accept it** \u2014 make the file match the server: commit this change to ${file} (or run ${mdCode(`synapse-gitops drift ${config} --format patch --write`)}).`,
      ""
    );
  }
  for (const line of patchSummaryLines(patch, mdCode, mdText)) out.push(`- ${line}`);
  if (patch.files.length > 0) {
    if (patch.diff.length > MAX_ISSUE_PATCH) {
      out.push(
        "",
        `The patch is ${patch.diff.length} characters long, too long for this issue: ${mdCode(`synapse-gitops drift ${config} --format patch`)} prints it.`
      );
    } else {
      const diff = escapeTerminalLines(patch.diff);
      const longest = Math.max(0, ...[...diff.matchAll(/`+/g)].map((m) => m[0].length));
      const fence = "`".repeat(Math.max(3, longest + 1));
      out.push("", `${fence}diff`, diff.replace(/\n$/, ""), fence);
    }
  }
  return `${out.join("\n")}
`;
}

export {
  renderPatchText,
  patchSummaryLines,
  renderPatchSummaryText,
  MAX_ISSUE_PATCH,
  renderPatchMarkdown
};
