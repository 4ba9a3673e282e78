// The benchmark suite (`npm run bench`). It measures ratios side by side in one run — absolute
// times on a shared machine are noise — prints a table (scenario, figures, ratio, target,
// pass/fail) and writes it as JSON. See the README's "Performance" section.
//
//   npm run bench                                  everything, at 10,000, 100,000 and 1,000,000 users
//   npm run bench -- --sizes 10000,100000          other sizes for the fake-Synapse scenarios ("none": skip them)
//   npm run bench -- --smoke                       tiny sizes: checks that it runs, not how fast
//   npm run bench -- --no-real                     without the real Synapse (nor the MAS pair)
//   npm run bench -- --mas-users N                 users of the MAS e-mails scenario (default 3000; "0": skip it)
//   npm run bench -- --reps N                      runs of each side of a comparison (default 5; 3 at 1,000,000)
//   npm run bench -- --cli PATH                    measure this build of the CLI instead of building one
//   npm run bench -- --rooms N --room-members M    the rooms case: N rooms of M members (default 100 × 1,000)
//   npm run bench -- --only-rooms                  of the real Synapse's cases, only the rooms case
//   npm run bench -- --postgres                    the real Synapse on PostgreSQL (default SQLite)
//   npm run bench -- --out FILE                    where the JSON goes (default bench/results/latest.json;
//                                                  with --smoke, a temporary file)
//
// The CLI is measured as its users run it: `node cli.js …` as a child process, built from the
// current source with the project's build (scripts/build.mjs) into a temporary directory.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type MasServer, masScenario } from "./lib/mas.js";
import { expectExit, measure, median, rssMethod } from "./lib/measure.js";
import { realScenarios } from "./lib/real.js";
import { count, formatTable, machine, type Results, type Row, round } from "./lib/report.js";
import { roomsScenario } from "./lib/rooms.js";
import { scaleScenario } from "./lib/scale.js";

const ROOT = resolve(import.meta.dirname, "..");

const { values } = parseArgs({
  options: {
    sizes: { type: "string" },
    smoke: { type: "boolean", default: false },
    "no-real": { type: "boolean", default: false },
    cli: { type: "string" },
    out: { type: "string" },
    reps: { type: "string" },
    "real-users": { type: "string" },
    deactivations: { type: "string" },
    "synadm-users": { type: "string" },
    "mas-users": { type: "string" },
    rooms: { type: "string" },
    "room-members": { type: "string" },
    "only-rooms": { type: "boolean", default: false },
    postgres: { type: "boolean", default: false },
  },
});

