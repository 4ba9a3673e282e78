import type { DriftPatch } from "../config/patch.js";
import type { DriftReport } from "../plan/drift.js";
import { type Escaper, escapeTerminal, escapeTerminalLines, mdCode, mdText } from "./escape.js";

/**
 * The unified diff for a terminal (`drift --format patch`, on standard output, so that it can be
 * saved and applied with `patch -p0` or `git apply -p0`). Lines of the file are untrusted: control
 * and format characters are shown as escapes (the patch writes control characters as escapes in
 * double quotes, but a format character such as a bidi override as it is), so a file holding one raw
 * prints a patch that does not apply as printed; `--write` writes the exact bytes.
 */
export function renderPatchText(patch: DriftPatch): string {
  return escapeTerminalLines(patch.diff);
}

/**
 * What the patch takes and leaves, for the operator (standard error) or the drift issue: `value`
 * escapes user IDs and file names for the sink, `prose` the notes and reasons.
 */
export function patchSummaryLines(patch: DriftPatch, value: Escaper, prose: Escaper): string[] {
  const out: string[] = [];
  if (patch.accepted > 0) {
    const files = patch.files.map((f) => value(f.name)).join(", ");
    out.push(`The patch takes ${patch.accepted} drifted user${patch.accepted === 1 ? "" : "s"} into ${files}.`);
  }
  for (const note of patch.notes) out.push(`${value(note.userId)}: ${prose(note.text)}`);
  for (const left of patch.left)
    out.push(`Left as the file says: ${value(left.userId)} [${left.class}]: ${prose(left.reason)}`);
  return out;
}

export function renderPatchSummaryText(patch: DriftPatch): string {
  const lines = patchSummaryLines(patch, escapeTerminal, escapeTerminal);
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

/** The longest patch the drift issue shows; a longer one is left to the command that prints it. */
export const MAX_ISSUE_PATCH = 30_000;

/**
 * For the drift issue: the two ways to end the drift — `apply` (the server made to match the file
 * again: what was done on the server is undone) or the patch (the file made to match the server:
 * what was done is accepted) — with the commands. The patch is in a fence longer than any run of
 * backticks in it, so nothing in the file can end it.
 */
export function renderPatchMarkdown(report: DriftReport, patch: DriftPatch, config: string): string {
  if (!report.drifted) return "";
  const file = mdCode(config);
  const out = [
    "",
    "### Two ways to end this drift",
    "",
    `**Undo it** — make the server match the file again (review the plan it shows first): ${mdCode(`synapse-gitops apply ${config}`)}`,
    ...(report.counts.unmanaged > 0
      ? ["(apply deactivates users that are only on the server under `unmanaged: deactivate` only)"]
      : []),
    "",
  ];
  if (patch.files.length === 0) {
    out.push("**Accept it** — nothing in the file can take this drift:", "");
  } else {
    out.push(
      `**Accept it** — make the file match the server: commit this change to ${file} (or run ${mdCode(`synapse-gitops drift ${config} --format patch --write`)}).`,
      "",
    );
  }
  for (const line of patchSummaryLines(patch, mdCode, mdText)) out.push(`- ${line}`);
  if (patch.files.length > 0) {
    if (patch.diff.length > MAX_ISSUE_PATCH) {
      out.push(
        "",
        `The patch is ${patch.diff.length} characters long, too long for this issue: ${mdCode(`synapse-gitops drift ${config} --format patch`)} prints it.`,
      );
    } else {
      const diff = escapeTerminalLines(patch.diff);
      const longest = Math.max(0, ...[...diff.matchAll(/`+/g)].map((m) => m[0].length));
      const fence = "`".repeat(Math.max(3, longest + 1));
      out.push("", `${fence}diff`, diff.replace(/\n$/, ""), fence);
    }
  }
  return `${out.join("\n")}\n`;
}
