import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

// Pure tests: no build, no Synapse, no network, no root; they run anywhere in seconds (`npm test`).
const UNIT = ["test/unit/**/*.test.ts", "test/property/**/*.test.ts"];

// Everything else runs the built bundles against a real Synapse, once on each database Synapse
// supports (`npm run test:integration`): SQLite, and PostgreSQL as production servers use it.
function integration(database: "sqlite" | "postgres", groupOrder: number): TestProjectInlineConfiguration {
  return {
    extends: true,
    test: {
      name: `integration-${database}`,
      include: ["test/**/*.test.ts"],
      exclude: UNIT,
      // One real Synapse per project (fresh database each run); see test/setup/synapse.ts.
      globalSetup: ["test/setup/build.ts", "test/setup/synapse.ts"],
      provide: { database },
      // The projects run one after the other, never side by side: two Synapses busy at once on a small
      // machine only make each slower. (Both servers start up front and stop at the end.)
      sequence: { groupOrder },
    },
  };
}

export default defineConfig({
  test: {
    reporters: ["default", "./test/setup/summary-reporter.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files share their project's server; each file uses its own user names, so they can run in parallel.
    fileParallelism: true,
    projects: [
      { extends: true, test: { name: "unit", include: UNIT, sequence: { groupOrder: 0 } } },
      integration("sqlite", 1),
      integration("postgres", 2),
    ],
  },
});
