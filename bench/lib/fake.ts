// The fake Synapse (test/fake-synapse/main.ts) as a separate process, seeded with a population.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Population } from "../../test/fake-synapse/population.js";

export interface RunningFake {
  url: string;
  token: string;
  serverName: string;
  adminUserId: string;
  stop(): Promise<void>;
}

const MAIN = new URL("../../test/fake-synapse/main.ts", import.meta.url).pathname;

export async function startFakeProcess(
  population: Population,
  env: Record<string, string | undefined>,
): Promise<RunningFake> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      MAIN,
      "--users",
      String(population.count),
      "--deactivated-every",
      String(population.deactivatedEvery),
    ],
    // The fake serves a million users: give it room (the heap it needs is not what is measured).
    { env: { ...env, NODE_OPTIONS: "--max-old-space-size=8192" }, stdio: ["pipe", "pipe", "inherit"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (first) => {
      lines.close();
      resolve(first);
    });
    child.once("exit", (code) => reject(new Error(`the fake Synapse exited (${code}) before it was ready`)));
    child.once("error", reject);
  });
  const info = JSON.parse(line) as { url: string; token: string; serverName: string; adminUserId: string };
  return {
    ...info,
    stop: async () => {
      child.stdin!.end(); // it stops when its input closes
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
