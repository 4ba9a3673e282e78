// Secrets, the audit log, interrupted applies and overlapping runs: the built CLI against the real Synapse.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { SynapseClient } from "../../src/synapse/client.js";
import { BUILD_DIR, type CliRun, runCli, tempFiles } from "../support/cli.js";
import { clientFor, login, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
let client: SynapseClient;
beforeAll(() => {
  client = clientFor(server);
});
afterAll(() => client.close());

const id = (localpart: string) => `@${localpart}:${server.serverName}`;
const usersFile = (users: string) => `version: 1\npolicy:\n  unmanaged: ignore\nusers:\n${users}`;

describe("the admin token never appears in anything the tool writes", () => {
  it("across every command, their files, and their errors", async () => {
    // A second admin with a token of its own, so that the string searched for is this run's token.
    const admin = id(uniqueLocalpart("sekrit-admin"));
    await client.createUser(admin, { password: "sekrit-password-0", admin: true });
    const token = await login(server, admin, "sekrit-password-0");
    const wrong = "syt_recognisable_but_wrong_token_0123456789";
    const [a, b] = [uniqueLocalpart("s-a"), uniqueLocalpart("s-b")];
    await client.createUser(id(b), {});
    const dir = tempFiles({
      "users.yaml": usersFile(`  ${a}:\n    displayname: A\n  ${b}: deactivated\n`),
      token: token,
    });
    const f = (name: string) => join(dir, name);
    const env = { SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: token };
    const runs: CliRun[] = [
      await runCli(["validate", f("users.yaml")], env),
      await runCli(["schema"], env),
      await runCli(["plan", f("users.yaml")], env),
      await runCli(["plan", f("users.yaml"), "--format", "json", "--out", f("plan.json")], env),
      await runCli(["plan", f("users.yaml"), "--format", "markdown"], env),
      await runCli(["drift", f("users.yaml"), "--format", "json"], env),
      await runCli(["apply", f("users.yaml"), "--plan", f("plan.json"), "--yes", "--audit-log", f("audit.jsonl")], env),
      await runCli(["apply", f("users.yaml"), "--yes", "--audit-log", f("audit.jsonl")], env),
      await runCli(["export", "--out", f("export.yaml")], env),
      await runCli(["plan", f("users.yaml"), "--token-file", f("token")], { SYNAPSE_URL: server.url }),
      // Error paths: a wrong token, an unreachable server, a refused http URL, a tampered plan.
      await runCli(["plan", f("users.yaml")], { SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: wrong }),
      await runCli(["plan", f("users.yaml")], { SYNAPSE_URL: "http://127.0.0.1:9", SYNAPSE_ADMIN_TOKEN: token }),
      await runCli(["plan", f("users.yaml")], { SYNAPSE_URL: "http://matrix.example.org", SYNAPSE_ADMIN_TOKEN: token }),
      await runCli(["apply", "--plan", f("users.yaml"), "--yes"], env),
    ];
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 1, 1, 1]);
    const written = readdirSync(dir).filter((name) => name !== "token");
    expect(written.sort()).toEqual(["audit.jsonl", "export.yaml", "plan.json", "users.yaml"]);
    const everything = [
      ...runs.flatMap((r) => [r.stdout, r.stderr]),
      ...written.map((name) => readFileSync(f(name), "utf8")),
    ].join("\n");
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain("sekrit-password-0");
  });
});

