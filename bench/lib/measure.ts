// Runs a command as a child process and measures it as its user would see it: wall time, exit code,
// output, and peak memory (the child's maximum resident set size).
//
// Peak memory comes from GNU time (`/usr/bin/time -f %M`), which reads the child's rusage without
// touching the child. Where GNU time is missing (the bench installs nothing), node commands get a
// preloaded module that reports process.resourceUsage().maxRSS on exit instead; the method used is
// recorded with the results.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Measured {
  wallMs: number;
  /** Kilobytes; undefined when it could not be measured (a command that is not node, without GNU time). */
  maxRssKb: number | undefined;
  /** CPU time (user + system) of the child, in milliseconds; undefined when not measured. */
  cpuMs: number | undefined;
  code: number;
  stdout: string;
  stderr: string;
}

export type RssMethod = "GNU time" | "preload (process.resourceUsage)";

const GNU_TIME = "/usr/bin/time";
let method: RssMethod | undefined;

export function rssMethod(): RssMethod {
  if (method === undefined) {
    const probe = spawnSync(GNU_TIME, ["--version"], { encoding: "utf8" });
    method =
      probe.status === 0 && /GNU/.test(`${probe.stdout}${probe.stderr}`)
        ? "GNU time"
        : "preload (process.resourceUsage)";
  }
  return method;
}

const PRELOAD = join(import.meta.dirname, "maxrss.cjs");
const scratch = mkdtempSync(join(tmpdir(), "synapse-gitops-bench-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
let runs = 0;

export interface MeasureOptions {
  env: Record<string, string | undefined>;
  cwd?: string;
  /** Written to the child's standard input, which is then closed. */
  input?: string;
}

/** Runs `command args…` (for node, `command` is process.execPath) and measures it. */
export function measure(command: string, args: string[], options: MeasureOptions): Promise<Measured> {
  const rssFile = join(scratch, `rss-${++runs}`);
  const isNode = command === process.execPath;
  let file = command;
  let argv = args;
  const env: Record<string, string | undefined> = { ...options.env };
  if (rssMethod() === "GNU time") {
    file = GNU_TIME;
    argv = ["-f", "%M %U %S", "-o", rssFile, command, ...args];
  } else if (isNode) {
    argv = ["--require", PRELOAD, ...args];
    env.BENCH_MAXRSS_FILE = rssFile;
  }
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, argv, { env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.stdin.on("error", () => {}); // a child that does not read its input
    child.stdin.end(options.input ?? "");
    child.on("close", (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      let maxRssKb: number | undefined;
      let cpuMs: number | undefined;
      try {
        // "KB USER SYS"; GNU time writes "Command exited with non-zero status N" before it when the command fails.
        const lines = readFileSync(rssFile, "utf8").trim().split("\n");
        const [kb, user, sys] = lines[lines.length - 1]!.split(" ").map(Number);
        if (Number.isFinite(kb) && kb! > 0) maxRssKb = kb;
        if (Number.isFinite(user) && Number.isFinite(sys)) cpuMs = (user! + sys!) * 1000;
      } catch {
        // not measured
      }
      resolve({
        wallMs,
        maxRssKb,
        cpuMs,
        code: code ?? (signal ? 128 : -1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Fails with the command's output when it did not exit as expected. */
export function expectExit(run: Measured, what: string, code = 0): Measured {
  if (run.code !== code) {
    throw new Error(
      `${what} exited with ${run.code}, expected ${code}\n--- stdout\n${run.stdout.slice(-2000)}\n--- stderr\n${run.stderr.slice(-2000)}`,
    );
  }
  return run;
}
