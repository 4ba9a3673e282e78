// The GitHub Action: a thin shell over the same application core as the CLI (src/core/). It maps
// the Action's inputs onto the core's options, gives it the workflow log as its output, then
// publishes: outputs, the job summary, a sticky pull-request comment (plan), a drift issue (drift).
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import * as core from "@actions/core";
import type { PasswordPolicy } from "../config/passwords.js";
import * as app from "../core/commands.js";
import type { Io } from "../core/io.js";
import { BACKEND_CHOICES, type BackendChoice, type ServerOptions } from "../core/session.js";
import { planHasChanges } from "../domain/plan.js";
import { EXIT, ToolError } from "../errors.js";
import { driftSummaryLine, renderDriftMarkdown, renderDriftText } from "../report/drift.js";
import { escapeTerminal, mdCode } from "../report/escape.js";
import { renderMarkdown } from "../report/markdown.js";
import { applySummaryLine, type Report, summaryLine } from "../report/model.js";
import { renderPatchMarkdown } from "../report/patch.js";
import { roomSummaryLine } from "../report/rooms.js";
import { renderPlanText } from "../report/text.js";
import { VERSION } from "../version.js";
import { fitComment } from "./comment.js";
import { workflowEnv } from "./env.js";
import { GitHubApi } from "./github.js";
import { logUntrusted } from "./log.js";
import { policyWarning, reviewPolicy } from "./policyReview.js";

const DRIFT_LABEL = "synapse-gitops-drift";

interface Inputs {
  command: "plan" | "apply" | "drift" | "snapshot";
  /** With plan: the snapshot to plan against (offline, no token). With snapshot: where to write it. */
  snapshot?: string;
  config: string;
  server: ServerOptions;
  githubToken: string;
  comment: boolean;
  driftIssue: boolean;
  notifyRoom?: string;
  notifyAlways: boolean;
  maxDeactivations?: number;
  maxErasures?: number;
  maxRemovals?: number;
  concurrency: number;
  /** Seconds to wait for another apply's lock. */
  lockTimeout: number | undefined;
  passwordPolicy: PasswordPolicy;
}

function boolInput(name: string, fallback: boolean): boolean {
  const raw = core.getInput(name).trim().toLowerCase();
  if (raw === "") return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new ToolError(`input ${name} must be true or false, not ${JSON.stringify(raw)}`);
}