describe("--audit-log", () => {
  it("appends a run header, each mutating request and each verified result, as JSON lines", async () => {
    const [a, b] = [uniqueLocalpart("audit-a"), uniqueLocalpart("audit-b")];
    await client.createUser(id(b), {});
    const dir = tempFiles({ "users.yaml": usersFile(`  ${a}:\n    displayname: Audited\n  ${b}: erased\n`) });
    const env = { SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: server.token };
    const run = await runCli(["apply", join(dir, "users.yaml"), "--yes", "--audit-log", join(dir, "audit.jsonl")], env);
    expect(run.code).toBe(0);
    const records = readFileSync(join(dir, "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records[0]).toMatchObject({
      type: "run",
      tool: "synapse-gitops",
      command: "apply",
      server: server.serverName,
      actor: server.adminUserId,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const requests = records.filter((r) => r.type === "request");
    expect(requests).toContainEqual(
      expect.objectContaining({
        userId: id(a),
        method: "PUT",
        path: `/_synapse/admin/v2/users/${encodeURIComponent(id(a))}`,
        status: 201,
      }),
    );
    expect(requests).toContainEqual(
      expect.objectContaining({ userId: id(b), method: "POST", status: 200, durationMs: expect.any(Number) }),
    );
    expect(
      records
        .filter((r) => r.type === "action")
        .map((r) => `${r.userId} ${r.action} ${r.outcome} ${r.verified}`)
        .sort(),
    ).toEqual([`${id(a)} create done active`, `${id(b)} erase done erased`].sort());
    for (const r of records) expect(typeof r.time).toBe("string");
  });
});

describe("interrupts", () => {
  it("SIGINT stops new changes, lets those in flight finish, reports, exits non-zero; a re-run finishes", async () => {
    const prefix = uniqueLocalpart("intr");
    // With emails, each user is read back (and reported) as it is done rather than in one listing
    // at the end, so the test can interrupt right after the first one.
    const entry = (i: number) =>
      `  ${prefix}-${String(i).padStart(2, "0")}:\n    emails: [${prefix}-${i}@example.org]\n`;
    const dir = tempFiles({ "users.yaml": usersFile(Array.from({ length: 40 }, (_, i) => entry(i)).join("")) });
    const file = join(dir, "users.yaml");
    const env = { PATH: process.env.PATH ?? "", SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: server.token };
    const child = spawn(process.execPath, [join(BUILD_DIR, "cli.js"), "apply", file, "--yes", "--concurrency", "1"], {
      env,
    });
    let stdout = "";
    let stderr = "";
    let signalled = false;
    child.stdout.on("data", (d) => {
      stdout += d;
      if (!signalled && stdout.includes("  ok +")) {
        signalled = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(signalled).toBe(true);
    expect(code).toBe(1);
    expect(stderr).toContain("Stopping: no new changes start");
    expect(stderr).toContain("Interrupted: run apply again to finish.");
    const done = (stdout.match(/^ {2}ok \+ /gm) ?? []).length;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(40);
    expect(stdout).toMatch(new RegExp(`^Apply: ${done} done, 0 failed, 0 stale, ${40 - done} not started\\.$`, "m"));
    expect(stdout).toMatch(/^ {2}not-started create @/m);
    const rerun = await runCli(["apply", file, "--yes"], env);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(new RegExp(`^Plan: ${40 - done} to create`, "m"));
    expect((await runCli(["plan", file, "--detailed-exitcode"], env)).code).toBe(0);
  });
});

describe("overlapping runs", () => {
  it("two applies at once never erase or reactivate what the other's plan did not intend", async () => {
    const env = { SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: server.token };
    for (let round = 0; round < 3; round++) {
      const x = uniqueLocalpart("contested");
      await client.createUser(id(x), {});
      await client.deactivate(id(x), { erase: false });
      // One file erases x; the other brings x back. Both plan from "deactivated".
      const eraser = tempFiles({ "users.yaml": usersFile(`  ${x}: erased\n`) });
      const restorer = tempFiles({ "users.yaml": usersFile(`  ${x}:\n    allowReactivation: true\n`) });
      const [e, r] = await Promise.all([
        runCli(["apply", join(eraser, "users.yaml"), "--yes"], env),
        runCli(["apply", join(restorer, "users.yaml"), "--yes"], env),
      ]);
      const final = (await client.getUser(id(x))).state;
      const erased = /^ {2}ok ! /m.test(e.stdout);
      const reactivated = /^ {2}ok \^ /m.test(r.stdout);
      // Whatever the interleaving, an erase is never followed by a reactivation (that would un-erase):
      // the later run either stands down (stale precondition, or refused at plan time) or, if it
      // planned after the earlier one finished, works from what it saw then.
      expect(["erased", "active"]).toContain(final);
      if (erased) expect(final, `${e.stdout}\n${r.stdout}`).toBe("erased");
      if (final === "erased" && !reactivated) {
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(
          /stale +reactivate .*is erased now, but the plan saw it deactivated|is erased; an erased account is never reactivated/,
        );
      }
      if (final === "active") {
        expect(erased).toBe(false);
        expect(e.code).toBe(1);
        expect(e.stdout).toMatch(/stale +erase .*is active now, but the plan saw it deactivated/);
      }
    }
  });
});
