// Hostile files and hostile answers fail cleanly (issue 11, item 8), through the built CLI: exit 1,
// one `error:` line that says what happened, no stack trace, and an end (each test's timeout is far
// below what the old code took: a trickled answer never ended, a 200 MB one was read whole).
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type CliRun, runCli, tempFiles } from "../support/cli.js";
import { type HostileServer, type Hostility, startHostileServer } from "../support/hostile-server.js";

const TOKEN = "hostile-test-token-0123456789";

let server: HostileServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** One clear error line and nothing else that looks like a crash. */
function expectCleanError(run: CliRun, message: RegExp): void {
  expect(run.code, run.stderr).toBe(1);
  expect(run.stdout).toBe("");
  const errors = run.stderr.split("\n").filter((line) => line.startsWith("error: "));
  expect(errors, run.stderr).toHaveLength(1);
  expect(errors[0]).toMatch(message);
  expect(run.stderr).not.toMatch(/^\s+at /m); // no stack frame
  expect(run.stderr).not.toMatch(/unexpected error|TypeError|RangeError/);
  expect(run.stderr).not.toContain(TOKEN);
}

/** `plan` of a file that manages ann's emails (so ann is read with the single-user GET). */
async function planAgainst(hostility: Hostility, extra: string[] = []): Promise<CliRun> {
  server = await startHostileServer(hostility);
  const dir = tempFiles({ "users.yaml": "version: 1\nusers:\n  ann:\n    emails: [a@x.org]\n" });
  return runCli(["plan", join(dir, "users.yaml"), "--homeserver", server.url, "--timeout", "2", ...extra], {
    SYNAPSE_ADMIN_TOKEN: TOKEN,
  });
}

describe("hostile answers", () => {
  const cases: [Hostility, RegExp][] = [
    ["whoami-without-user-id", /^error: GET \/_matrix\/client\/v3\/account\/whoami: the answer has no valid `user_id`/],
    ["whoami-invalid-user-id", /^error: GET \/_matrix\/client\/v3\/account\/whoami: the answer has no valid `user_id`/],
    [
      "non-string-email",
      /^error: GET \/_synapse\/admin\/v2\/users\/.*: user "@ann:hostile\.test": `threepids\[0\]\.address` should be a string, got number/,
    ],
    ["non-string-name", /^error: GET \/_synapse\/admin\/v2\/users: a user: `name` should be a user ID, got number/],
    [
      "number-displayname",
      /^error: GET \/_synapse\/admin\/v2\/users: user "@ann:hostile\.test": `displayname` should be a string, got number/,
    ],
    [
      "next-token-stuck",
      /^error: GET \/_synapse\/admin\/v2\/users: `next_token` 0 is not the offset after the page at 0 \(1 users\)/,
    ],
    [
      "next-token-creeping",
      /^error: GET \/_synapse\/admin\/v2\/users: `next_token` 1 is not the offset after the page at 0 \(2 users\)/,
    ],
    [
      "next-token-endless",
      /^error: GET \/_synapse\/admin\/v2\/users: `next_token` 3 is past the 2 users the answer counts/,
    ],
  ];
  it.each(cases)("%s: one clear error", { timeout: 20_000 }, async (hostility, message) => {
    expectCleanError(await planAgainst(hostility), message);
  });

  it("an answer trickled a byte a second ends at the --timeout deadline", { timeout: 20_000 }, async () => {
    const run = await planAgainst("trickle", ["--retries", "0"]);
    expectCleanError(
      run,
      /^error: GET \/_matrix\/client\/v3\/account\/whoami: no complete answer within 2 s \(--timeout\)/,
    );
  });

  it("a trickled answer is tried again, each try with its own deadline, and then given up", {
    timeout: 30_000,
  }, async () => {
    const run = await planAgainst("trickle", ["--retries", "1"]);
    expectCleanError(run, /no complete answer within 2 s/);
    expect(server!.requests.filter((r) => r.includes("whoami"))).toHaveLength(2);
  });

  it.each([["huge-body"], ["huge-declared-body"]] as [Hostility][])("%s: a 200 MB answer is given up past 64 MiB", {
    timeout: 30_000,
  }, async (hostility) => {
    const run = await planAgainst(hostility);
    expectCleanError(run, /^error: GET \/_matrix\/client\/v3\/account\/whoami → 200: the answer is larger than 64 MiB/);
    // The client stopped reading: the server never got to send it all.
    expect(server!.bytesSent()).toBeLessThan(150 * 1024 * 1024);
  });
});

describe("hostile files", () => {
  it("validate /dev/zero is refused at once", { timeout: 20_000 }, async () => {
    expectCleanError(await runCli(["validate", "/dev/zero"]), /^error: \/dev\/zero: is a device/);
  });

  it("a FIFO is refused without waiting for a writer", { timeout: 20_000 }, async () => {
    const dir = tempFiles({});
    execFileSync("mkfifo", [join(dir, "users.yaml")]);
    expectCleanError(await runCli(["validate", join(dir, "users.yaml")]), /users\.yaml: is a FIFO/);
  });

  it("a symbolic link out of the repository is refused, and what it leads to is not shown", async () => {
    const dir = tempFiles({});
    const repo = join(dir, "repo");
    mkdirSync(join(repo, ".git"), { recursive: true });
    writeFileSync(join(dir, "secret.yaml"), "version: 1\nusers:\n  runner-secret: active\n");
    symlinkSync(join(dir, "secret.yaml"), join(repo, "users.yaml"));
    const run = await runCli(["validate", "users.yaml"], {}, repo);
    expectCleanError(
      run,
      /^error: users\.yaml: leads through a symbolic link to .*secret\.yaml, outside the repository/,
    );
    expect(run.stderr).not.toContain("runner-secret");
  });

  it("a team's file in a directory cannot set the policy", async () => {
    const dir = tempFiles({
      "_root.yaml": "version: 1\npolicy: { maxDeactivations: 2 }\nusers: {}\n",
      "team.yaml": "version: 1\npolicy: { maxDeactivations: 100000 }\nusers: {}\n",
    });
    const run = await runCli(["validate", dir]);
    expectCleanError(run, /team\.yaml:2:1 policy: policy may only be set in the directory's root file \(_root\.yaml\)/);
  });
});