function intInput(name: string, min = 0): number | undefined {
  const raw = core.getInput(name).trim();
  if (raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new ToolError(`input ${name} must be a whole number ≥ ${min}, not ${JSON.stringify(raw)}`);
  return n;
}

function readInputs(): Inputs {
  const command = core.getInput("command", { required: true }).trim();
  if (command !== "plan" && command !== "apply" && command !== "drift" && command !== "snapshot") {
    throw new ToolError(`input command must be plan, apply, drift or snapshot, not ${JSON.stringify(command)}`);
  }
  const snapshot = core.getInput("snapshot").trim() || undefined;
  // A plan against a snapshot holds no token: a pull request's job needs no secret.
  const offline = command === "plan" && snapshot !== undefined;
  const adminToken = core.getInput("admin-token", { required: !offline });
  if (adminToken) core.setSecret(adminToken); // masked in every log line from here on
  const event = process.env.GITHUB_EVENT_NAME ?? "";
  const onPullRequest = event === "pull_request" || event === "pull_request_target";
  const optional = (name: string) => core.getInput(name).trim() || undefined;
  const homeserver = optional("homeserver");
  const backend = optional("backend") ?? "auto";
  if (!(BACKEND_CHOICES as readonly string[]).includes(backend)) {
    throw new ToolError(`input backend must be ${BACKEND_CHOICES.join(", ")}, not ${JSON.stringify(backend)}`);
  }
  const masUrl = optional("mas-url");
  // MAS_CLIENT_SECRET comes from the workflow's env (a secret): masked here too, should anything echo it.
  if (process.env.MAS_CLIENT_SECRET) core.setSecret(process.env.MAS_CLIENT_SECRET);
  const timeout = intInput("timeout", 1);
  const retries = intInput("retries");
  const inputs: Inputs = {
    command,
    ...(snapshot ? { snapshot } : {}),
    config: core.getInput("config").trim() || "users.yaml",
    server: {
      ...(homeserver ? { homeserver } : {}),
      backend: backend as BackendChoice,
      ...(masUrl ? { masUrl } : {}),
      ...(timeout === undefined ? {} : { timeoutMs: timeout * 1000 }),
      ...(retries === undefined ? {} : { retries }),
    },
    githubToken: core.getInput("github-token"),
    comment: boolInput("comment", command === "plan" && onPullRequest),
    driftIssue: boolInput("drift-issue", command === "drift"),
    notifyAlways: boolInput("notify-always", false),
    concurrency: intInput("concurrency", 1) ?? 8,
    lockTimeout: intInput("lock-timeout", 1),
    passwordPolicy: {
      ...(optional("password-env-prefix") ? { envPrefix: optional("password-env-prefix")! } : {}),
      ...(optional("password-env")
        ? {
            envNames: optional("password-env")!
              .split(/[\s,]+/)
              .filter(Boolean),
          }
        : {}),
      ...(optional("password-dir") ? { dir: optional("password-dir")! } : {}),
    },
  };
  // The token only ever goes to the homeserver of the workflow: the input, else SYNAPSE_URL.
  if (!offline && !homeserver && !process.env.SYNAPSE_URL) {
    throw new ToolError(
      "input homeserver is required",
      "set the Action's homeserver input (or SYNAPSE_URL in the workflow); a users file never chooses where the admin token goes",
    );
  }
  const room = optional("notify-room");
  if (room) inputs.notifyRoom = room;
  const maxDeactivations = intInput("max-deactivations");
  if (maxDeactivations !== undefined) inputs.maxDeactivations = maxDeactivations;
  const maxErasures = intInput("max-erasures");
  if (maxErasures !== undefined) inputs.maxErasures = maxErasures;
  const maxRemovals = intInput("max-removals");
  if (maxRemovals !== undefined) inputs.maxRemovals = maxRemovals;
  return inputs;
}

/** The workflow log, as the core sees it: no terminal, nobody to ask (the workflow is the approval). */
function workflowIo(adminToken: string | undefined): Io {
  return {
    // Reports carry display names and messages anyone can set: never a workflow command.
    out: (text) => logUntrusted(text.replace(/\n$/, "")),
    err: (text) => logUntrusted(text.replace(/\n$/, "")),
    progress: { update: () => {}, done: () => {} },
    env: workflowEnv(process.env, adminToken, (text) => core.warning(text)),
    // A cancelled workflow gets SIGINT (then SIGTERM): no new change starts, those in flight finish
    // and the run reports. Later signals change nothing; the runner ends the process when it must.
    onInterrupt: (handler) => {
      const onSignal = () => handler();
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      return () => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      };
    },
    now: () => Date.now(),
    runner: { host: hostname(), pid: process.pid },
  };
}

function github(inputs: Inputs): GitHubApi {
  const repository = process.env.GITHUB_REPOSITORY;
  if (!inputs.githubToken || !repository) {
    throw new ToolError(
      "posting to GitHub needs github-token and GITHUB_REPOSITORY",
      "keep the default github-token input",
    );
  }
  return new GitHubApi(process.env.GITHUB_API_URL ?? "https://api.github.com", inputs.githubToken, repository);
}

function runUrl(): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: id } = process.env;
  return server && repo && id ? `${server}/${repo}/actions/runs/${id}` : undefined;
}

