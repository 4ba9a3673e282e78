// Token-free pull-request plans: a trusted run saves an inventory snapshot with the admin token; the
// pull request's plan reads it with no token and no server, and says how old it is.
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

describe("plan --snapshot: a plan that needs no token", () => {
  it("plans offline what the live plan plans, and the snapshot holds no personal data in clear", async () => {
    const [kept, renamed, leaving, fresh] = ["kept", "renamed", "leaving", "fresh"].map(uniqueLocalpart) as [
      string,
      string,
      string,
      string,
    ];
    await client.createUser(id(kept), { displayname: "Kept Person", emails: [`${kept}@mail.example`] });
    await client.createUser(id(renamed), { displayname: "Old Secret Name" });
    await client.createUser(id(leaving), {});
    const users = [
      `  ${kept}:\n    displayname: Kept Person\n    emails: [${kept}@mail.example]`,
      `  ${renamed}:\n    displayname: New Name`,
      `  ${leaving}: deactivated`,
      `  ${fresh}:\n    displayname: Fresh`,
    ].join("\n");
    const dir = tempFiles({ "users.yaml": `version: 1\npolicy:\n  unmanaged: ignore\nusers:\n${users}\n` });
    const file = join(dir, "users.yaml");
    const snapshot = join(dir, "inventory.json");
    const taken = await runCli(["snapshot", file, "--out", snapshot], env);
    expect(taken.stderr).toMatch(/^wrote a snapshot of \d+ users to /);
    expect(taken.code).toBe(0);
    const text = readFileSync(snapshot, "utf8");
    for (const secret of ["Kept Person", "Old Secret Name", `${kept}@mail.example`, server.token]) {
      expect(text).not.toContain(secret);
    }
    // No token, no homeserver: the plan reads only the two files.
    const offline = await runCli(["plan", file, "--snapshot", snapshot, "--format", "json"], {});
    expect(offline.stderr).toBe("");
    expect(offline.code).toBe(0);
    const live = await runCli(["plan", file, "--format", "json"], env);
    const kinds = (out: string) =>
      (JSON.parse(out).actions as { kind: string; userId: string }[]).map((a) => `${a.kind} ${a.userId}`);
    expect(kinds(offline.stdout)).toEqual(kinds(live.stdout));
    expect(kinds(offline.stdout)).toEqual([
      `create ${id(fresh)}`,
      `deactivate ${id(leaving)}`,
      `update ${id(renamed)}`,
    ]);
    const text2 = await runCli(["plan", file, "--snapshot", snapshot], {});
    expect(text2.stdout).toContain('displayname: (changed) → "New Name"');
    expect(text2.stdout).toMatch(/snapshot taken .*(just now|minutes? ago)/);
    expect(text2.stdout).not.toContain("Old Secret Name");
  });

  it("refuses to save or post a plan it cannot seal, and a snapshot of another server", async () => {
    const u = uniqueLocalpart("snap-refuse");
    const dir = tempFiles({ "users.yaml": `version: 1\nusers:\n  ${u}: active\n` });
    const file = join(dir, "users.yaml");
    const snapshot = join(dir, "inventory.json");
    expect((await runCli(["snapshot", file, "--out", snapshot], env)).code).toBe(0);
    const saved = await runCli(["plan", file, "--snapshot", snapshot, "--out", join(dir, "p.json")], {});
    expect(saved.code).toBe(1);
    expect(saved.stderr).toMatch(/^error: plan --snapshot cannot save a plan/);
    const other = await runCli(["plan", file, "--snapshot", snapshot], { SYNAPSE_URL: "https://matrix.other.example" });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/^error: .*inventory\.json/);
    expect(other.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  });
});
