// The CLI's commands: each reads → validates → plans → renders and returns its exit code. They are
// loaded by cli.ts only when a command runs, so `--version` and `--help` start fast. Only this file,
// cli.ts and the GitHub Action's entry print or touch `process`.
import { readFile, writeFile } from "node:fs/promises";
import { createInterface } from "node:readline/promises";
import { type ApplyResult, applyPlan } from "./apply/apply.js";
import { abandonMarginMs, describeHolder, forceUnlock, type LeaseInfo, readLease } from "./apply/lock.js";
import { AuditLog } from "./audit.js";
import { exportUsersFile } from "./config/export.js";
import { loadDesiredState } from "./config/load.js";
import { usersFileJsonSchema } from "./config/schema.js";
import { EXIT, ToolError } from "./errors.js";
import { notifyRoom } from "./notify/matrix.js";
import { readPlanFile, stalePreconditions, writePlanFile } from "./plan/file.js";
import type { Plan } from "./plan/types.js";
import { type Connection, type ConnectionOptions, connect, driftFromFile, planFromFile } from "./reconcile.js";
import { renderDriftJson, renderDriftMarkdown, renderDriftText } from "./report/drift.js";
import { renderJson } from "./report/json.js";
import { renderMarkdown } from "./report/markdown.js";
import type { Report } from "./report/model.js";
import { actionLines, renderApplyText, renderPlanText, resultLine } from "./report/text.js";
import type { MutationRecord } from "./synapse/client.js";
import { readInventory } from "./synapse/inventory.js";
import { VERSION } from "./version.js";

const out = (text: string) => process.stdout.write(text);
const err = (text: string) => process.stderr.write(text);

/** A one-line progress display on a terminal; silent otherwise (CI logs stay clean). */
function progress(): { update: (text: string) => void; done: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, done: () => {} };
  let shown = false;
  return {
    update: (text) => {
      err(`\r\x1b[2K${text}`);
      shown = true;
    },
    done: () => {
      if (shown) err("\r\x1b[2K");
    },
  };
}

export interface ServerFlags {
  homeserver?: string;
  tokenFile?: string;
  allowInsecureHttp?: boolean;
  timeout?: number;
  retries?: number;
  auditLog?: string;
}

export interface NotifyFlags {
  notifyRoom?: string;
  notifyAlways?: boolean;
}

/** Posts when asked to and there is something to say (or always, with --notify-always). */
async function maybeNotify(
  connection: Connection,
  flags: NotifyFlags,
  somethingToSay: boolean,
  report: { text: string; markdown: string },
) {
  if (!flags.notifyRoom || !(somethingToSay || flags.notifyAlways)) return;
  await notifyRoom(connection.client, flags.notifyRoom, report);
  err(`posted the report to ${flags.notifyRoom}\n`);
}

function connectionOptions(flags: ServerFlags, concurrency?: number, audit?: AuditLog): ConnectionOptions {
  return {
    ...(audit ? { onMutation: (r: MutationRecord) => audit.request(r) } : {}),
    ...(flags.homeserver ? { homeserver: flags.homeserver } : {}),
    ...(flags.tokenFile ? { tokenFile: flags.tokenFile } : {}),
    ...(flags.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout * 1000 }),
    ...(flags.retries === undefined ? {} : { retries: flags.retries }),
  };
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim() === "yes";
  } finally {
    rl.close();
  }
}

export async function validateCommand(file: string): Promise<number> {
  const desired = await loadDesiredState(file);
  const counts = { active: 0, deactivated: 0, erased: 0 };
  for (const u of desired.users.values()) counts[u.state]++;
  out(
    `${desired.files.join(", ")}: valid — ${desired.users.size} users (${counts.active} active, ${counts.deactivated} deactivated, ${counts.erased} erased)\n`,
  );

  return EXIT.ok;
}

export type PlanFlags = ServerFlags &
  NotifyFlags & {
    format: string;
    detailedExitcode?: boolean;
    out?: string;
    maxDeactivations?: number;
    maxErasures?: number;
  };
export type ApplyFlags = ServerFlags &
  NotifyFlags & {
    plan?: string;
    yes?: boolean;
    concurrency: number;
    maxDeactivations?: number;
    maxErasures?: number;
  } & LockFlags;
