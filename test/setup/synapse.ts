// Starts one real Synapse for the test run, or uses the one in SYNAPSE_TEST_URL /
// SYNAPSE_TEST_ADMIN_TOKEN. There is no skip: if no server can be had, the run fails with the reason.
import type { TestProject } from "vitest/node";
// @ts-expect-error: a plain ESM script without type declarations, shared with the demo and CI.
import { startSynapse } from "../../scripts/dev-synapse.mjs";

export interface SynapseUnderTest {
  url: string;
  token: string;
  serverName: string;
  adminUserId: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    synapse: SynapseUnderTest;
  }
}

export default async function setup(project: TestProject) {
  const server = await startSynapse();
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
