import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/setup/summary-reporter.ts"],
    // One real Synapse for the whole run (fresh database each run); see test/setup/synapse.ts.
    globalSetup: ["test/setup/build.ts", "test/setup/synapse.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files share that one server; each file uses its own user names, so they can run in parallel.
    fileParallelism: true,
  },
});
