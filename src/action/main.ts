// The GitHub Action's entry point: maps the Action's inputs onto the same core as the CLI
// (reconcile.ts, apply/, report/), then publishes: outputs, the job summary, a sticky
// pull-request comment (plan), a drift issue (drift), a Matrix notice (any).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as core from "@actions/core";
import { applyPlan } from "../apply/apply.js";
import { AuditLog } from "../audit.js";
import { ToolError } from "../errors.js";
import { notifyRoom } from "../notify/matrix.js";
import { writePlanFile } from "../plan/file.js";
import { driftFromFile, type PlanOptions, planFromFile } from "../reconcile.js";
import { driftSummaryLine, renderDriftMarkdown, renderDriftText } from "../report/drift.js";
import { escapeTerminal } from "../report/escape.js";
import { renderMarkdown } from "../report/markdown.js";
import { applySummaryLine, type Report, summaryLine } from "../report/model.js";
import { renderApplyText, renderPlanText } from "../report/text.js";
import type { MutationRecord } from "../synapse/client.js";
import { VERSION } from "../version.js";
import { fitComment } from "./comment.js";
import { GitHubApi } from "./github.js";
import { logUntrusted } from "./log.js";

const DRIFT_LABEL = "synapse-gitops-drift";

interface Inputs {
  command: "plan" | "apply" | "drift";
  config: string;
  homeserver?: string;
  adminToken: string;
  githubToken: string;
  comment: boolean;
  driftIssue: boolean;
  notifyRoom?: string;
  maxDeactivations?: number;
  maxErasures?: number;
}

function boolInput(name: string, fallback: boolean): boolean {
  const raw = core.getInput(name).trim().toLowerCase();
  if (raw === "") return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new ToolError(`input ${name} must be true or false, not ${JSON.stringify(raw)}`);
}

