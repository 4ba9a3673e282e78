// Tests that read or change every user on a server get a Synapse of their own (a fresh one,
// started here), so that other test files creating users in parallel cannot disturb them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
// @ts-expect-error: a plain ESM script without type declarations.
import { startSynapse } from "../../scripts/dev-synapse.mjs";
import { SynapseClient } from "../../src/synapse/client.js";
import { runCli, tempFiles } from "../support/cli.js";

interface Started {
  url: string;
  token: string;
  serverName: string;
  adminUserId: string;
  stop: () => Promise<void>;
}

let server: Started;
let client: SynapseClient;
let env: Record<string, string>;
const id = (localpart: string) => `@${localpart}:${server.serverName}`;

beforeAll(async () => {
  // A second server only when the run starts its own: with an external SYNAPSE_TEST_URL, this file
  // still needs a server to itself, so it fails rather than share one.
  server = await startSynapse({ database: inject("database") });
  if ((server as { external?: boolean }).external) {
    throw new Error("whole-server tests need their own Synapse; unset SYNAPSE_TEST_URL to let the tests start one");
  }
  client = new SynapseClient({ baseUrl: server.url, token: server.token, retries: 0 });
  env = { SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: server.token, DAVE_INITIAL_PASSWORD: "dave-initial-pw" };
}, 180_000);
afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe("examples/users.yaml on a fresh server", () => {
  it("plans, applies, and then has nothing to do", async () => {
    const example = join(import.meta.dirname, "../../examples/users.yaml");
    // dave's password reference reads an environment variable: refused in the plan until the operator allows it.
    const refused = await runCli(["plan", example], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/x @dave:\S+: .*DAVE_INITIAL_PASSWORD/);
    const allow = ["--password-env", "DAVE_INITIAL_PASSWORD"];
    const plan = await runCli(["plan", example, ...allow], env);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^Plan: 8 to create, 0 to update, 0 to deactivate, 0 to erase, 0 to reactivate\.$/m);
    expect(plan.stdout).toContain("create with the password from env DAVE_INITIAL_PASSWORD");
    const apply = await runCli(["apply", example, "--yes", ...allow], env);
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(await client.getUser(id("frank"))).toMatchObject({ state: "erased" });
    expect(await client.getUser(id("bob"))).toMatchObject({
      displayname: "Bob Ross",
      emails: ["bob@example.org"],
      externalIds: [{ provider: "oidc", id: "b0b-0001" }],
    });
    // dave was created with the password from the environment: it logs in.
    const login = await fetch(`${server.url}/_matrix/client/v3/login`, {
      method: "POST",
      body: JSON.stringify({
        type: "m.login.password",
        identifier: { type: "m.id.user", user: "dave" },
        password: "dave-initial-pw",
      }),
    });
    expect(login.status).toBe(200);
    const again = await runCli(["plan", example, "--detailed-exitcode"], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^No changes: the server matches the file\.$/m);
  });
});

describe("export", () => {
  it("writes a valid file of the whole inventory that plans to no changes", async () => {
    await client.createUser(id("zoe"), {
      displayname: "Zoë",
      emails: ["Zoe@Example.org"],
      externalIds: [{ provider: "saml", id: "z-1" }],
    });
    await client.createUser(id("locked-larry"), {});
    await client.modifyUser(id("locked-larry"), { locked: true });
    const dir = tempFiles({});
    const out = join(dir, "exported.yaml");
    const run = await runCli(["export", "--out", out], env);
    expect(run.code).toBe(0);
    const text = readFileSync(out, "utf8");
    const doc = parse(text);
    expect(doc.serverName).toBe(server.serverName);
    expect(Object.keys(doc.users)).toEqual([...Object.keys(doc.users)].sort());
    expect(doc.users.zoe).toEqual({
      displayname: "Zoë",
      admin: false,
      emails: ["zoe@example.org"],
      externalIds: [{ provider: "saml", id: "z-1" }],
    });
    expect(doc.users["locked-larry"]).toMatchObject({ locked: true });
    expect(doc.users.frank).toBe("erased");
    expect((await runCli(["validate", out])).code).toBe(0);
    const plan = await runCli(["plan", out, "--detailed-exitcode"], env);
    expect(plan.stdout).toMatch(/^No changes: the server matches the file\.$/m);
    expect(plan.code).toBe(0);
  });
});

describe("policy unmanaged: deactivate", () => {
  it("deactivates active users missing from the file, but never the own user or protected ones", async () => {
    await client.createUser(id("stray"), {});
    await client.createUser(id("ops-bot"), {});
    const inventory: string[] = [];
    for await (const page of client.listAllUsers())
      for (const u of page) if (u.state === "active") inventory.push(u.userId);
    const keep = inventory.filter((u) => u !== id("stray") && u !== id("ops-bot") && u !== server.adminUserId);
    const yaml = `version: 1\npolicy:\n  unmanaged: deactivate\n  protected: ["@*-bot:*"]\nusers:\n${keep.map((u) => `  "${u}": active\n`).join("")}`;
    const dir = tempFiles({ "users.yaml": yaml });
    const run = await runCli(["apply", join(dir, "users.yaml"), "--yes"], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`- ${id("stray")}  deactivate (not in the file; policy unmanaged: deactivate)`);
    expect((await client.getUser(id("stray"))).state).toBe("deactivated");
    expect((await client.getUser(id("ops-bot"))).state).toBe("active");
    expect((await client.getUser(server.adminUserId)).state).toBe("active");
  });
});
