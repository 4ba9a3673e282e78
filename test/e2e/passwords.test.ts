// apply reads a password reference only as the operator's policy allows (issue 11, item 4), against
// the real Synapse: the admin token, passed to the Action as INPUT_ADMIN-TOKEN, never becomes a
// user's password; /dev/null never gives an empty password that logs in.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SynapseAccounts } from "../../src/accounts/synapse.js";
import { applyPlan } from "../../src/apply/apply.js";
import { acquireApplyLock } from "../../src/apply/lock.js";
import { parseDesiredState } from "../../src/config/load.js";
import type { PasswordPolicy } from "../../src/config/passwords.js";
import { planUsers } from "../../src/plan/plan.js";
import type { SynapseClient } from "../../src/synapse/client.js";
import { clientFor, login, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
let client: SynapseClient;
beforeAll(() => {
  client = clientFor(server);
});
afterAll(() => client.close());

/** Plans the creation of `localpart` with this password reference, and applies it under `policy`. */
async function createWith(
  localpart: string,
  password: string,
  policy: PasswordPolicy,
  env: Record<string, string>,
): Promise<{ outcome: string; message?: string }> {
  const text = `version: 1\nusers:\n  ${localpart}:\n    password: ${password}\n`;
  const desired = parseDesiredState([{ name: "users.yaml", text }], { serverName: server.serverName });
  const plan = planUsers({
    desired: desired.users,
    actual: new Map(),
    serverName: server.serverName,
    ownUserId: server.adminUserId,
    policy: desired.policy,
    now: Date.now(),
  });
  expect(plan.actions).toHaveLength(1);
  const result = await applyPlan(new SynapseAccounts(client), plan, {
    concurrency: 1,
    passwordPolicy: policy,
    env,
    lock: () => acquireApplyLock(client),
  });
  const { outcome, message } = result.results[0]!;
  return message === undefined ? { outcome } : { outcome, message };
}

describe("apply and password references", () => {
  it("never sets the Action's admin-token input as a password, even when the policy names it", async () => {
    const u = uniqueLocalpart("pw-input");
    const env = { "INPUT_ADMIN-TOKEN": server.token };
    const result = await createWith(u, "{ env: INPUT_ADMIN-TOKEN }", { envNames: ["INPUT_ADMIN-TOKEN"] }, env);
    expect(result.outcome).toBe("failed");
    expect(result.message).toMatch(/INPUT_ADMIN-TOKEN is never read as a password/);
    expect(result.message).not.toContain(server.token);
    expect(await client.findUser(`@${u}:${server.serverName}`)).toBeUndefined();
  });

  it("reads nothing without a policy", async () => {
    const u = uniqueLocalpart("pw-none");
    const result = await createWith(u, "{ env: TEAM_PW }", {}, { TEAM_PW: "a-fine-password" });
    expect(result.outcome).toBe("failed");
    expect(result.message).toMatch(/TEAM_PW is not allowed for passwords/);
    expect(await client.findUser(`@${u}:${server.serverName}`)).toBeUndefined();
  });

  it("never reads /dev/null (an empty password), even with /dev allowed", async () => {
    const u = uniqueLocalpart("pw-null");
    const result = await createWith(u, "{ file: /dev/null }", { dir: "/dev" }, {});
    expect(result.outcome).toBe("failed");
    expect(result.message).toMatch(/\/dev\/null is a device/);
    expect(await client.findUser(`@${u}:${server.serverName}`)).toBeUndefined();
  });

  it("creates the user with an allowed variable or file, and the password logs in", async () => {
    const fromEnv = uniqueLocalpart("pw-env");
    const env = { TEAM_PW_DAVE: "from-the-environment" };
    expect(await createWith(fromEnv, "{ env: TEAM_PW_DAVE }", { envPrefix: "TEAM_PW_" }, env)).toEqual({
      outcome: "done",
    });
    expect(await login(server, `@${fromEnv}:${server.serverName}`, "from-the-environment")).toBeTruthy();

    const fromFile = uniqueLocalpart("pw-file");
    const dir = mkdtempSync(join(tmpdir(), "synapse-gitops-pw-"));
    writeFileSync(join(dir, "pw"), "from-a-file\n");
    expect(await createWith(fromFile, `{ file: ${join(dir, "pw")} }`, { dir }, {})).toEqual({ outcome: "done" });
    expect(await login(server, `@${fromFile}:${server.serverName}`, "from-a-file")).toBeTruthy();
  });
});
