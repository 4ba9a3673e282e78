import { escapeTerminalLines } from "./escape.js";

/**
 * What the CLI prints for an error it did not expect (a bug): the stack, escaped for a terminal,
 * since a `bug:` message may quote the users file or a server's answer.
 */
export function crashText(e: unknown): string {
  const detail = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
  return `synapse-gitops: unexpected error (a bug; please report it)\n${escapeTerminalLines(detail)}\n`;
}
