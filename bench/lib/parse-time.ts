// The YAML on its own: how long the users file takes to parse (parseYaml: text → tree), in a fresh
// process, first run — as the CLI meets it. Run with `node --import tsx`.
//   node --import tsx bench/lib/parse-time.ts FILE   → {"parseMs": …, "fastPath": true|false}
import { readFileSync } from "node:fs";
import { parseYaml, parseYamlFast } from "../../src/config/yamlTree.js";

const file = process.argv[2];
if (!file) throw new Error("usage: parse-time.ts FILE");
const text = readFileSync(file, "utf8");
const started = performance.now();
const tree = parseYaml(text);
const parseMs = performance.now() - started;
if (tree.problems.length > 0) throw new Error(`${file} does not parse: ${tree.problems[0]!.message}`);
// Whether the fast parser took it (the library is the fallback): a separate run, not timed.
const fastPath = parseYamlFast(text) !== undefined;
process.stdout.write(`${JSON.stringify({ parseMs, fastPath })}\n`);