function footer(): string {
  const sha = process.env.GITHUB_SHA?.slice(0, 7);
  const url = runUrl();
  return `<sub>synapse-gitops ${VERSION}${sha ? ` · ${sha}` : ""}${url ? ` · [run](${url})` : ""}</sub>`;
}

async function pullRequestNumber(): Promise<number | undefined> {
  const path = process.env.GITHUB_EVENT_PATH;
  if (!path) return undefined;
  const event = JSON.parse(await readFile(path, "utf8")) as { pull_request?: { number?: number } };
  return event.pull_request?.number;
}

/** One comment per config file on the pull request, found by its marker and updated in place. */
async function stickyComment(inputs: Inputs, markdown: string, summary: string): Promise<void> {
  const number = await pullRequestNumber();
  if (number === undefined) {
    core.warning("comment is on, but this run is not for a pull request: no comment posted");
    return;
  }
  const api = github(inputs);
  const marker = `<!-- synapse-gitops:plan:${inputs.config} -->`;
  const body = fitComment({ marker, markdown, summary, footer: footer(), fullReportUrl: runUrl() });
  const existing = await api.findComment(number, marker);
  if (!existing) await api.createComment(number, body);
  else if (existing.body !== body) await api.updateComment(existing.id, body);
  else core.info("the plan comment is already up to date");
}

/** One issue per config file while drift lasts: opened, updated, closed when the drift is gone. */
async function driftIssue(inputs: Inputs, drifted: boolean, markdown: string, serverName: string): Promise<void> {
  const api = github(inputs);
  const marker = `<!-- synapse-gitops:drift:${inputs.config} -->`;
  const open = await api.findOpenIssue(DRIFT_LABEL, marker);
  if (drifted) {
    const body = fitComment({ marker, markdown, summary: "", footer: footer(), fullReportUrl: runUrl() });
    if (!open) await api.createIssue(`Account drift on ${serverName} (${inputs.config})`, body, DRIFT_LABEL);
    else if (open.body !== body) await api.updateIssue(open.number, { body });
  } else if (open) {
    await api.createComment(
      open.number,
      `No drift any more: ${serverName} matches ${inputs.config} again. ${footer()}`,
    );
    await api.updateIssue(open.number, { state: "closed", state_reason: "completed" });
  }
}

/** On a pull request: a warning when its users file loosens the base branch's safety policy. */
async function loosenedPolicyWarning(inputs: Inputs): Promise<string> {
  const base = process.env.GITHUB_BASE_REF;
  if (!base) return "";
  let review: Awaited<ReturnType<typeof reviewPolicy>>;
  try {
    review = await reviewPolicy(github(inputs), inputs.config, base);
  } catch (e) {
    review = { cannotCompare: e instanceof Error ? e.message : String(e) };
  }
  if ("cannotCompare" in review)
    core.warning(`could not compare the safety policy with ${base}: ${review.cannotCompare}`);
  else if (review.changes.some((c) => c.loosens)) {
    const loosened = review.changes.filter((c) => c.loosens).map((c) => c.description);
    core.warning(`this pull request loosens the safety policy: ${loosened.join("; ")}`);
  }
  return policyWarning(review, base, mdCode);
}

async function publish(exitCode: number, hasChanges: boolean, summary: string, markdown: string): Promise<void> {
  core.setOutput("exit-code", String(exitCode));
  core.setOutput("has-changes", String(hasChanges));
  core.setOutput("summary", summary);
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(markdown, true).write();
}