/** --lock-timeout and the hidden --lock-ttl, in seconds. */
export type LockFlags = { lockTimeout?: number; lockTtl?: number };
export type ForceUnlockFlags = ServerFlags & { yes?: boolean };
export type DriftFlags = ServerFlags & NotifyFlags & { format: string };
export type ExportFlags = ServerFlags & { out?: string; concurrency: number };

export async function planCommand(file: string, flags: PlanFlags): Promise<number> {
  const bar = progress();
  const run = await planFromFile(file, { ...connectionOptions(flags), ...limits(flags), onProgress: bar.update });
  bar.done();
  const { connection, plan } = run;
  try {
    const report: Report = { command: "plan", plan, unmanagedPolicy: run.desired.policy.unmanaged };
    out(
      flags.format === "json"
        ? renderJson(report)
        : flags.format === "markdown"
          ? renderMarkdown(report)
          : renderPlanText(report),
    );
    if (flags.out) {
      const content = { homeserver: connection.homeserver, serverName: connection.serverName, plan };
      const desired = { files: run.desired.files, sha256: run.desired.sha256 };
      await writeFile(
        flags.out,
        writePlanFile({ ...content, desired, unmanagedPolicy: run.desired.policy.unmanaged }, connection.token),
      );
      err(`saved the plan to ${flags.out}; apply it with: synapse-gitops apply --plan ${flags.out}\n`);
    }
    await maybeNotify(connection, flags, plan.actions.length + plan.refusals.length > 0, {
      text: renderPlanText(report),
      markdown: renderMarkdown(report),
    });
  } finally {
    await connection.client.close();
  }
  if (plan.refusals.length > 0) return EXIT.error;
  return flags.detailedExitcode && plan.actions.length > 0 ? EXIT.changes : EXIT.ok;
}

export async function applyCommand(file: string, flags: ApplyFlags): Promise<number> {
  const bar = progress();
  const audit = flags.auditLog ? new AuditLog(flags.auditLog) : undefined;
  let connection: Connection;
  let plan: Plan;
  let unmanagedPolicy: Report["unmanagedPolicy"];
  let source: { files?: string[]; sha256?: string } = {};
  let inventorySize: number;
  if (flags.plan) {
    ({ connection, plan, unmanagedPolicy, inventorySize } = await loadSavedPlan(flags.plan, flags, bar.update, audit));
  } else {
    const run = await planFromFile(file, {
      ...connectionOptions(flags, flags.concurrency, audit),
      ...limits(flags),
      onProgress: bar.update,
    });
    ({ connection, plan } = run);
    unmanagedPolicy = run.desired.policy.unmanaged;
    inventorySize = run.listed;
    source = { files: run.desired.files, sha256: run.desired.sha256 };
  }
  bar.done();
  try {
    audit?.run({
      command: flags.plan ? `apply --plan ${flags.plan}` : "apply",
      server: connection.serverName,
      homeserver: connection.homeserver,
      actor: connection.ownUserId,
      ...source,
    });
    return await confirmAndApply(
      connection,
      { command: "apply", plan, unmanagedPolicy },
      { ...flags, inventorySize },
      audit,
    );
  } finally {
    await connection.client.close();
  }
}

export async function driftCommand(file: string, flags: DriftFlags): Promise<number> {
  const bar = progress();
  const { connection, drift } = await driftFromFile(file, { ...connectionOptions(flags), onProgress: bar.update });
  bar.done();
  try {
    out(
      flags.format === "json"
        ? renderDriftJson(drift)
        : flags.format === "markdown"
          ? renderDriftMarkdown(drift)
          : renderDriftText(drift),
    );
    await maybeNotify(connection, flags, drift.drifted, {
      text: renderDriftText(drift),
      markdown: renderDriftMarkdown(drift),
    });
  } finally {
    await connection.client.close();
  }
  return drift.drifted ? EXIT.changes : EXIT.ok;
}

export async function exportCommand(flags: ExportFlags): Promise<number> {
  const connection = await connect(connectionOptions(flags, flags.concurrency));
  const bar = progress();
  try {
    const users = await readInventory(connection.client, {
      // Emails and external IDs are only in the single-user GET; only active users carry attributes.
      needsDetails: (u) => u.state === "active",
      concurrency: flags.concurrency,
      onProgress: (p) =>
        bar.update(p.detailed ? `details ${p.detailed}/${p.detailsNeeded}` : `listed ${p.listed} users`),
    });
    bar.done();
    const header = `# Exported by synapse-gitops ${VERSION} from ${connection.serverName}. Check it with: synapse-gitops plan FILE\n`;
    const text = exportUsersFile(users.values(), connection.serverName, header);
    if (flags.out) {
      await writeFile(flags.out, text);
      err(`wrote ${users.size} users to ${flags.out}\n`);
    } else out(text);
  } finally {
    await connection.client.close();
  }

  return EXIT.ok;
}

