// The end-to-end tests run the built CLI (dist/cli.js) as a process: build it first, every run.
import { execFileSync } from "node:child_process";

export default function setup() {
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
    stdio: "inherit",
  });
}
