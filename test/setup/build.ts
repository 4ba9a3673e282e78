// The end-to-end and Action tests run the bundles as processes: build them from the current
// source into a directory of this run's own (test/dist.test.ts checks that the committed dist/
// is that same build). Per run, so that two test runs in one tree never delete each other's build.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    buildDir: string;
  }
}

export default function setup(project: TestProject) {
  const dir = `.tmp/build-${process.pid}`;
  execFileSync(process.execPath, ["scripts/build.mjs", dir], { stdio: "inherit" });
  project.provide("buildDir", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