function intInput(name: string): number | undefined {
  const raw = core.getInput(name).trim();
  if (raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new ToolError(`input ${name} must be a whole number ≥ 0, not ${JSON.stringify(raw)}`);
  return n;
}

function readInputs(): Inputs {
  const adminToken = core.getInput("admin-token", { required: true });
  core.setSecret(adminToken); // masked in every log line from here on
  const command = core.getInput("command", { required: true }).trim();
  if (command !== "plan" && command !== "apply" && command !== "drift") {
    throw new ToolError(`input command must be plan, apply or drift, not ${JSON.stringify(command)}`);
  }
  const event = process.env.GITHUB_EVENT_NAME ?? "";
  const onPullRequest = event === "pull_request" || event === "pull_request_target";
  const optional = (name: string) => core.getInput(name).trim() || undefined;
  const inputs: Inputs = {
    command,
    config: core.getInput("config").trim() || "users.yaml",
    adminToken,
    githubToken: core.getInput("github-token"),
    comment: boolInput("comment", command === "plan" && onPullRequest),
    driftIssue: boolInput("drift-issue", command === "drift"),
  };
  const homeserver = optional("homeserver");
  if (homeserver) inputs.homeserver = homeserver;
  const room = optional("notify-room");
  if (room) inputs.notifyRoom = room;
  const maxDeactivations = intInput("max-deactivations");
  if (maxDeactivations !== undefined) inputs.maxDeactivations = maxDeactivations;
  const maxErasures = intInput("max-erasures");
  if (maxErasures !== undefined) inputs.maxErasures = maxErasures;
  return inputs;
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

async function publish(exitCode: number, hasChanges: boolean, summary: string, markdown: string): Promise<void> {
  core.setOutput("exit-code", String(exitCode));
  core.setOutput("has-changes", String(hasChanges));
  core.setOutput("summary", summary);
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(markdown, true).write();
}

async function run(): Promise<number> {
  const inputs = readInputs();
  // apply keeps an audit log, attached to the job summary.
  const auditPath = join(process.env.RUNNER_TEMP ?? ".", "synapse-gitops-audit.jsonl");
  const audit = inputs.command === "apply" ? new AuditLog(auditPath) : undefined;
  const options: PlanOptions = {
    env: { ...process.env, SYNAPSE_ADMIN_TOKEN: inputs.adminToken },
    ...(audit ? { onMutation: (r: MutationRecord) => audit.request(r) } : {}),
    ...(inputs.homeserver ? { homeserver: inputs.homeserver } : {}),
    ...(inputs.maxDeactivations === undefined ? {} : { maxDeactivations: inputs.maxDeactivations }),
    ...(inputs.maxErasures === undefined ? {} : { maxErasures: inputs.maxErasures }),
  };

  if (inputs.command === "drift") {
    const { connection, drift } = await driftFromFile(inputs.config, options);
    try {
      const markdown = renderDriftMarkdown(drift);
      logUntrusted(renderDriftText(drift));
      const exitCode = drift.drifted ? 2 : 0;
      await publish(exitCode, drift.drifted, driftSummaryLine(drift, escapeTerminal), markdown);
      if (inputs.driftIssue) await driftIssue(inputs, drift.drifted, markdown, drift.serverName);
      if (inputs.notifyRoom && drift.drifted)
        await notifyRoom(connection.client, inputs.notifyRoom, { text: renderDriftText(drift), markdown });
      return exitCode;
    } finally {
      await connection.client.close();
    }
  }

  const { connection, plan, desired, listed } = await planFromFile(inputs.config, options);
  try {
    let report: Report = { command: inputs.command, plan, unmanagedPolicy: desired.policy.unmanaged };
    logUntrusted(renderPlanText(report));
    let exitCode = plan.refusals.length > 0 ? 1 : plan.actions.length > 0 ? 2 : 0;
    let summary = summaryLine(plan);
    if (inputs.command === "plan") {
      const planPath = join(process.env.RUNNER_TEMP ?? ".", "synapse-gitops-plan.json");
      const content = { homeserver: connection.homeserver, serverName: connection.serverName, plan };
      await writeFile(
        planPath,
        writePlanFile(
          {
            ...content,
            desired: { files: desired.files, sha256: desired.sha256 },
            unmanagedPolicy: desired.policy.unmanaged,
          },
          connection.token,
        ),
      );
      core.setOutput("plan-file", planPath);
    } else if (exitCode === 2) {
      // apply: non-interactive, the workflow is the approval (a merged pull request).
      audit?.run({
        command: "apply",
        server: connection.serverName,
        homeserver: connection.homeserver,
        actor: connection.ownUserId,
        files: desired.files,
        sha256: desired.sha256,
      });
      const result = await applyPlan(connection.client, plan, {
        concurrency: 8,
        inventorySize: listed,
        onLockWait: () =>
          core.info("Another synapse-gitops apply is running on this server; waiting for it to finish…"),
        onResult: (r) => {
          audit?.action(r);
          const message = r.message ? `: ${escapeTerminal(r.message)}` : "";
          logUntrusted(`${r.outcome} ${r.action.kind} ${escapeTerminal(r.action.userId)}${message}`);
        },
      });
      report = { ...report, apply: result };
      logUntrusted(renderApplyText(report));
      exitCode = result.summary.done === result.results.length ? 0 : 1;
      summary = `${summary} ${applySummaryLine(result)}`;
    }
    let markdown = renderMarkdown(report);
    if (audit && report.apply) {
      const log = await readFile(auditPath, "utf8");
      markdown += `\n<details><summary>Audit log (${log.trim().split("\n").length} records)</summary>\n\n\`\`\`json\n${log}\`\`\`\n</details>\n`;
    }
    await publish(exitCode, plan.actions.length > 0, summary, markdown);
    if (inputs.command === "plan" && inputs.comment) await stickyComment(inputs, markdown, summary);
    if (inputs.notifyRoom && (plan.actions.length > 0 || plan.refusals.length > 0)) {
      await notifyRoom(connection.client, inputs.notifyRoom, {
        text: renderPlanText(report) + renderApplyText(report),
        markdown,
      });
    }
    return exitCode;
  } finally {
    await connection.client.close();
  }
}

// The one error boundary of the Action: known errors fail the step with their message.
run().then(
  (code) => {
    if (code === 1) core.setFailed("synapse-gitops: refused or failed; see the report above");
  },
  (e: unknown) => {
    if (e instanceof ToolError) core.setFailed(`${e.message}${e.hint ? ` (${e.hint})` : ""}`);
    else
      core.setFailed(
        `synapse-gitops: unexpected error (a bug; please report it)\n${e instanceof Error ? e.stack : String(e)}`,
      );
  },
);
