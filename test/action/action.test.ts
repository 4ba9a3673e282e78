// The GitHub Action's entry point, run as the runner runs it (INPUT_*, GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH), against the real Synapse and a fake GitHub API.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { SynapseClient } from "../../src/synapse/client.js";
import { BUILD_DIR, tempFiles } from "../support/cli.js";
import { type FakeGitHub, startFakeGitHub } from "../support/fake-github.js";
import { clientFor, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
const REPO = "acme/accounts";
let client: SynapseClient;
let gh: FakeGitHub;
beforeAll(async () => {
  client = clientFor(server);
  gh = await startFakeGitHub(REPO);
});
afterAll(async () => {
  await client.close();
  await gh.close();
});
beforeEach(() => {
  gh.requests.length = 0;
});

const id = (localpart: string) => `@${localpart}:${server.serverName}`;

interface ActionRun {
  code: number;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

/** Runs dist's action.js like the runner: inputs as INPUT_<NAME>, files for outputs and summary. */
function runAction(
  inputs: Record<string, string>,
  event: { name: string; payload?: object; baseRef?: string },
  dir: string,
): Promise<ActionRun> {
  const outputFile = join(dir, `output-${Math.random()}`);
  const summaryFile = join(dir, `summary-${Math.random()}`);
  const eventFile = join(dir, "event.json");
  writeFileSync(outputFile, "");
  writeFileSync(summaryFile, "");
  writeFileSync(eventFile, JSON.stringify(event.payload ?? {}));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    SYNAPSE_URL: server.url,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_EVENT_PATH: eventFile,
    GITHUB_EVENT_NAME: event.name,
    GITHUB_REPOSITORY: REPO,
    GITHUB_API_URL: gh.url,
    GITHUB_SERVER_URL: "https://github.example",
    GITHUB_RUN_ID: "4242",
    GITHUB_SHA: "0123456789abcdef",
    RUNNER_TEMP: dir,
    "INPUT_ADMIN-TOKEN": server.token,
    "INPUT_GITHUB-TOKEN": "fake-github-token",
    ...(event.baseRef ? { GITHUB_BASE_REF: event.baseRef } : {}),
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(BUILD_DIR, "action.js")], {
      cwd: dir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stdout += d;
    });
    child.on("close", (code) => {
      const outputs: Record<string, string> = {};
      for (const m of readFileSync(outputFile, "utf8").matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm))
        outputs[m[1]!] = m[3]!;
      resolve({ code: code ?? -1, stdout, outputs, summary: readFileSync(summaryFile, "utf8") });
    });
  });
}

/** The runner hides `::add-mask::` lines and masks the value everywhere else; nothing else may show it. */
function expectNoToken(run: ActionRun) {
  const visible = run.stdout.split("\n").filter((l) => !l.startsWith("::add-mask::"));
  expect(visible.join("\n")).not.toContain(server.token);
  expect(JSON.stringify(run.outputs) + run.summary).not.toContain(server.token);
}

const usersFile = (users: string) => `version: 1\npolicy:\n  unmanaged: ignore\nusers:\n${users}`;