async function run(): Promise<number> {
  const inputs = readInputs();
  const io = workflowIo(core.getInput("admin-token") || undefined);
  const common = {
    ...inputs.server,
    ...(inputs.notifyRoom ? { notifyRoom: inputs.notifyRoom } : {}),
    notifyAlways: inputs.notifyAlways,
  };
  const limits = {
    passwordPolicy: inputs.passwordPolicy,
    ...(inputs.maxDeactivations === undefined ? {} : { maxDeactivations: inputs.maxDeactivations }),
    ...(inputs.maxErasures === undefined ? {} : { maxErasures: inputs.maxErasures }),
    ...(inputs.maxRemovals === undefined ? {} : { maxRemovals: inputs.maxRemovals }),
  };
  const temp = process.env.RUNNER_TEMP ?? ".";

  if (inputs.command === "snapshot") {
    const out = inputs.snapshot ?? join(temp, "inventory.json");
    const exitCode = await app.snapshot(io, inputs.config, { ...inputs.server, out, concurrency: inputs.concurrency });
    core.setOutput("snapshot-file", out);
    core.setOutput("exit-code", String(exitCode));
    return exitCode;
  }

  if (inputs.command === "drift") {
    // The patch goes next to the command that reverts the drift: the issue offers both ways.
    const { exitCode, drift, patch } = await app.drift(io, inputs.config, { ...common, patch: true });
    const markdown = renderDriftMarkdown(drift) + (patch ? renderPatchMarkdown(drift, patch, inputs.config) : "");
    io.out(renderDriftText(drift));
    await publish(exitCode, drift.drifted, driftSummaryLine(drift, escapeTerminal), markdown);
    if (inputs.driftIssue) await driftIssue(inputs, drift.drifted, markdown, drift.serverName);
    return exitCode;
  }

  let report: Report;
  let exitCode: number;
  let summary: string;
  let markdown: string;
  if (inputs.command === "plan") {
    const planPath = join(temp, "synapse-gitops-plan.json");
    ({ report, exitCode } = await app.plan(io, inputs.config, {
      ...common,
      ...limits,
      detailedExitcode: true,
      ...(inputs.snapshot ? { snapshot: inputs.snapshot } : { out: planPath }),
    }));
    io.out(renderPlanText(report));
    if (!inputs.snapshot) core.setOutput("plan-file", planPath);
    summary = summaryLine(report.plan);
    markdown = (await loosenedPolicyWarning(inputs)) + renderMarkdown(report);
  } else {
    // apply keeps an audit log, attached to the job summary.
    const auditPath = join(temp, "synapse-gitops-audit.jsonl");
    ({ report, exitCode } = await app.apply(io, inputs.config, {
      ...common,
      ...limits,
      yes: true,
      concurrency: inputs.concurrency,
      ...(inputs.lockTimeout === undefined ? {} : { lockTimeoutMs: inputs.lockTimeout * 1000 }),
      auditLog: auditPath,
    }));
    summary = report.apply ? `${summaryLine(report.plan)} ${applySummaryLine(report.apply)}` : summaryLine(report.plan);
    if (report.plan.rooms) summary += ` ${roomSummaryLine(report.plan.rooms)}`;
    markdown = renderMarkdown(report);
    if (report.apply) {
      const log = await readFile(auditPath, "utf8");
      // A fence longer than any run of backticks in the log (user IDs may hold backticks).
      const fence = "`".repeat(Math.max(3, ...[...log.matchAll(/`+/g)].map((m) => m[0].length + 1)));
      markdown += `\n<details><summary>Audit log (${log.trim().split("\n").length} records)</summary>\n\n${fence}json\n${log}${fence}\n</details>\n`;
    }
  }
  await publish(exitCode, planHasChanges(report.plan), summary, markdown);
  if (inputs.command === "plan" && inputs.comment) await stickyComment(inputs, markdown, summary);
  return exitCode;
}

// The one error boundary of the Action: known errors fail the step with their message.
run().then(
  (code) => {
    if (code === EXIT.error) core.setFailed("synapse-gitops: refused or failed; see the report above");
  },
  (e: unknown) => {
    if (e instanceof ToolError) core.setFailed(`${e.message}${e.hint ? ` (${e.hint})` : ""}`);
    else
      core.setFailed(
        `synapse-gitops: unexpected error (a bug; please report it)\n${e instanceof Error ? e.stack : String(e)}`,
      );
  },
);
