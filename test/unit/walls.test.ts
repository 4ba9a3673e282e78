// The walls between folders are held by the linter (biome.json's overrides), not by comments: a
// forbidden import planted in each folder must fail `biome lint` with a message naming the wall.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const BIOME = join(ROOT, "node_modules/@biomejs/biome/bin/biome");
const dir = mkdtempSync(join(tmpdir(), "walls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Lints each planted file as if it were that file of this repository, under this repository's
 * biome.json, in one run of biome; the output of each file's diagnostics, by path.
 */
function lintAll(files: Record<string, string>): Map<string, string> {
  const config = JSON.parse(readFileSync(join(ROOT, "biome.json"), "utf8")) as Record<string, unknown>;
  delete config.$schema;
  writeFileSync(join(dir, "biome.json"), JSON.stringify(config));
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
  const run = spawnSync(
    process.execPath,
    [BIOME, "lint", "--colors=off", "--max-diagnostics=200", ...Object.keys(files)],
    {
      cwd: dir,
      encoding: "utf8",
    },
  );
  const output = `${run.stdout}${run.stderr}`;
  // Each diagnostic starts with its file's path at the beginning of a line.
  const byFile = new Map<string, string>(Object.keys(files).map((path) => [path, ""]));
  let current: string | undefined;
  for (const line of output.split("\n")) {
    const head = Object.keys(files).find((path) => line.startsWith(`${path}:`));
    if (head) current = head;
    else if (/^\S/.test(line) && !line.startsWith(" ")) current = line.startsWith("Checked") ? undefined : current;
    if (current) byFile.set(current, `${byFile.get(current)}${line}\n`);
  }
  return byFile;
}

describe("walls a tool holds", () => {
  const cases: [wall: string, path: string, source: string, message: RegExp][] = [
    [
      "the planner does no I/O",
      "src/plan/x.ts",
      'import { readFile } from "node:fs/promises";\nexport const x = readFile;\n',
      /Wall: the planner \(src\/plan\/\) is pure/,
    ],
    [
      "the planner never reaches the client",
      "src/plan/x.ts",
      'import { SynapseClient } from "../synapse/client.js";\nexport const x = SynapseClient;\n',
      /Wall: the planner \(src\/plan\/\) is pure/,
    ],
    [
      "the planner never reaches the writer",
      "src/plan/x.ts",
      'import { applyPlan } from "../apply/apply.js";\nexport const x = applyPlan;\n',
      /Wall: the planner/,
    ],
    [
      "config never reaches the client",
      "src/config/x.ts",
      'import { SynapseClient } from "../synapse/client.js";\nexport const x = SynapseClient;\n',
      /Wall: src\/config\/ reads the users file/,
    ],
    [
      "config never reaches the reporters",
      "src/config/x.ts",
      'import { renderJson } from "../report/json.js";\nexport const x = renderJson;\n',
      /Wall: src\/config\//,
    ],
    [
      "reporters never reach the writer",
      "src/report/x.ts",
      'import { applyPlan } from "../apply/apply.js";\nexport const x = applyPlan;\n',
      /Wall: the reporters \(src\/report\/\)/,
    ],
    [
      "reporters never reach the backend",
      "src/report/x.ts",
      'import { SynapseAccounts } from "../accounts/synapse.js";\nexport const x = SynapseAccounts;\n',
      /Wall: the reporters/,
    ],
    [
      "the domain is below everything",
      "src/domain/x.ts",
      'import { planUsers } from "../plan/plan.js";\nexport const x = planUsers;\n',
      /Wall: src\/domain\/ is below everything/,
    ],
    [
      "only the shells touch process",
      "src/core/x.ts",
      "export const x = process.env;\n",
      /Wall: only src\/cli\.ts and src\/action\/ touch `process`/,
    ],
    [
      "…nor import it",
      "src/apply/x.ts",
      'import { env } from "node:process";\nexport const x = env;\n',
      /Wall: only src\/cli\.ts and src\/action\/ touch `process`/,
    ],
  ];
  // Every case under a name of its own, so that one run of biome lints them all.
  const plantedAt = (path: string, i: number) => path.replace(/\/x\.ts$/, `/x${i}.ts`);
  const allowed: Record<string, string> = {
    "src/plan/allowed.ts": 'import { ACTION_KINDS } from "../domain/plan.js";\nexport const x = ACTION_KINDS;\n',
    "src/cli.ts": "export const x = process.env;\n",
    "src/action/allowed.ts": "export const x = process.env;\n",
  };
  const results = lintAll({
    ...Object.fromEntries(cases.map(([, path, source], i) => [plantedAt(path, i), source])),
    ...allowed,
  });

  it.each(cases.map((c, i) => [...c, i] as const))("%s", (_wall, path, _source, message, i) => {
    expect(results.get(plantedAt(path, i))).toMatch(message);
  });

  it("allows what the walls allow", () => {
    for (const path of Object.keys(allowed)) expect(results.get(path), path).toBe("");
  });
});