describe("command: plan on a pull request", () => {
  it("posts one sticky comment, found by its marker across pages, updated in place only when it changes", async () => {
    const u = uniqueLocalpart("pr");
    const pr = gh.addIssue({ title: "Add a user", pull_request: {} });
    for (let i = 0; i < 130; i++) pr.comments.push({ id: 10_000 + i, body: `unrelated comment ${i}` });
    const dir = tempFiles({ "users.yaml": usersFile(`  ${u}:\n    displayname: Pat\n`) });
    const event = { name: "pull_request", payload: { pull_request: { number: pr.number } } };

    const first = await runAction({ command: "plan" }, event, dir);
    expect(first.code).toBe(0);
    expect(first.outputs).toMatchObject({
      "exit-code": "2",
      "has-changes": "true",
      summary: "Plan: 1 to create, 0 to update, 0 to deactivate, 0 to erase, 0 to reactivate.",
    });
    expect(first.summary).toContain(`| ➕ | \`${id(u)}\` | create |`);
    expect(JSON.parse(readFileSync(first.outputs["plan-file"]!, "utf8"))).toMatchObject({
      kind: "synapse-gitops-plan",
    });
    expectNoToken(first);
    const mine = pr.comments.filter((c) => c.body.includes("<!-- synapse-gitops:plan:users.yaml -->"));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.body).toContain(`\`${id(u)}\``);
    // The runner's own token never reaches GitHub: only the github-token does.
    expect(gh.requests.every((r) => r.authorization === "Bearer fake-github-token")).toBe(true);

    gh.requests.length = 0;
    await runAction({ command: "plan" }, event, dir);
    expect(gh.writes()).toEqual([]); // same plan: no write at all

    writeFileSync(join(dir, "users.yaml"), usersFile(`  ${u}:\n    displayname: Pat Changed\n`));
    await runAction({ command: "plan" }, event, dir);
    expect(gh.writes().map((w) => `${w.method} ${w.path}`)).toEqual([
      `PATCH /repos/${REPO}/issues/comments/${mine[0]!.id}`,
    ]);
    expect(pr.comments.filter((c) => c.body.includes("synapse-gitops:plan")).map((c) => c.id)).toEqual([mine[0]!.id]);
    expect(pr.comments.find((c) => c.id === mine[0]!.id)!.body).toContain("Pat Changed");
  });

  it("keeps a huge plan under GitHub's 65,536-character limit, pointing to the job summary", async () => {
    const pr = gh.addIssue({ title: "Onboard a department", pull_request: {} });
    const prefix = uniqueLocalpart("bulk");
    const long = "A very long display name that goes on and on ".repeat(4);
    const users = Array.from({ length: 500 }, (_, i) => `  ${prefix}-${i}:\n    displayname: "${long}${i}"\n`).join("");
    const dir = tempFiles({ "users.yaml": usersFile(users) });
    const run = await runAction(
      { command: "plan" },
      { name: "pull_request", payload: { pull_request: { number: pr.number } } },
      dir,
    );
    expect(run.code).toBe(0);
    expect(run.summary.length).toBeGreaterThan(65_536);
    const [comment] = pr.comments;
    expect(comment!.body.length).toBeLessThanOrEqual(65_536);
    expect(comment!.body).toContain("Plan: 500 to create");
    expect(comment!.body).toContain("[job summary](https://github.example/acme/accounts/actions/runs/4242)");
    expect(comment!.body).toContain("<details>");
  });

  it("warns at the top of the comment when the pull request loosens the safety policy", async () => {
    const u = uniqueLocalpart("loosen");
    await client.createUser(id(u), {});
    const pr = gh.addIssue({ title: "Tidy the policy", pull_request: {} });
    const base = `version: 1\npolicy:\n  unmanaged: ignore\n  protected: ["@root:${server.serverName}"]\nusers:\n  ${u}: active\n`;
    const head = `version: 1\npolicy:\n  unmanaged: ignore\n  maxDeactivations: 100000\n  protected: []\nusers:\n  ${u}: active\n`;
    gh.files.set("main:users.yaml", base);
    const dir = tempFiles({ "users.yaml": head });
    const event = { name: "pull_request", payload: { pull_request: { number: pr.number } }, baseRef: "main" };
    const run = await runAction({ command: "plan" }, event, dir);
    expect(run.code).toBe(0);
    expect(run.outputs.summary).toBe("No changes: the server matches the file.");
    const body = pr.comments[0]!.body;
    const warning = body.indexOf("**This pull request loosens the safety policy**");
    expect(warning).toBeGreaterThan(0);
    expect(warning).toBeLessThan(body.indexOf("No changes"));
    expect(body).toContain("maxDeactivations 10 → 100000");
    expect(body).toContain(`protected no longer lists @root:${server.serverName}`);
    expect(run.stdout).toMatch(/^::warning::this pull request loosens the safety policy/m);
    // The same file on the base branch: no warning.
    gh.files.set("main:users.yaml", head);
    await runAction({ command: "plan" }, event, dir);
    expect(pr.comments[0]!.body).not.toContain("loosens the safety policy");
  });

  it("a refused plan fails the step", async () => {
    const u = uniqueLocalpart("gone");
    await client.createUser(id(u), {});
    await client.deactivate(id(u), { erase: true });
    const dir = tempFiles({ "users.yaml": usersFile(`  ${u}: active\n`) });
    const run = await runAction({ command: "plan", comment: "false" }, { name: "pull_request" }, dir);
    expect(run.code).toBe(1);
    expect(run.outputs["exit-code"]).toBe("1");
    expect(run.stdout).toContain("::error::synapse-gitops: refused or failed");
    expectNoToken(run);
  });
});

