// The benchmark's results: rows with figures, a ratio, a target and pass/fail, printed as a table
// and written as JSON.
import { cpus, totalmem } from "node:os";

export interface Row {
  /** What was measured, e.g. "plan, 100,000 users (fake Synapse)". */
  scenario: string;
  /** The measured figures, machine-readable (seconds, MB, users/s…), medians where repeated. */
  figures: Record<string, number | string | boolean>;
  /** The same figures for people. */
  text: string;
  /** The ratio the target is about, or null when there is none. */
  ratio: number | null;
  /** What the ratio (or figure) is, e.g. "plan / floor". */
  ratioOf: string | null;
  /** e.g. "≤ 1.3"; null when the row only reports. */
  target: string | null;
  /** null when there is no target, or the row could not be measured (see note). */
  pass: boolean | null;
  note?: string;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
}

export interface Results {
  formatVersion: 1;
  date: string;
  machine: Machine;
  options: Record<string, unknown>;
  peakMemoryMethod: string;
  durationS: number;
  rows: Row[];
}

export function machine(): Machine {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
export const megabytes = (kb: number) => `${Math.round((kb * 1024) / 1e6)} MB`;
export const count = (n: number) => n.toLocaleString("en-US");
export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export function formatTable(rows: Row[]): string {
  const header = ["scenario", "figures", "ratio", "target", "result"];
  const cells = rows.map((r) => [
    r.scenario,
    r.text,
    r.ratio === null ? "—" : `${r.ratio.toFixed(2)}${r.ratioOf ? ` (${r.ratioOf})` : ""}`,
    r.target ?? "—",
    r.pass === null ? (r.note ? `n/a: ${r.note}` : "—") : r.pass ? "pass" : "FAIL",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...cells.map(line)].join("\n");
}
