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

/** Lints `source` as if it were the file `path` of this repository, under this repository's biome.json. */
function lint(path: string, source: string): { code: number; output: string } {
  const config = JSON.parse(readFileSync(join(ROOT, "biome.json"), "utf8")) as Record<string, unknown>;
  delete config.$schema;
  writeFileSync(join(dir, "biome.json"), JSON.stringify(config));
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), source);
  const run = spawnSync(process.execPath, [BIOME, "lint", "--colors=off", path], { cwd: dir, encoding: "utf8" });
  rmSync(join(dir, path));
  return { code: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
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
  it.each(cases)("%s", (_wall, path, source, message) => {
    const run = lint(path, source);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(message);
  });

  it("allows what the walls allow", () => {
    expect(
      lint("src/plan/x.ts", 'import { ACTION_KINDS } from "../domain/plan.js";\nexport const x = ACTION_KINDS;\n').code,
    ).toBe(0);
    expect(lint("src/cli.ts", "export const x = process.env;\n").code).toBe(0);
    expect(lint("src/action/x.ts", "export const x = process.env;\n").code).toBe(0);
  });
});
