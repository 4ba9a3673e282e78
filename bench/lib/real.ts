// Against a real Synapse (scripts/dev-synapse.mjs): plan vs the bare fetch, apply of deactivations
// vs a bare API loop at the same concurrency, and vs Debian's synadm, one process per user.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { DEFAULT_PAGE_SIZE } from "../../src/synapse/client.js";
import { displaynameOf, localpartOf } from "../../test/fake-synapse/population.js";
import { summaryPattern, usersFileFor } from "./dataset.js";
import { expectExit, type Measured, measure, median } from "./measure.js";
import { count, type Row, round, seconds } from "./report.js";

export interface RealServer {
  url: string;
  token: string;
  serverName: string;
  adminUserId: string;
}

export interface RealOptions {
  cli: string;
  workDir: string;
  /** Users seeded for the run. */
  users: number;
  /** Deactivations by `apply`, and as many by the bare loop. */
  deactivations: number;
  /** Users deactivated by synadm, one process each. */
  synadmUsers: number;
  reps: number;
  /** The CLI's default --concurrency. */
  concurrency: number;
  log: (text: string) => void;
}

const FLOOR = join(import.meta.dirname, "floor.mjs");
const BARE_DEACTIVATE = join(import.meta.dirname, "deactivate.mjs");

async function mapConcurrent<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function realScenarios(server: RealServer, options: RealOptions): Promise<Row[]> {
  const { log } = options;
  const rows: Row[] = [];
  // A prefix of its own, so that a run sharing a server (the test suite's) touches only its users.
  const prefix = `b${randomBytes(3).toString("hex")}-`;
  const idOf = (i: number) => `@${prefix}${localpartOf(i)}:${server.serverName}`;
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SYNAPSE_URL: server.url,
    SYNAPSE_ADMIN_TOKEN: server.token,
  };
  const dispatcher = new Agent({ connections: 8, keepAliveTimeout: 10_000 });
  const admin = async (method: "GET" | "PUT" | "POST", path: string, body?: unknown) => {
    const res = await request(server.url + path, {
      method,
      dispatcher,
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300)
      throw new Error(`${method} ${path.split("?")[0]} answered ${res.statusCode}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as Record<string, unknown>;
  };

  try {
    // Seed.
    const seedStart = performance.now();
    const all = Array.from({ length: options.users }, (_, i) => i);
    await mapConcurrent(all, 8, async (i) => {
      await admin("PUT", `/_synapse/admin/v2/users/${encodeURIComponent(idOf(i))}`, { displayname: displaynameOf(i) });
    });
    const seedMs = performance.now() - seedStart;
    log(`seeded ${count(options.users)} users in ${seconds(seedMs)}`);

    // plan vs the bare fetch. The file covers this run's users only (unmanaged: ignore).
    const { text, expected } = usersFileFor(
      { count: options.users, deactivatedEvery: 0 },
      { prefix, unmanaged: "ignore" },
    );
    const planFile = join(options.workDir, "real-plan.yaml");
    writeFileSync(planFile, text);
    const plans: Measured[] = [];
    const floors: Measured[] = [];
    for (let rep = 0; rep < options.reps; rep++) {
      const floor = () => measure(process.execPath, [FLOOR, server.url, String(DEFAULT_PAGE_SIZE)], { env });
      const plan = () => measure(process.execPath, [options.cli, "plan", planFile], { env });
      // Side by side, each first in turn.
      if (rep % 2 === 0) {
        floors.push(expectExit(await floor(), "the bare fetch"));
        plans.push(expectExit(await plan(), "plan"));
      } else {
        plans.push(expectExit(await plan(), "plan"));
        floors.push(expectExit(await floor(), "the bare fetch"));
      }
      if (!summaryPattern(expected).test(plans.at(-1)!.stdout)) {
        throw new Error(
          `plan against the real Synapse did not plan what was expected:\n${plans.at(-1)!.stdout.slice(0, 500)}`,
        );
      }
    }
    const planMs = median(plans.map((m) => m.wallMs));
    const floorMs = median(floors.map((m) => m.wallMs));
    const listed = (JSON.parse(floors[0]!.stdout) as { users: number }).users;
    rows.push({
      scenario: `plan, ${count(options.users)} users (real Synapse)`,
      figures: {
        users: options.users,
        listed,
        planS: round(planMs / 1000, 3),
        floorS: round(floorMs / 1000, 3),
        seedS: round(seedMs / 1000, 1),
      },
      text: `plan ${seconds(planMs)}, bare fetch ${seconds(floorMs)} (${count(listed)} users listed)`,
      ratio: round(planMs / floorMs),
      ratioOf: "plan / bare fetch",
      target: null,
      pass: null,
    });

    // apply: n deactivations by the CLI, and as many by the bare loop, at the same concurrency. Each
    // on users of its own: [0, n) apply, [n, 2n) bare, then synadm's.
    const n = options.deactivations;
    const applyIds = Array.from({ length: n }, (_, i) => i);
    const bareIds = Array.from({ length: n }, (_, i) => n + i).map(idOf);
    const applyFile = join(options.workDir, "real-apply.yaml");
    writeFileSync(
      applyFile,
      `version: 1\npolicy:\n  unmanaged: ignore\n  maxDeactivations: ${n}\nusers:\n${applyIds.map((i) => `  ${prefix}${localpartOf(i)}: deactivated\n`).join("")}`,
    );
    // The bare loop runs in two halves, one before apply and one after (A-B-A), so that a machine
    // that gets busier or quieter during the run does not favour either side.
    const bareHalf = async (ids: string[]) => {
      const run = expectExit(
        await measure(process.execPath, [BARE_DEACTIVATE, server.url, String(options.concurrency)], {
          env,
          input: JSON.stringify(ids),
        }),
        "the bare deactivation loop",
      );
      const result = JSON.parse(run.stdout) as { done: number; failed: number };
      if (result.done !== ids.length)
        throw new Error(`the bare loop deactivated ${result.done} of ${ids.length} users`);
      return run.wallMs;
    };
    const half = Math.ceil(n / 2);
    const bareBefore = await bareHalf(bareIds.slice(0, half));
    const apply = expectExit(
      await measure(process.execPath, [options.cli, "apply", applyFile, "--yes"], { env }),
      "apply",
    );
    const bareAfter = await bareHalf(bareIds.slice(half));
    const bare = { wallMs: bareBefore + bareAfter };
    if (!new RegExp(`^Apply: ${n} done, 0 failed, 0 stale\\.$`, "m").test(apply.stdout)) {
      throw new Error(`apply did not deactivate all ${n} users:\n${apply.stdout.slice(-500)}`);
    }
    // The server agrees: every one of them is deactivated now.
    const states = await Promise.all(
      [applyIds[0]!, applyIds.at(-1)!].map((i) =>
        admin("GET", `/_synapse/admin/v2/users/${encodeURIComponent(idOf(i))}`),
      ),
    );
    if (!states.every((u) => u.deactivated === true))
      throw new Error("apply said done, but the users are not deactivated");
    const applyRate = n / (apply.wallMs / 1000);
    const bareRate = n / (bare.wallMs / 1000);
    const cpu = apply.cpuMs === undefined ? "" : `; apply's own CPU ${seconds(apply.cpuMs)}`;
    rows.push({
      scenario: `apply, ${count(n)} deactivations, concurrency ${options.concurrency} (real Synapse)`,
      figures: {
        deactivations: n,
        concurrency: options.concurrency,
        applyS: round(apply.wallMs / 1000, 2),
        ...(apply.cpuMs === undefined ? {} : { applyCpuS: round(apply.cpuMs / 1000, 2) }),
        bareS: round(bare.wallMs / 1000, 2),
        applyPerS: round(applyRate, 1),
        barePerS: round(bareRate, 1),
      },
      text: `apply ${round(applyRate, 1)}/s (${seconds(apply.wallMs)}${cpu}), bare loop ${round(bareRate, 1)}/s (${seconds(bare.wallMs)}, in halves before and after)`,
      ratio: round(applyRate / bareRate),
      ratioOf: "apply / bare loop",
      target: "≥ 0.9",
      pass: applyRate / bareRate >= 0.9,
    });

    // synadm, one process per user, as an admin would script it today.
    const synadm = spawnSync("synadm", ["--help"], { stdio: "ignore" });
    if (synadm.error || synadm.status !== 0) {
      rows.push({
        scenario: "apply vs synadm, one process per user (real Synapse)",
        figures: { installed: false },
        text: "synadm not installed",
        ratio: null,
        ratioOf: "apply / synadm",
        target: "≥ 20",
        pass: null,
        note: "synadm not installed",
      });
    } else {
      const dir = mkdtempSync(join(tmpdir(), "synapse-gitops-synadm-"));
      try {
        // synadm keeps its configuration (the token among it) in a file: a private one, deleted after.
        const config = join(dir, "synadm.yaml");
        writeFileSync(
          config,
          [
            `user: "${server.adminUserId}"`,
            `token: "${server.token}"`,
            `base_url: "${server.url}"`,
            'admin_path: "/_synapse/admin"',
            'matrix_path: "/_matrix"',
            "timeout: 30",
            'server_discovery: "well-known"',
            `homeserver: "${server.serverName}"`,
            'format: "json"',
            "",
          ].join("\n"),
        );
        chmodSync(config, 0o600);
        const ids = Array.from({ length: options.synadmUsers }, (_, i) => idOf(2 * n + i));
        let totalMs = 0;
        for (const id of ids) {
          const run = expectExit(
            await measure("synadm", ["-c", config, "--batch", "user", "deactivate", id], {
              env: { PATH: process.env.PATH, HOME: dir },
            }),
            `synadm user deactivate ${id}`,
          );
          totalMs += run.wallMs;
        }
        const check = await admin("GET", `/_synapse/admin/v2/users/${encodeURIComponent(ids.at(-1)!)}`);
        if (check.deactivated !== true) throw new Error("synadm exited 0, but the user is not deactivated");
        const synadmRate = ids.length / (totalMs / 1000);
        // dpkg-query's own field syntax, ${Version}: not a template placeholder.
        const format = "$" + "{Version}";
        const version = spawnSync("dpkg-query", ["-W", "-f", format, "synadm"], { encoding: "utf8" }).stdout || "?";
        rows.push({
          scenario: `apply vs synadm ${version}, ${count(ids.length)} users one process each (real Synapse)`,
          figures: {
            installed: true,
            version,
            users: ids.length,
            synadmS: round(totalMs / 1000, 2),
            synadmPerS: round(synadmRate, 2),
            applyPerS: round(applyRate, 1),
          },
          text: `synadm ${round(synadmRate, 2)}/s (${Math.round(totalMs / ids.length)} ms a user), apply ${round(applyRate, 1)}/s`,
          ratio: round(applyRate / synadmRate, 1),
          ratioOf: "apply / synadm",
          target: "≥ 20",
          pass: applyRate / synadmRate >= 20,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    return rows;
  } finally {
    await dispatcher.close();
  }
}
