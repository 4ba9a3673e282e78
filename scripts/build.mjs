#!/usr/bin/env node
// Bundles the CLI and the GitHub Action into one file each (dist/cli.js, dist/action.js).
// dist/ is committed: the Action runs it as is, and a test checks it is the build of the source.
//   node scripts/build.mjs [outdir]   (default: dist)
import { mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = process.argv[2] ?? `${root}/dist`;
// Start empty: chunk names carry content hashes, and old chunks must not linger.
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

// Bundled CommonJS dependencies (undici) call require() for Node's built-ins; ESM has no require.
const banner =
  'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);';

await build({
  entryPoints: { cli: `${root}/src/cli.ts`, action: `${root}/src/action/main.ts` },
  outdir,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // The CLI loads its commands on first use (a dynamic import): --version and --help stay fast.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  banner: { js: `#!/usr/bin/env node\n${banner}` },
  legalComments: "none",
  logLevel: "warning",
  // Deterministic output, so that the committed dist/ can be compared with a fresh build.
  sourcemap: false,
  minify: false,
});