describe("command: apply on push", () => {
  it("applies without asking and reports in the outputs and the job summary", async () => {
    const u = uniqueLocalpart("merged");
    const dir = tempFiles({ "users.yaml": usersFile(`  ${u}:\n    displayname: Merged\n`) });
    const run = await runAction({ command: "apply" }, { name: "push" }, dir);
    expect(run.code).toBe(0);
    expect(run.outputs["exit-code"]).toBe("0");
    expect(run.outputs.summary).toMatch(/Apply: 1 done, 0 failed, 0 stale\.$/);
    expect(run.summary).toContain("Apply: 1 done");
    // The audit log rides along in the job summary.
    expect(run.summary).toMatch(/<details><summary>Audit log \(\d+ records\)<\/summary>/);
    expect(run.summary).toContain(`"type":"action","userId":"${id(u)}","action":"create"`);
    expect(await client.getUser(id(u))).toMatchObject({ state: "active", displayname: "Merged" });
    expect(gh.writes()).toEqual([]); // no comment on push
    expectNoToken(run);
  });
});

describe("command: drift on a schedule", () => {
  it("opens one issue, updates it while drift persists, closes it when the drift is gone", async () => {
    const [a, b] = [uniqueLocalpart("drift-a"), uniqueLocalpart("drift-b")];
    await client.createUser(id(a), {});
    await client.createUser(id(b), {});
    const config = `accounts-${uniqueLocalpart("c")}.yaml`;
    const dir = tempFiles({ [config]: usersFile(`  ${a}: active\n  ${b}: active\n`) });
    const decoy = gh.addIssue({
      title: "Account drift on test.local",
      body: "a person's own issue",
      labels: [{ name: "synapse-gitops-drift" }],
    });
    const drift = () => runAction({ command: "drift", config }, { name: "schedule" }, dir);

    expect((await drift()).outputs["exit-code"]).toBe("0");
    expect(gh.writes()).toEqual([]);

    await client.deactivate(id(a), { erase: false });
    const opened = await drift();
    expect(opened.outputs).toMatchObject({ "exit-code": "2", "has-changes": "true" });
    const mine = () =>
      [...gh.issues.values()].filter((i) => i.body.includes(`<!-- synapse-gitops:drift:${config} -->`));
    expect(mine()).toHaveLength(1);
    const issue = mine()[0]!;
    expect(issue.labels).toEqual([{ name: "synapse-gitops-drift" }]);
    expect(issue.body).toContain(id(a));

    gh.requests.length = 0;
    await client.deactivate(id(b), { erase: false });
    await drift();
    expect(gh.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /repos/${REPO}/issues/${issue.number}`]);
    expect(issue.body).toContain(id(b));

    writeFileSync(join(dir, config), usersFile(`  ${a}: deactivated\n  ${b}: deactivated\n`));
    const fixed = await drift();
    expect(fixed.outputs["exit-code"]).toBe("0");
    expect(issue.state).toBe("closed");
    expect(issue.comments.at(-1)!.body).toContain("No drift any more");
    expect(decoy.state).toBe("open"); // found by label and marker, never by title
    expect(decoy.body).toBe("a person's own issue");
    expectNoToken(fixed);
  });
});
