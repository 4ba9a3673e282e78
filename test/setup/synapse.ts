// Starts one real Synapse for the project's test run, on the project's database ("sqlite" or
// "postgres", from `provide` in vitest.config.ts), or uses the one in SYNAPSE_TEST_URL /
// SYNAPSE_TEST_ADMIN_TOKEN. There is no skip: if no server can be had, the run fails with the reason.
import type { TestProject } from "vitest/node";
// @ts-expect-error: a plain ESM script without type declarations, shared with the demo and CI.
import { startSynapse } from "../../scripts/dev-synapse.mjs";

export type SynapseDatabase = "sqlite" | "postgres";

export interface SynapseUnderTest {
  url: string;
  token: string;
  serverName: string;
  adminUserId: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    synapse: SynapseUnderTest;
    /** The database of the project's Synapse; test files that start a server of their own use it too. */
    database: SynapseDatabase;
  }
}

export default async function setup(project: TestProject) {
  const database = project.config.provide.database;
  if (database !== "sqlite" && database !== "postgres")
    throw new Error(`project ${project.name} does not say which database its Synapse uses (provide.database)`);
  const server = await startSynapse({ database });
  project.provide("synapse", {
    url: server.url,
    token: server.token,
    serverName: server.serverName,
    adminUserId: server.adminUserId,
  });
  return async () => {
    await server.stop();
  };
}
