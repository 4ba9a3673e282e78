import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import type { ServerUnderTest } from "./servers.js";

/** The bundles built from the current source by test/setup/build.ts for this run. */
export const BUILD_DIR = join(import.meta.dirname, "../..", inject("buildDir"));
const CLI = join(BUILD_DIR, "cli.js");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a process, with no terminal and nothing on standard input. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export function serverEnv(server: ServerUnderTest): Record<string, string> {
  return { SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: server.token };
}

/** Writes files into a new temporary directory and returns its path. */
export function tempFiles(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "synapse-gitops-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