export async function schemaCommand(): Promise<number> {
  out(`${JSON.stringify(usersFileJsonSchema(), null, 2)}\n`);

  return EXIT.ok;
}

/** A saved plan, authenticated and checked against the live server: any stale precondition refuses it whole. */
async function loadSavedPlan(
  path: string,
  flags: ServerFlags & { concurrency: number },
  onProgress: (text: string) => void,
  audit?: AuditLog,
) {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new ToolError(`cannot read the plan file ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`);
  }
  // The plan names the server it was made for; flags and SYNAPSE_URL still take precedence (and must agree).
  let planHomeserver: string | undefined;
  try {
    const h = (JSON.parse(text) as { homeserver?: unknown }).homeserver;
    if (typeof h === "string") planHomeserver = h;
  } catch {
    // readPlanFile reports it below, once connected … or connect fails first on a missing homeserver.
  }
  const connection = await connect(connectionOptions(flags, flags.concurrency, audit), planHomeserver);
  try {
    const saved = readPlanFile(text, path, connection.token, {
      homeserver: connection.homeserver,
      serverName: connection.serverName,
    });
    const actual = await readInventory(connection.client, {
      onProgress: (p) => onProgress(`checking ${p.listed} users`),
    });
    const stale = stalePreconditions(saved.plan, actual);
    if (stale.length > 0) {
      throw new ToolError(`${stale.join("\n")}\nNothing was applied.`);
    }
    return { connection, plan: saved.plan, unmanagedPolicy: saved.unmanagedPolicy, inventorySize: actual.size };
  } catch (e) {
    await connection.client.close();
    throw e;
  }
}

/** Shows the plan, asks (or takes --yes), applies, reports; returns the exit code. */
async function confirmAndApply(
  connection: Connection,
  report: Report,
  flags: NotifyFlags & LockFlags & { yes?: boolean; concurrency: number; inventorySize: number },
  audit?: AuditLog,
): Promise<number> {
  const { plan } = report;
  out(renderPlanText(report));
  if (plan.refusals.length > 0) {
    err("Nothing was applied: the plan has refusals.\n");
    await maybeNotify(connection, flags, true, { text: renderPlanText(report), markdown: renderMarkdown(report) });
    return EXIT.error;
  }
  if (plan.actions.length === 0) {
    await maybeNotify(connection, flags, false, { text: renderPlanText(report), markdown: renderMarkdown(report) });
    return EXIT.ok;
  }
  if (!flags.yes) {
    if (!process.stdin.isTTY)
      throw new ToolError("apply needs --yes when it is not run from a terminal; nothing was changed");
    if (
      !(await confirm(`\nApply these ${plan.actions.length} changes to ${plan.serverName}? Only 'yes' is accepted: `))
    ) {
      err("Nothing was applied.\n");
      return EXIT.error;
    }
  }
  out("\n");
  // The first SIGINT/SIGTERM stops new changes and lets those in flight finish (each is bounded by
  // --timeout); a second one exits at once.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      err(`\n${signal} again: exiting now; some changes may be half done. Run apply again to finish.\n`);
      process.exit(130);
    }
    err("\nStopping: no new changes start; waiting for those in flight (again to exit now)…\n");
    stopping = true;
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  let result: ApplyResult;
  const bar = progress();
  try {
    result = await applyPlan(connection.client, plan, {
      onApplied: (sent, total) => bar.update(`applied ${sent}/${total}`),
      concurrency: flags.concurrency,
      inventorySize: flags.inventorySize,
      shouldContinue: () => !stopping,
      onLockWait: (lease) =>
        err(
          `Another synapse-gitops apply holds this server's apply lock (lease ${terminalText(lease.leaseId)}: ${terminalText(describeHolder(lease))}); waiting for it to finish…\n`,
        ),
      onLockNotice: (text) => err(`warning: ${terminalText(text)}\n`),
      ...(flags.lockTimeout === undefined ? {} : { lockTimeoutMs: flags.lockTimeout * 1000 }),
      ...(flags.lockTtl === undefined ? {} : { lockTtlMs: flags.lockTtl * 1000 }),
      onResult: (r) => {
        audit?.action(r);
        out(r.outcome === "done" ? `${actionLines(r.action)[0]!.replace(/^ {2}/, "  ok ")}\n` : `${resultLine(r)}\n`);
      },
    });
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  bar.done();
  const done = { ...report, apply: result };
  out(renderApplyText(done));
  if (stopping) err("Interrupted: run apply again to finish.\n");
  await maybeNotify(connection, flags, true, {
    text: renderPlanText(done) + renderApplyText(done),
    markdown: renderMarkdown(done),
  });
  return result.summary.done === result.results.length ? EXIT.ok : EXIT.error;
}

