// Plan at scale against the fake Synapse: `plan` side by side with its floor (a bare loop that only
// fetches every page), peak memory, the YAML parse on its own, and `validate`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_PAGE_SIZE } from "../../src/synapse/client.js";
import type { Population } from "../../test/fake-synapse/population.js";
import { summaryPattern, usersFileFor } from "./dataset.js";
import { startFakeProcess } from "./fake.js";
import { expectExit, type Measured, measure, median } from "./measure.js";
import { count, megabytes, type Row, round, seconds } from "./report.js";

export interface ScaleOptions {
  cli: string;
  workDir: string;
  reps: number;
  log: (text: string) => void;
}

const FLOOR = join(import.meta.dirname, "floor.mjs");
const PARSE_TIME = join(import.meta.dirname, "parse-time.ts");

/** The issue's targets, by size; other sizes only report. */
const RATIO_TARGET: Record<number, number> = { 100000: 1.3, 1000000: 1.3 };
const MEMORY_TARGET_BYTES: Record<number, number> = { 100000: 300e6, 1000000: 1.5e9 };
const PLAN_SECONDS_TARGET: Record<number, number> = { 100000: 5 };

export async function scaleScenario(size: number, options: ScaleOptions): Promise<Row[]> {
  const { log } = options;
  // 2% of the server's users are deactivated (and say so in the file).
  const population: Population = { count: size, deactivatedEvery: 50 };
  const { text, expected } = usersFileFor(population);
  const file = join(options.workDir, `users-${size}.yaml`);
  writeFileSync(file, text);
  const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME };

  const fake = await startFakeProcess(population, baseEnv);
  log(`fake Synapse with ${count(size)} users on ${fake.url}`);
  try {
    const env = { ...baseEnv, SYNAPSE_URL: fake.url, SYNAPSE_ADMIN_TOKEN: fake.token };
    const plans: Measured[] = [];
    const floors: Measured[] = [];
    const floor = () => measure(process.execPath, [FLOOR, fake.url, String(DEFAULT_PAGE_SIZE)], { env });
    const plan = () => measure(process.execPath, [options.cli, "plan", file], { env });
    for (let rep = 0; rep < options.reps; rep++) {
      // Side by side, each first in turn, so that neither always runs on a warmer (or busier) machine.
      if (rep % 2 === 0) {
        floors.push(expectExit(await floor(), "the floor"));
        plans.push(expectExit(await plan(), "plan"));
      } else {
        plans.push(expectExit(await plan(), "plan"));
        floors.push(expectExit(await floor(), "the floor"));
      }
      const last = plans.at(-1)!;
      if (!summaryPattern(expected).test(last.stdout)) {
        throw new Error(`plan of ${count(size)} users did not plan what was expected:\n${last.stdout.slice(0, 500)}`);
      }
      log(`  ${count(size)}: plan ${seconds(last.wallMs)}, floor ${seconds(floors.at(-1)!.wallMs)}`);
    }
    const listed = (JSON.parse(floors[0]!.stdout) as { users: number }).users;
    if (listed !== size + 1) throw new Error(`the floor listed ${listed} users, expected ${size + 1}`);

    const validate = expectExit(
      await measure(process.execPath, [options.cli, "validate", file], { env: baseEnv }),
      "validate",
    );
    const parse = JSON.parse(
      expectExit(
        await measure(process.execPath, ["--import", "tsx", PARSE_TIME, file], { env: baseEnv }),
        "the parse timer",
      ).stdout,
    ) as { parseMs: number; fastPath: boolean };

    const planMs = median(plans.map((m) => m.wallMs));
    const floorMs = median(floors.map((m) => m.wallMs));
    const rss = (runs: Measured[]) => Math.max(...runs.map((m) => m.maxRssKb ?? Number.NaN));
    const planKb = rss(plans);
    const floorKb = rss(floors);
    const ratio = planMs / floorMs;
    const ratioTarget = RATIO_TARGET[size];
    const memoryTarget = MEMORY_TARGET_BYTES[size];
    const secondsTarget = PLAN_SECONDS_TARGET[size];
    const users = `${count(size)} users`;
    const rows: Row[] = [
      {
        scenario: `plan, ${users} (fake Synapse)`,
        figures: {
          users: size,
          fileMB: round(text.length / 1e6, 1),
          planS: round(planMs / 1000, 3),
          floorS: round(floorMs / 1000, 3),
          runs: options.reps,
          planSamplesS: plans.map((m) => round(m.wallMs / 1000, 3)).join(" "),
          floorSamplesS: floors.map((m) => round(m.wallMs / 1000, 3)).join(" "),
        },
        text: `plan ${seconds(planMs)}, floor ${seconds(floorMs)} (median of ${options.reps})`,
        ratio: round(ratio),
        ratioOf: "plan / floor",
        target: ratioTarget === undefined ? null : `≤ ${ratioTarget}`,
        pass: ratioTarget === undefined ? null : ratio <= ratioTarget,
      },
      {
        scenario: `peak memory of plan, ${users}`,
        figures: {
          users: size,
          planMaxRssMB: Math.round((planKb * 1024) / 1e6),
          floorMaxRssMB: Math.round((floorKb * 1024) / 1e6),
        },
        text: Number.isNaN(planKb)
          ? "not measured"
          : `plan ${megabytes(planKb)}, floor ${megabytes(floorKb)} (max RSS)`,
        ratio: null,
        ratioOf: null,
        target:
          memoryTarget === undefined
            ? null
            : `≤ ${memoryTarget >= 1e9 ? `${memoryTarget / 1e9} GB` : `${memoryTarget / 1e6} MB`}`,
        pass: memoryTarget === undefined || Number.isNaN(planKb) ? null : planKb * 1024 <= memoryTarget,
        ...(Number.isNaN(planKb) ? { note: "peak memory not measured" } : {}),
      },
      {
        scenario: `YAML parse and validate, ${users}`,
        figures: {
          users: size,
          parseMs: Math.round(parse.parseMs),
          fastPath: parse.fastPath,
          validateS: round(validate.wallMs / 1000, 3),
        },
        text: `parse ${Math.round(parse.parseMs)} ms (${parse.fastPath ? "fast parser" : "yaml library"}); validate command ${seconds(validate.wallMs)}`,
        ratio: null,
        ratioOf: null,
        target: null,
        pass: null,
      },
    ];
    if (secondsTarget !== undefined) {
      rows.push({
        scenario: `validation + plan, ${users}`,
        figures: { users: size, planS: round(planMs / 1000, 3) },
        text: `plan command ${seconds(planMs)} (reads, validates, lists, plans)`,
        ratio: null,
        ratioOf: null,
        target: `< ${secondsTarget} s`,
        pass: planMs < secondsTarget * 1000,
      });
    }
    return rows;
  } finally {
    await fake.stop();
  }
}
