// Bad input and bad credentials through the built CLI against the real Synapse: one clear message,
// file:line:column where it applies, exit 1, no token in sight, and the server unchanged.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { SynapseClient } from "../../src/synapse/client.js";
import { BUILD_DIR, runCli, serverEnv, tempFiles } from "../support/cli.js";
import { clientFor, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
const env = serverEnv(server);
let client: SynapseClient;
beforeAll(() => {
  client = clientFor(server);
});
afterAll(() => client.close());

describe("invalid files: every error at once, with its position, and no change on the server", () => {
  const u = uniqueLocalpart("valid");
  const cases: [string, (other: string) => string, RegExp][] = [
    [
      "an unknown key",
      (v) => `version: 1\nusers:\n  ${v}:\n    sate: active\n`,
      /users\.yaml:4:5 users\.[^ ]+\.sate: unknown key "sate"/,
    ],
    [
      "a wrong type",
      (v) => `version: 1\nusers:\n  ${v}:\n    admin: "yes"\n`,
      /users\.yaml:4:12 users\.[^ ]+\.admin: .*boolean/,
    ],
    [
      "a literal password",
      (v) => `version: 1\nusers:\n  ${v}:\n    password: hunter2\n`,
      /users\.yaml:4:15 .*password: a literal password is not allowed/,
    ],
    [
      "an ID of another server",
      (v) => `version: 1\nusers:\n  ${v}: active\n  "@x:elsewhere.example": active\n`,
      /users\.yaml:4:3 .*is not on this server/,
    ],
    [
      "an invalid localpart",
      (v) => `version: 1\nusers:\n  ${v}: active\n  "Bob Smith": active\n`,
      /users\.yaml:4:3 .*invalid localpart "Bob Smith"/,
    ],
    [
      "a user declared twice",
      (v) => `version: 1\nusers:\n  ${v}: active\n  "@${v}:${server.serverName}": active\n`,
      /users\.yaml:4:3 .*already declared at .*users\.yaml:3:3/,
    ],
    [
      "a serverName that differs from the server's",
      (v) => `version: 1\nserverName: other.example\nusers:\n  ${v}: active\n`,
      /users\.yaml:2:13 serverName: .*differs from the server's "test\.local"|users\.yaml:2:13 serverName: .*differs/,
    ],
    ["a YAML syntax error", (v) => `version: 1\nusers:\n  ${v}: [active\n`, /users\.yaml:\d+:\d+/],
  ];
  it.each(cases)("%s", async (_name, yaml, message) => {
    const dir = tempFiles({ "users.yaml": yaml(u) });
    for (const command of ["plan", "apply"]) {
      const run = await runCli([command, join(dir, "users.yaml"), ...(command === "apply" ? ["--yes"] : [])], env);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(await client.findUser(`@${u}:${server.serverName}`)).toBeUndefined();
  });

  it("reports all errors of a file at once", async () => {
    const dir = tempFiles({
      "users.yaml": 'version: 1\nusers:\n  "B d": active\n  ok:\n    colour: blue\n    admin: 3\n',
    });
    const run = await runCli(["validate", join(dir, "users.yaml")]);
    expect(run.code).toBe(1);
    expect(run.stderr.match(/users\.yaml:\d+:\d+/g)).toHaveLength(3);
  });

  it("merges a directory, and names both files when a user is declared in two", async () => {
    const dir = tempFiles({
      "a-team.yaml": "version: 1\nusers:\n  ann: active\n  sam: active\n",
      "b-team.yml": "version: 1\nusers:\n  bea: deactivated\n  sam: active\n",
      "README.md": "not a users file",
    });
    const run = await runCli(["validate", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/b-team\.yml:4:3 .*already declared at .*a-team\.yaml:4:3/);
    writeFileSync(join(dir, "b-team.yml"), "version: 1\nusers:\n  bea: deactivated\n");
    const ok = await runCli(["validate", dir]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("3 users (2 active, 1 deactivated, 0 erased)");
  });
});

describe("credentials and connectivity: one line, exit 1, no token", () => {
  const file = () => join(tempFiles({ "users.yaml": "version: 1\nusers: {}\n" }), "users.yaml");

  it("a wrong token", async () => {
    const token = "syt_wrong_token_that_must_never_be_printed";
    const run = await runCli(["plan", file()], { SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: token });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      /^error: GET \/_matrix\/client\/v3\/account\/whoami → 401 M_UNKNOWN_TOKEN: .*SYNAPSE_ADMIN_TOKEN.*\n$/,
    );
    expect(run.stderr).not.toContain(token);
  });

  it("a token file that holds the token works, and a missing one is one line", async () => {
    const dir = tempFiles({ token: `${server.token}\n` });
    expect((await runCli(["plan", file(), "--token-file", join(dir, "token")], { SYNAPSE_URL: server.url })).code).toBe(
      0,
    );
    const run = await runCli(["plan", file(), "--token-file", join(dir, "nope")], { SYNAPSE_URL: server.url });
    expect(run.stderr).toMatch(/^error: cannot read the token file .*nope: ENOENT\n$/);
  });

  it("no token at all", async () => {
    const run = await runCli(["plan", file()], { SYNAPSE_URL: server.url });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: no admin token \(set SYNAPSE_ADMIN_TOKEN or pass --token-file PATH.*\)\n$/);
  });

  it("an unreachable server", async () => {
    const run = await runCli(["plan", file()], {
      SYNAPSE_URL: "http://127.0.0.1:9",
      SYNAPSE_ADMIN_TOKEN: server.token,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: GET \/_matrix\/client\/v3\/account\/whoami: connection refused .*\n$/);
    expect(run.stderr).not.toContain(server.token);
  });

  it("plain http to a remote host is refused before the token is sent", async () => {
    const run = await runCli(["plan", file()], {
      SYNAPSE_URL: "http://matrix.example.org",
      SYNAPSE_ADMIN_TOKEN: server.token,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: refusing to send the admin token over plain http to matrix\.example\.org/);
  });
});

describe("output", () => {
  it("a reader that goes away (plan | head) is no crash: the command finishes as it would have", async () => {
    const dir = tempFiles({ "users.yaml": `version: 1\nusers:\n  ${uniqueLocalpart("pipe")}: active\n` });
    const child = spawn(process.execPath, [join(BUILD_DIR, "cli.js"), "plan", join(dir, "users.yaml")], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.destroy(); // closed before the plan is printed: printing it meets EPIPE
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });
});