const smoke = values.smoke;
const number = (value: string | undefined, fallback: number, name: string): number => {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1`);
  return n;
};
const options = {
  sizes:
    values.sizes === "none"
      ? []
      : (values.sizes ?? (smoke ? "2000" : "10000,100000,1000000")).split(",").map((s) => number(s.trim(), 0, "sizes")),
  real: !values["no-real"],
  /** Runs of each side of a comparison; by default 5, and 3 from 1,000,000 users on (they take seconds each). */
  reps: values.reps === undefined ? undefined : number(values.reps, 0, "reps"),
  startupReps: smoke ? 3 : 15,
  realUsers: number(values["real-users"], smoke ? 70 : 5000, "real-users"),
  deactivations: number(values.deactivations, smoke ? 20 : 1000, "deactivations"),
  synadmUsers: number(values["synadm-users"], smoke ? 2 : 50, "synadm-users"),
  masUsers: values["mas-users"] === "0" ? 0 : number(values["mas-users"], smoke ? 60 : 3000, "mas-users"),
  rooms: number(values.rooms, smoke ? 3 : 100, "rooms"),
  roomMembers: number(values["room-members"], smoke ? 10 : 1000, "room-members"),
  onlyRooms: values["only-rooms"],
  /** The real Synapse on PostgreSQL rather than SQLite (faster to seed the rooms case: joins to different rooms persist side by side). */
  database: values.postgres ? "postgres" : "sqlite",
  /** The CLI's default --concurrency (src/cli.ts). */
  concurrency: 8,
};
if (options.real && options.realUsers < 2 * options.deactivations + options.synadmUsers) {
  throw new Error("--real-users must be at least 2 × --deactivations + --synadm-users");
}
const out = resolve(
  values.out ?? (smoke ? join(tmpdir(), "synapse-gitops-bench-smoke.json") : join(ROOT, "bench/results/latest.json")),
);

const log = (text: string) => process.stderr.write(`[bench] ${text}\n`);
const started = performance.now();
const workDir = mkdtempSync(join(tmpdir(), "synapse-gitops-bench-"));
process.on("exit", () => rmSync(workDir, { recursive: true, force: true }));

// The CLI under test.
let cli: string;
if (values.cli) {
  cli = resolve(values.cli);
} else {
  // Outside the tree (the linter would read it there), and deleted with the rest of the run's files.
  const buildDir = join(workDir, "build");
  log(`building the CLI into ${buildDir}`);
  execFileSync(process.execPath, [join(ROOT, "scripts/build.mjs"), buildDir], { stdio: "inherit", cwd: ROOT });
  // As installed, the bundles sit under the package's package.json, which says they are ES modules.
  // Without one, Node 20 parses each file a second time to find that out (~30 ms at every start).
  writeFileSync(join(buildDir, "package.json"), '{ "type": "module" }\n');
  cli = join(buildDir, "cli.js");
}
const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
expectExit(await measure(process.execPath, [cli, "--version"], { env: baseEnv }), "the CLI");
log(`peak memory measured with ${rssMethod()}`);

const rows: Row[] = [];

// 3. Start-up first: the machine is quietest before the servers start.
{
  const node: number[] = [];
  const version: number[] = [];
  for (let rep = 0; rep < options.startupReps; rep++) {
    node.push(expectExit(await measure(process.execPath, ["-e", "0"], { env: baseEnv }), "node -e 0").wallMs);
    version.push(expectExit(await measure(process.execPath, [cli, "--version"], { env: baseEnv }), "--version").wallMs);
  }
  const ratio = median(version) / median(node);
  rows.push({
    scenario: "start-up: synapse-gitops --version",
    figures: { versionMs: Math.round(median(version)), nodeMs: Math.round(median(node)), runs: options.startupReps },
    text: `--version ${Math.round(median(version))} ms, node -e 0 ${Math.round(median(node))} ms (median of ${options.startupReps})`,
    ratio: round(ratio),
    ratioOf: "--version / node -e 0",
    target: "≤ 3",
    pass: ratio <= 3,
  });
}

// 1. Plan at scale against the fake Synapse.
for (const size of options.sizes) {
  log(`plan at ${count(size)} users`);
  const reps = options.reps ?? (smoke ? 1 : size >= 1_000_000 ? 3 : 5);
  rows.push(...(await scaleScenario(size, { cli, workDir, reps, log })));
}

// 2. The real Synapse.
if (options.real) {
  // @ts-expect-error: a plain ESM script without type declarations, shared with the tests and the demo.
  const { startSynapse } = await import("../scripts/dev-synapse.mjs");
  log("starting a real Synapse");
  const server = (await startSynapse({ database: options.database })) as {
    url: string;
    token: string;
    serverName: string;
    adminUserId: string;
    stop: () => Promise<void>;
  };
  try {
    if (!options.onlyRooms)
      rows.push(
        ...(await realScenarios(server, {
          cli,
          workDir,
          users: options.realUsers,
          deactivations: options.deactivations,
          synadmUsers: options.synadmUsers,
          reps: options.reps ?? (smoke ? 1 : 5),
          concurrency: options.concurrency,
          log,
        })),
      );
    log(`rooms: ${options.rooms} rooms × ${count(options.roomMembers)} members`);
    rows.push(
      ...(await roomsScenario(server, {
        cli,
        workDir,
        rooms: options.rooms,
        members: options.roomMembers,
        reps: options.reps ?? (smoke ? 1 : 5),
        log,
      })),
    );
  } finally {
    await server.stop();
  }
}

// 4. A real Synapse in MAS mode with the stand-in MAS: a plan managing e-mails vs one without.
if (options.real && options.masUsers > 0) {
  // @ts-expect-error: a plain ESM script without type declarations, shared with the tests and the demo.
  const { startSynapse } = await import("../scripts/dev-synapse.mjs");
  log("starting a real Synapse in MAS mode, with the stand-in MAS");
  const server = (await startSynapse({ mas: true })) as MasServer & { stop: () => Promise<void> };
  try {
    rows.push(
      await masScenario(server, { cli, workDir, users: options.masUsers, reps: options.reps ?? (smoke ? 1 : 5), log }),
    );
  } finally {
    await server.stop();
  }
}

// A smoke run checks that the suite runs, not how fast: at its sizes the targets mean nothing.
if (smoke) {
  for (const row of rows) {
    if (row.pass !== null) Object.assign(row, { pass: null, note: "smoke run, not judged" });
  }
}

const results: Results = {
  formatVersion: 1,
  date: new Date().toISOString(),
  machine: machine(),
  options: { ...options, smoke },
  peakMemoryMethod: rssMethod(),
  durationS: Math.round((performance.now() - started) / 1000),
  rows,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
const m = results.machine;
process.stdout.write(
  `\n${formatTable(rows)}\n\n${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}; ${results.durationS} s; written to ${relative(process.cwd(), out) || out}\n`,
);