function limits(flags: { maxDeactivations?: number; maxErasures?: number }) {
  return {
    ...(flags.maxDeactivations === undefined ? {} : { maxDeactivations: flags.maxDeactivations }),
    ...(flags.maxErasures === undefined ? {} : { maxErasures: flags.maxErasures }),
  };
}

/**
 * `force-unlock [LEASE_ID]`: without an ID, shows the apply lock; with one, shows it, asks (or takes
 * --yes), and removes it — only if it is still that lease.
 */
export async function forceUnlockCommand(leaseId: string | undefined, flags: ForceUnlockFlags): Promise<number> {
  const connection = await connect(connectionOptions(flags));
  try {
    const lease = await readLease(connection.client);
    if (!lease) {
      if (leaseId !== undefined) throw new ToolError("no apply lock is held on this server; nothing was changed");
      out(`No apply lock is held on ${connection.serverName}.\n`);
      return EXIT.ok;
    }
    out(describeLease(lease));
    if (leaseId === undefined) {
      out(
        `\nIf no apply is running any more, remove it with:\n  synapse-gitops force-unlock '${terminalText(lease.leaseId)}'\n` +
          "(a run that dies leaves it behind for about one ttl; the next apply waits that long, then takes it over by itself)\n",
      );
      return EXIT.ok;
    }
    if (lease.leaseId !== leaseId) {
      throw new ToolError(
        `the apply lock's lease is ${terminalText(lease.leaseId)}, not ${terminalText(leaseId)}; nothing was changed`,
        "run force-unlock without a lease ID to see the current lease",
      );
    }
    if (!flags.yes) {
      if (!process.stdin.isTTY)
        throw new ToolError("force-unlock needs --yes when it is not run from a terminal; nothing was changed");
      const question =
        "\nRemove this lock? If its apply is still running, it stops before its next erasure or reactivation, " +
        "and another apply may then run beside it. Only 'yes' is accepted: ";
      if (!(await confirm(question))) {
        err("Nothing was changed.\n");
        return EXIT.error;
      }
    }
    await forceUnlock(connection.client, leaseId);
    out(`Removed the apply lock (lease ${terminalText(lease.leaseId)}).\n`);
    return EXIT.ok;
  } finally {
    await connection.client.close();
  }
}

function describeLease(lease: LeaseInfo): string {
  const when = (ms: number | undefined) => (ms === undefined ? "unknown" : new Date(ms).toISOString());
  if (!lease.holder) {
    return (
      `The apply lock's alias ${lease.alias} points at ${terminalText(lease.leaseId)}, which is not a synapse-gitops lease ` +
      `(${terminalText(lease.notALease ?? "")}). apply removes such an alias by itself.\n`
    );
  }
  const abandon = Math.round((lease.ttlMs + abandonMarginMs(lease.ttlMs)) / 1000);
  const lines = [
    `The apply lock on this server is held:`,
    `  lease    ${terminalText(lease.leaseId)}`,
    `  holder   ${terminalText(describeHolder(lease))}`,
    `  started  ${when(lease.startedAt)} by the holder's clock`,
    `  renewed  ${when(lease.lastSeen)} by the server's clock (renewal ${lease.renewals ?? "?"}, every ${Math.round(lease.ttlMs / 3000)} s)`,
    `  expiry   an apply that finds it not renewed for ${abandon} s takes it over` +
      (lease.lastSeen === undefined
        ? ""
        : ` (if not renewed: after ${new Date(lease.lastSeen + lease.ttlMs + abandonMarginMs(lease.ttlMs)).toISOString()})`),
  ];
  return `${lines.join("\n")}\n`;
}

/** Text from the server, for a terminal: no control characters (an escape sequence could rewrite the screen). */
function terminalText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to remove them
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}
