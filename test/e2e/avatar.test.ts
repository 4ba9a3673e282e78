// avatarUrl, the attribute added through the registry alone (src/domain/attributes.ts) and its
// Synapse mapping: created, updated, compared, drifted and exported against the real Synapse.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { SynapseClient } from "../../src/synapse/client.js";
import { runCli, serverEnv, tempFiles } from "../support/cli.js";
import { clientFor, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
const env = serverEnv(server);
let client: SynapseClient;
beforeAll(() => {
  client = clientFor(server);
});
afterAll(() => client.close());

const id = (localpart: string) => `@${localpart}:${server.serverName}`;
const file = (users: string) => `version: 1\npolicy:\n  unmanaged: ignore\nusers:\n${users}`;

describe("avatarUrl: a managed attribute from one registry entry", () => {
  it("creates, updates, reports drift of and exports the avatar", async () => {
    const [fresh, known] = [uniqueLocalpart("avatar-new"), uniqueLocalpart("avatar-old")];
    await client.createUser(id(known), {});
    const first = `mxc://${server.serverName}/FirstAvatar1`;
    const second = `mxc://${server.serverName}/SecondAvatar2`;
    const dir = tempFiles({
      "users.yaml": file(`  ${fresh}:\n    avatarUrl: ${first}\n  ${known}:\n    avatarUrl: ${first}\n`),
    });
    const users = join(dir, "users.yaml");
    const plan = await runCli(["plan", users], env);
    expect(plan.stdout).toContain(`avatarUrl: "${first}"`);
    expect(plan.stdout).toContain(`avatarUrl: (none) → "${first}"`);
    expect((await runCli(["apply", users, "--yes"], env)).code).toBe(0);
    expect((await client.getUser(id(fresh))).avatarUrl).toBe(first);
    expect((await client.getUser(id(known))).avatarUrl).toBe(first);
    expect((await runCli(["plan", users, "--detailed-exitcode"], env)).code).toBe(0);

    // Changed behind the file's back: drift says so, apply puts it back.
    await client.modifyUser(id(known), { avatarUrl: second });
    const drift = await runCli(["drift", users], env);
    expect(drift.code).toBe(2);
    expect(drift.stdout).toContain(`avatarUrl: "${first}" in the file, "${second}" on the server`);
    expect((await runCli(["apply", users, "--yes"], env)).code).toBe(0);
    expect((await client.getUser(id(known))).avatarUrl).toBe(first);

    // Export writes it, and the exported file plans to no change for these users.
    const out = join(dir, "export.yaml");
    expect((await runCli(["export", "--out", out], env)).code).toBe(0);
    expect(readFileSync(out, "utf8")).toContain(`avatarUrl: ${first}`);
  });

  it("refuses what is not an mxc:// URI, at its line and column", async () => {
    const dir = tempFiles({
      "users.yaml": file(`  ${uniqueLocalpart("avatar-bad")}:\n    avatarUrl: https://evil.example/a.png\n`),
    });
    const run = await runCli(["validate", join(dir, "users.yaml")], {});
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/users\.yaml:6:16 users\.\S+\.avatarUrl: must be an mxc:\/\/ URI/);
  });
});
