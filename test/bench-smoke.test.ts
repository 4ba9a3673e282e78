// The benchmark suite at a tiny size (`npm run bench -- --smoke`), so that it keeps running as the
// code changes. It checks that the suite runs and writes well-formed rows, never how fast anything
// is: timings in tests are noise. The real-Synapse part uses the test run's server (its users have a
// prefix of their own and its files say `unmanaged: ignore`), and the CLI the global setup built.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, inject, it, onTestFinished } from "vitest";

const ROOT = join(import.meta.dirname, "..");

function run(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
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

it("npm run bench -- --smoke runs every scenario and writes well-formed rows", async () => {
  const synapse = inject("synapse");
  const dir = mkdtempSync(join(tmpdir(), "synapse-gitops-bench-smoke-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, "results.json");
  const result = await run(
    ["--import", "tsx", "bench/run.ts", "--smoke", "--cli", join(ROOT, inject("buildDir"), "cli.js"), "--out", out],
    {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SYNAPSE_TEST_URL: synapse.url,
      SYNAPSE_TEST_ADMIN_TOKEN: synapse.token,
    },
  );
  expect(result.stderr).not.toMatch(/Error|error:/);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^\| scenario +\| figures +\| ratio +\| target +\| result +\|$/m);
  // The token never appears in what the bench prints or writes.
  expect(result.stdout + result.stderr).not.toContain(synapse.token);
  const text = readFileSync(out, "utf8");
  expect(text).not.toContain(synapse.token);

  const results = JSON.parse(text);
  expect(results).toMatchObject({ formatVersion: 1, machine: { cpus: expect.any(Number), node: process.version } });
  const rows = results.rows as Record<string, unknown>[];
  for (const row of rows) {
    expect(row).toEqual({
      scenario: expect.any(String),
      figures: expect.any(Object),
      text: expect.any(String),
      ratio: row.ratio === null ? null : expect.any(Number),
      ratioOf: row.ratioOf === null ? null : expect.any(String),
      target: row.target === null ? null : expect.any(String),
      // A smoke run judges nothing.
      pass: null,
      ...(row.note === undefined ? {} : { note: expect.any(String) }),
    });
    if (row.ratio !== null) expect(row.ratio).toBeGreaterThan(0);
  }
  const scenarios = rows.map((r) => r.scenario as string);
  for (const expected of [
    /^start-up/,
    /^plan, 2,000 users \(fake Synapse\)$/,
    /^peak memory of plan, 2,000 users$/,
    /^YAML parse and validate, 2,000 users$/,
    /^plan, 70 users \(real Synapse\)$/,
    /^apply, 20 deactivations/,
    /^apply vs synadm/,
    /^plan, 3 rooms × 10 members \(real Synapse\)$/,
  ]) {
    expect(
      scenarios.some((s) => expected.test(s)),
      `a row for ${expected}`,
    ).toBe(true);
  }
}, 300_000); // a whole bench run, MAS pair and rooms included: minutes on a busy 2-core machine, never judged here
