// The GitHub Action's entry point, run as the runner runs it (INPUT_*, GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH), against the real Synapse and a fake GitHub API.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { marked } from "marked";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { SynapseClient } from "../../src/synapse/client.js";
import { BUILD_DIR, tempFiles } from "../support/cli.js";
import { ACTIONS_BOT, type FakeGitHub, OCTOCAT, startFakeGitHub } from "../support/fake-github.js";
import { commandsRun } from "../support/hostile.js";
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
  gh.tokenUser = undefined; // the workflow's GITHUB_TOKEN
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
  /** Sends the runner's cancellation (SIGINT) once this says so, looking at the log so far. */
  cancelWhen?: (stdout: string) => boolean,
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
    let cancelled = false;
    child.stdout.on("data", (d) => {
      stdout += d;
      if (!cancelled && cancelWhen?.(stdout)) {
        cancelled = true;
        child.kill("SIGINT");
      }
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

  it("finds the policy of a directory where the loader does, and says when it cannot compare", async () => {
    const u = uniqueLocalpart("rootyml");
    await client.createUser(id(u), {});
    const pr = gh.addIssue({ title: "Policy in _root.yml", pull_request: {} });
    const loose = "version: 1\npolicy:\n  unmanaged: ignore\n  maxErasures: 100000\nusers: {}\n";
    const team = `version: 1\nusers:\n  ${u}: active\n`;
    const dir = tempFiles({ "team.yaml": team, "_root.yml": loose });
    const event = { name: "pull_request", payload: { pull_request: { number: pr.number } }, baseRef: "main" };
    // The base branch had the same directory with the default policy in _root.yml: loosened.
    gh.files.set("main:_root.yml", "version: 1\npolicy:\n  unmanaged: ignore\nusers: {}\n");
    await runAction({ command: "plan", config: "." }, event, dir);
    expect(pr.comments[0]!.body).toContain("maxErasures 5 → 100000");
    // The base branch set it in _root.yaml instead: the two cannot be compared, and the comment says so.
    gh.files.delete("main:_root.yml");
    gh.files.set("main:_root.yaml", "version: 1\npolicy:\n  unmanaged: ignore\nusers: {}\n");
    await runAction({ command: "plan", config: "." }, event, dir);
    expect(pr.comments[0]!.body).toMatch(/The safety policy could not be compared with .*main.*Review it by hand/);
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

describe("the sticky comment and the drift issue are the token's own", () => {
  // A display name with everything that once got through: HTML that closes the table and forges a
  // heading, mentions, an ANSI line eraser, a carriage return and workflow commands.
  const HOSTILE_NAME = String.raw`"</td></tr></table><h1>No changes</h1> @room @acme/admins [x](https://evil.example)\e[1A\e[2K\r::warning::forged\n::error::forged ##[error]forged"`;

  it("leaves alone a comment by someone else that carries the marker, and escapes what the file says", async () => {
    const u = uniqueLocalpart("hostile");
    const pr = gh.addIssue({ title: "Innocent change", pull_request: {} });
    const marker = "<!-- synapse-gitops:plan:users.yaml -->";
    const planted = { id: 20_000, body: `${marker}\n### synapse-gitops plan\n\n**No changes.**`, user: OCTOCAT };
    pr.comments.push({ ...planted });
    const dir = tempFiles({ "users.yaml": usersFile(`  ${u}:\n    displayname: ${HOSTILE_NAME}\n`) });
    const event = { name: "pull_request", payload: { pull_request: { number: pr.number } } };

    const run = await runAction({ command: "plan" }, event, dir);
    expect(run.code).toBe(0);
    expect(pr.comments.find((c) => c.id === planted.id)).toEqual(planted);
    const ours = pr.comments.filter((c) => c.body.includes(marker) && c.id !== planted.id);
    expect(ours).toHaveLength(1);
    expect(ours[0]!.user).toEqual(ACTIONS_BOT);
    // GET /user is refused to the GITHUB_TOKEN (403); the Action then knows itself as the Actions bot.
    expect(gh.requests.some((r) => r.method === "GET" && r.path === "/user")).toBe(true);

    // The hostile display name forged nothing: one table row, no heading, link, mention or command.
    const html = marked.parse(ours[0]!.body, { gfm: true }) as string;
    expect(html.match(/<tr>/g)).toHaveLength(2);
    expect(html).not.toMatch(/<h1|<a href="https:\/\/evil/);
    expect(html.replace(/<code>[\s\S]*?<\/code>/g, "")).not.toMatch(/@(room|acme)/);
    expect(run.summary).toContain(ours[0]!.body.split("\n")[1]); // the job summary is the same report
    expect(marked.parse(run.summary, { gfm: true }) as string).not.toMatch(/<h1/);
    expect(commandsRun(run.stdout).filter((l) => !l.startsWith("::add-mask::"))).toEqual([]);
    expect(run.stdout).not.toMatch(/(?!\n)\p{Cc}/u);
    expectNoToken(run);

    // The next run updates our comment (here: finds it unchanged), never theirs, and adds none.
    gh.requests.length = 0;
    await runAction({ command: "plan" }, event, dir);
    expect(gh.writes()).toEqual([]);
    expect(pr.comments.find((c) => c.id === planted.id)).toEqual(planted);
  });

  it("with a personal token, knows itself from GET /user and leaves the Actions bot's comment alone", async () => {
    gh.tokenUser = { login: "accounts-bot", type: "User" };
    const u = uniqueLocalpart("pat");
    const pr = gh.addIssue({ title: "Add a user", pull_request: {} });
    const marker = "<!-- synapse-gitops:plan:users.yaml -->";
    const other = { id: 30_000, body: `${marker}\nanother workflow's comment`, user: ACTIONS_BOT };
    pr.comments.push({ ...other });
    const dir = tempFiles({ "users.yaml": usersFile(`  ${u}:\n    displayname: Pat\n`) });
    const event = { name: "pull_request", payload: { pull_request: { number: pr.number } } };

    await runAction({ command: "plan" }, event, dir);
    expect(pr.comments.find((c) => c.id === other.id)).toEqual(other);
    const ours = pr.comments.filter((c) => c.id !== other.id);
    expect(ours.map((c) => c.user)).toEqual([{ login: "accounts-bot", type: "User" }]);

    writeFileSync(join(dir, "users.yaml"), usersFile(`  ${u}:\n    displayname: Pat Changed\n`));
    gh.requests.length = 0;
    await runAction({ command: "plan" }, event, dir);
    expect(gh.writes().map((w) => `${w.method} ${w.path}`)).toEqual([
      `PATCH /repos/${REPO}/issues/comments/${ours[0]!.id}`,
    ]);
    expect(pr.comments.find((c) => c.id === other.id)).toEqual(other);
  });

  it("opens its own drift issue rather than adopt one someone else opened with the label and marker", async () => {
    const u = uniqueLocalpart("drift-own");
    const config = `accounts-${uniqueLocalpart("own")}.yaml`;
    const marker = `<!-- synapse-gitops:drift:${config} -->`;
    const planted = gh.addIssue({
      title: "Account drift",
      body: `${marker}\nnothing to see here`,
      labels: [{ name: "synapse-gitops-drift" }],
      user: OCTOCAT,
    });
    const dir = tempFiles({ [config]: usersFile(`  ${u}: active\n`) }); // not on the server: drift
    const run = await runAction({ command: "drift", config }, { name: "schedule" }, dir);
    expect(run.outputs["exit-code"]).toBe("2");
    expect(planted.body).toBe(`${marker}\nnothing to see here`);
    expect(planted.state).toBe("open");
    const ours = [...gh.issues.values()].filter((i) => i.body.includes(marker) && i !== planted);
    expect(ours).toHaveLength(1);
    expect(ours[0]!.user).toEqual(ACTIONS_BOT);
    expect(ours[0]!.body).toContain(id(u));
  });
});

describe("command: plan with rooms", () => {
  it("saves the plan with its room changes (the live plan always saves one for apply)", async () => {
    const u = uniqueLocalpart("roomie");
    await client.createUser(id(u), { displayname: u, password: "pw-action-rooms-1" });
    const local = uniqueLocalpart("actroom");
    const res = await fetch(`${server.url}/_matrix/client/v3/createRoom`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ room_alias_name: local, preset: "private_chat" }),
    });
    expect(res.status).toBe(200);
    const alias = `#${local}:${server.serverName}`;
    const pr = gh.addIssue({ title: "Join a room", pull_request: {} });
    const dir = tempFiles({ "users.yaml": usersFile(`  ${u}: active\nrooms:\n  "${alias}":\n    users: [${u}]\n`) });
    const run = await runAction(
      { command: "plan" },
      { name: "pull_request", payload: { pull_request: { number: pr.number } } },
      dir,
    );
    expect(run.code).toBe(0);
    expect(run.outputs["has-changes"]).toBe("true");
    expect(run.summary).toContain(`\`${id(u)}\``);
    const saved = JSON.parse(readFileSync(run.outputs["plan-file"]!, "utf8"));
    expect(saved.plan.rooms.changes).toMatchObject([{ kind: "join", room: alias, userId: id(u), from: "none" }]);
    expectNoToken(run);
  });
});

describe("command: apply on push", () => {
  it("a cancelled workflow finishes the changes in flight, reports, and fails the step", async () => {
    const prefix = uniqueLocalpart("cancel");
    // With emails each user is read back as it is done, so the log shows the first one early.
    const users = Array.from(
      { length: 40 },
      (_, i) => `  ${prefix}-${String(i).padStart(2, "0")}:\n    emails: [${prefix}-${i}@example.org]\n`,
    ).join("");
    const dir = tempFiles({ "users.yaml": usersFile(users) });
    const run = await runAction({ command: "apply", concurrency: "1" }, { name: "push" }, dir, (out) =>
      out.includes("  ok +"),
    );
    expect(run.code).toBe(1);
    expect(run.outputs["exit-code"]).toBe("1");
    const done = (run.stdout.match(/^ {2}ok \+ /gm) ?? []).length;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(40);
    expect(run.stdout).toContain("Stopping: no new changes start");
    expect(run.stdout).toMatch(new RegExp(`Apply: ${done} done, 0 failed, 0 stale, ${40 - done} not started\\.`));
    expect(run.summary).toContain(`not started`);
    expectNoToken(run);
  });

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
  it("someone reactivated bob in an admin UI: the issue says so, and offers both ways (apply, or the patch)", async () => {
    const bob = uniqueLocalpart("drift-bob");
    await client.createUser(id(bob), {});
    await client.deactivate(id(bob), { erase: false });
    const config = `accounts-${uniqueLocalpart("c")}.yaml`;
    const dir = tempFiles({ [config]: usersFile(`  ${bob}: deactivated # left in May\n`) });
    await client.modifyUser(id(bob), { deactivated: false });

    const run = await runAction({ command: "drift", config }, { name: "schedule" }, dir);
    expect(run.outputs["exit-code"]).toBe("2");
    const issue = [...gh.issues.values()].find((i) => i.body.includes(`<!-- synapse-gitops:drift:${config} -->`))!;
    expect(issue.body).toMatch(/🚨 Reactivated behind the file's back/);
    expect(issue.body).toContain(`\`synapse-gitops apply ${config}\``);
    const html = await marked.parse(issue.body);
    const diff = /<pre><code class="language-diff">([\s\S]*?)<\/code><\/pre>/.exec(html)?.[1];
    expect(diff).toContain(`-  ${bob}: deactivated # left in May`);
    expect(diff).toContain(`+  ${bob}: active # left in May`);
    expect(run.summary).toContain("Two ways to end this drift");
    expectNoToken(run);
  });

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
