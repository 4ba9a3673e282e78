// The workflow-log sink. The runner reads every line a step prints and runs the ones that are
// workflow commands: `::error::…`, `::add-mask::…`, `::set-output …` (a line starting `::` after
// leading spaces) and the older `##[command]…` form anywhere in a line. A report holds text from
// the users file and the server (display names, user IDs, error texts), so it must never be able
// to start one. GitHub's documented way: `::stop-commands::TOKEN` stops command processing until a
// line `::TOKEN::`; the token is random per call, so the text, written before it was drawn, cannot
// hold it. The text is also escaped as for a terminal: no carriage return (the runner splits lines
// at CR as well as LF), no escape sequences.
import { randomBytes } from "node:crypto";
import * as core from "@actions/core";
import { escapeTerminalLines } from "../report/escape.js";

/** Writes untrusted text (one or more lines) to the workflow log, where no line of it runs as a command. */
export function logUntrusted(text: string, write: (line: string) => void = core.info): void {
  const token = randomBytes(16).toString("hex");
  write(`::stop-commands::${token}`);
  write(escapeTerminalLines(text.replace(/\n$/, "")));
  write(`::${token}::`);
}
