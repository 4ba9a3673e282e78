// Fault injection: apply through a proxy that breaks requests on a seeded schedule, against the
// real Synapse. Every run must either converge or exit 1 with an accurate report; a re-run must
// converge; and no user may ever be in a state its planned action does not pass through.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
// @ts-expect-error: a plain ESM script without type declarations.
import { startSynapse } from "../../scripts/dev-synapse.mjs";
import type { AccountState } from "../../src/domain/account.js";
import type { SynapseClient } from "../../src/synapse/client.js";
import { runCli, tempFiles } from "../support/cli.js";
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy.js";
import { clientFor, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

// A Synapse of its own: runs broken on purpose may leave the apply lock behind until it expires,
// which must not hold up the other test files' applies.
let server: ServerUnderTest & { stop: () => Promise<void> };
let client: SynapseClient;
let proxy: FaultProxy;
beforeAll(async () => {
  const started = await startSynapse({ database: inject("database") });
  server = { kind: "real", ...started };
  client = clientFor(server);
  proxy = await startFaultProxy(server.url);
}, 180_000);
afterAll(async () => {
  await client?.close();
  await proxy?.close();
  await server?.stop();
});

type State = AccountState | "absent";
interface Case {
  name: string;
  from: State;
  entry: string; // the YAML value
  want: State;
  /** Every state the user may be seen in while its action runs: the path from `from` to `want`. */
  path: State[];
}

const CASES: Case[] = [
  { name: "new", from: "absent", entry: "\n    displayname: New Person", want: "active", path: ["absent", "active"] },
  {
    name: "reserved",
    from: "absent",
    entry: " deactivated",
    want: "deactivated",
    path: ["absent", "active", "deactivated"],
  },
  { name: "leaver", from: "active", entry: " deactivated", want: "deactivated", path: ["active", "deactivated"] },
  { name: "gdpr", from: "active", entry: " erased", want: "erased", path: ["active", "deactivated", "erased"] },
  {
    name: "back",
    from: "deactivated",
    entry: "\n    allowReactivation: true",
    want: "active",
    path: ["deactivated", "active"],
  },
  {
    name: "renamed",
    from: "active",
    entry: "\n    displayname: Renamed\n    admin: true",
    want: "active",
    path: ["active"],
  },
  { name: "gone", from: "deactivated", entry: " erased", want: "erased", path: ["deactivated", "erased"] },
];

const SEEDS = [11, 22, 33, 44, 55, 66, 77, 88];
// Alternating rates: a low one that retries and recovery absorb, a high one that makes runs fail and re-runs finish.
const faultProbability = (seed: number) => (seed % 2 === 0 ? 0.5 : 0.25);

describe("apply under injected faults (seeded)", () => {
  it(`converges or reports accurately, and never leaves a user off its path (${SEEDS.length} seeds)`, async () => {
    const tally = { runs: 0, failedRuns: 0, reruns: 0, converged: 0, wrongEndStates: 0 };
    for (const seed of SEEDS) {
      const users = CASES.map((c) => ({ ...c, localpart: uniqueLocalpart(`f${seed}-${c.name}`) }));
      const id = (u: { localpart: string }) => `@${u.localpart}:${server.serverName}`;
      for (const u of users) {
        if (u.from === "absent") continue;
        await client.createUser(id(u), { displayname: "Before" });
        if (u.from === "deactivated") await client.deactivate(id(u), { erase: false });
      }
      const yaml = `version: 1\npolicy:\n  unmanaged: ignore\n  maxErasures: 10\nusers:\n${users.map((u) => `  ${u.localpart}:${u.entry}\n`).join("")}`;
      const file = join(tempFiles({ "users.yaml": yaml }), "users.yaml");
      const env = { SYNAPSE_URL: proxy.url, SYNAPSE_ADMIN_TOKEN: server.token };

      const checkPaths = async (when: string) => {
        for (const u of users) {
          const state: State = (await client.findUser(id(u)))?.state ?? "absent";
          if (!u.path.includes(state)) {
            tally.wrongEndStates++;
            expect.fail(`seed ${seed}, ${when}: ${id(u)} is ${state}, off its path ${u.path.join(" → ")}`);
          }
        }
      };

      proxy.setSchedule(seed, faultProbability(seed));
      let run = await runCli(["apply", file, "--yes", "--retries", "2", "--timeout", "5"], env);
      tally.runs++;
      await checkPaths("after the first run");
      if (run.code !== 0) {
        tally.failedRuns++;
        expect(run.code, run.stderr).toBe(1);
        // Accurate report: a failed run names what was not done, or fails before changing anything with one line.
        expect(run.stdout.includes("Not done:") || /^error: /.test(run.stderr), `${run.stdout}\n${run.stderr}`).toBe(
          true,
        );
      }
      // Users the run reported done are in their desired state.
      for (const u of users) {
        if (
          run.stdout.includes(`  ok `) &&
          new RegExp(`^ {2}ok . ${id(u).replace(/[.]/g, "\\.")} `, "m").test(run.stdout)
        ) {
          expect((await client.findUser(id(u)))?.state ?? "absent").toBe(u.want);
        }
      }
      // Re-runs (still under faults) finish the job.
      for (let attempt = 0; run.code !== 0 && attempt < 5; attempt++) {
        run = await runCli(["apply", file, "--yes", "--retries", "2", "--timeout", "5"], env);
        tally.reruns++;
        await checkPaths(`after re-run ${attempt + 1}`);
      }
      expect(run.code, `seed ${seed} did not converge:\n${run.stdout}\n${run.stderr}`).toBe(0);
      tally.converged++;
      for (const u of users) expect((await client.findUser(id(u)))?.state ?? "absent", id(u)).toBe(u.want);
      proxy.setSchedule(seed, 0);
      const clean = await runCli(["plan", file, "--detailed-exitcode"], env);
      expect(clean.code, clean.stdout).toBe(0);
    }
    const faults = Object.fromEntries(proxy.injected);
    console.log(
      `fault injection: ${tally.runs} runs (+${tally.reruns} re-runs), ${proxy.counts.faults} faults injected in ${proxy.counts.requests} requests ${JSON.stringify(faults)}, ` +
        `${tally.runs - tally.failedRuns} runs converged at once, ${tally.converged}/${SEEDS.length} converged, wrong end states: ${tally.wrongEndStates}`,
    );
    expect(tally.wrongEndStates).toBe(0);
    expect(proxy.counts.faults).toBeGreaterThan(SEEDS.length); // the faults really happened
    expect(new Set(proxy.injected.keys()).size).toBe(7); // every kind of fault was exercised
  }, 300_000);
});
