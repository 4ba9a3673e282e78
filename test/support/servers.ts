// The servers a suite runs against: the real Synapse from the global setup and an in-process fake.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, inject } from "vitest";
import { SynapseClient } from "../../src/synapse/client.js";
import { type FakeSynapse, startFakeSynapse } from "../fake-synapse/server.js";

export interface ServerUnderTest {
  kind: "real" | "fake";
  url: string;
  token: string;
  serverName: string;
  adminUserId: string;
}

/** Runs `suite` once against the real Synapse and once against the fake; both must pass. */
export function describeEachServer(title: string, suite: (server: () => ServerUnderTest) => void): void {
  describe(`${title} [real Synapse]`, () => {
    suite(() => ({ kind: "real", ...inject("synapse") }));
  });
  describe(`${title} [fake Synapse]`, () => {
    let fake: FakeSynapse;
    beforeAll(async () => {
      fake = await startFakeSynapse({ serverName: "fake.local" });
    });
    afterAll(() => fake.close());
    suite(() => ({
      kind: "fake",
      url: fake.url,
      token: fake.adminToken,
      serverName: fake.serverName,
      adminUserId: fake.adminUserId,
    }));
  });
}

export function clientFor(server: ServerUnderTest, token = server.token): SynapseClient {
  return new SynapseClient({ baseUrl: server.url, token, retries: 0 });
}

/** A localpart no other test uses, so suites can share one server. */
export function uniqueLocalpart(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** Logs a user in with a password and returns its access token (used to get a non-admin token). */
export async function login(server: ServerUnderTest, userId: string, password: string): Promise<string> {
  const res = await fetch(`${server.url}/_matrix/client/v3/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: userId }, password }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!res.ok || !body.access_token)
    throw new Error(`login of ${userId} failed: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}
