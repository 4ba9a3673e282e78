// The application core: validate, plan, apply, drift and export, written once for both shells (the
// CLI and the GitHub Action). Each flow reads → decides → acts → reports through the injected Io and
// returns its result and exit code; the shells only map their inputs onto these options and render.

import { readInventory } from "../accounts/inventory.js";
import { applyPlan } from "../apply/apply.js";
import { acquireApplyLock, readLease, forceUnlock as removeLease } from "../apply/lock.js";
import { applyRoomChanges } from "../apply/rooms.js";
import { AuditLog } from "../audit.js";
import { exportUsersFile } from "../config/export.js";
import { loadDesiredState, parseDesiredState, readDesiredFiles } from "../config/load.js";
import type { PasswordPolicy } from "../config/passwords.js";
import type { DriftPatch } from "../config/patch.js";
import { describeHolder } from "../domain/lease.js";
import { type ApplyResult, type Plan, planHasChanges } from "../domain/plan.js";
import { EXIT, type ExitCode, ToolError } from "../errors.js";
import { notifyRoom } from "../notify/matrix.js";
import type { DriftReport } from "../plan/drift.js";
import { limitRefusals, needsDetails, needsSuspended } from "../plan/plan.js";
import { renderDriftMarkdown, renderDriftText } from "../report/drift.js";
import { escapeTerminal } from "../report/escape.js";
import { renderLeaseText } from "../report/lease.js";
import { renderMarkdown } from "../report/markdown.js";
import type { Report } from "../report/model.js";
import { roomResultLine } from "../report/rooms.js";
import { actionLines, renderApplyText, renderPlanText, resultLine } from "../report/text.js";
import {
  MAX_SNAPSHOT_BYTES,
  planFromSnapshot,
  readSnapshot,
  snapshotAge,
  writeSnapshot,
} from "../snapshot/snapshot.js";
import type { MutationRecord } from "../synapse/client.js";
import { readHandedFile, writePrivateFile } from "../util/files.js";
import { VERSION } from "../version.js";
import { changingClock, savedClockProblem, scheduleClock } from "./clock.js";
import type { Io } from "./io.js";
import { readRooms, snapshotRoomPlan } from "./rooms.js";
import {
  MAX_PLAN_FILE_BYTES,
  planBackendMismatch,
  planFileMismatch,
  readPlanFile,
  savedRoomProblems,
  stalePreconditions,
  writePlanFile,
} from "./savedPlan.js";
import {
  type Connection,
  connect,
  connectAndRead,
  credentials,
  driftFromFile,
  effectivePolicy,
  type Limits,
  normaliseHomeserver,
  passwordChecker,
  planFromFile,
  type ServerOptions,
} from "./session.js";

export interface NotifyOptions {
  /** Post the report into this Matrix room (ID or alias) as the admin token's user. */
  notifyRoom?: string;
  /** Post even when there is nothing to say. */
  notifyAlways?: boolean;
}

export interface PlanOptions extends ServerOptions, Limits, NotifyOptions {
  /** What password references may read (--password-env-prefix, --password-env, --password-dir). */
  passwordPolicy?: PasswordPolicy;
  /** Exit 2 when there are changes (always on in the Action). */
  detailedExitcode?: boolean;
  /** Also save the plan here, sealed, for `apply --plan`. */
  out?: string;
  /** How long a saved plan stays valid (default 24 h). */
  outTtlMs?: number;
  /** Plan offline against this inventory snapshot: no token, no request to any server. */
  snapshot?: string;
  /** Let `--out` judge scheduled dates by SYNAPSE_GITOPS_NOW (see clock.ts). */
  clockFromEnv?: boolean;
}

export interface SnapshotOptions extends ServerOptions {
  /** Where to write the snapshot. */
  out: string;
  concurrency: number;
}

export interface ApplyOptions extends ServerOptions, Limits, NotifyOptions {
  /** What password references may read (--password-env-prefix, --password-env, --password-dir). */
  passwordPolicy?: PasswordPolicy;
  /** Apply exactly this saved plan instead of planning again. */
  plan?: string;
  /** Judge scheduled dates by SYNAPSE_GITOPS_NOW; apply a saved plan made at a later clock (see clock.ts). */
  clockFromEnv?: boolean;
  /** Apply without asking. */
  yes?: boolean;
  concurrency: number;
  auditLog?: string;
  /** How long to wait for another apply's lock (default 5 minutes). */
  lockTimeoutMs?: number;
  /** How long this run's lease lasts without renewal (default 60 s; tests shorten it). */
  lockTtlMs?: number;
}

export interface ForceUnlockOptions extends ServerOptions {
  /** Remove without asking. */
  yes?: boolean;
}

export interface DriftOptions extends ServerOptions, NotifyOptions {
  /** Also make the patch that would make the file match the server (drift --format patch). */
  patch?: boolean;
  /** Write that patch to the users file (drift --format patch --write). */
  write?: boolean;
}

export interface ExportOptions extends ServerOptions {
  out?: string;
  concurrency: number;
  /** Rooms to write too (aliases or IDs), with their current members and power levels. */
  rooms?: string[];
}

export interface PlanOutcome {
  exitCode: ExitCode;
  report: Report;
}

export interface DriftOutcome {
  exitCode: ExitCode;
  drift: DriftReport;
  /** With `patch` or `write`. */
  patch?: DriftPatch;
}

/** The commit the users file was read at, when a CI system says (GitHub Actions: GITHUB_SHA). */
function commitOf(io: Io): string | undefined {
  return io.env.GITHUB_SHA || undefined;
}

/** Posts when asked to and there is something to say (or always, with notifyAlways). */
async function maybeNotify(
  io: Io,
  connection: Connection,
  options: NotifyOptions,
  somethingToSay: boolean,
  report: { text: string; markdown: string },
): Promise<void> {
  if (!options.notifyRoom || !(somethingToSay || options.notifyAlways)) return;
  await notifyRoom(connection.client, options.notifyRoom, report);
  io.err(`posted the report to ${options.notifyRoom}\n`);
}

export async function validate(io: Io, file: string): Promise<ExitCode> {
  const desired = await loadDesiredState(file);
  const counts = { active: 0, deactivated: 0, erased: 0 };
  let scheduled = 0;
  for (const u of desired.users.values()) {
    counts[u.state]++;
    if (u.schedule) scheduled++;
  }
  io.out(
    `${desired.files.map(escapeTerminal).join(", ")}: valid — ${desired.users.size} users (${counts.active} active, ${counts.deactivated} deactivated, ${counts.erased} erased${scheduled ? `; ${scheduled} with a deactivateOn or eraseOn date` : ""})${desired.rooms.length > 0 ? `, ${desired.rooms.length} rooms` : ""}\n`,
  );
  return EXIT.ok;
}

export function planExitCode(plan: Plan, detailed: boolean | undefined): ExitCode {
  if (plan.refusals.length > 0) return EXIT.error;
  return detailed && planHasChanges(plan) ? EXIT.changes : EXIT.ok;
}

export async function plan(io: Io, file: string, options: PlanOptions): Promise<PlanOutcome> {
  if (options.snapshot) return planOffline(io, file, options.snapshot, options);
  const creds = await credentials(options, io.env);
  const run = await planFromFile(file, creds, {
    ...options,
    env: io.env,
    onProgress: io.progress.update,
    now: options.out ? changingClock(io, options.clockFromEnv, "plan --out") : scheduleClock(io),
  });
  io.progress.done();
  const { connection } = run;
  try {
    const report: Report = { command: "plan", plan: run.plan };
    if (options.out) {
      const commit = commitOf(io);
      const text = writePlanFile(
        {
          homeserver: connection.homeserver,
          serverName: connection.serverName,
          ownUserId: connection.ownUserId,
          ...(commit ? { commit } : {}),
          desired: { files: run.desired.files, sha256: run.desired.sha256 },
          plan: run.plan,
        },
        connection.token,
        { now: io.now(), ...(options.outTtlMs === undefined ? {} : { ttlMs: options.outTtlMs }) },
      );
      await writePrivateFile(options.out, text);
      io.err(`saved the plan to ${options.out}; apply it with: synapse-gitops apply --plan ${options.out}\n`);
    }
    await maybeNotify(io, connection, options, planHasChanges(run.plan) || run.plan.refusals.length > 0, {
      text: renderPlanText(report),
      markdown: renderMarkdown(report),
    });
    return { exitCode: planExitCode(run.plan, options.detailedExitcode), report };
  } finally {
    await connection.client.close();
  }
}

/**
 * A plan against an inventory snapshot that a trusted job saved: needs no token and sends nothing
 * anywhere (a pull request's plan). Nothing it says can be applied: apply always plans again live.
 */
async function planOffline(io: Io, file: string, path: string, options: PlanOptions): Promise<PlanOutcome> {
  if (options.out) {
    throw new ToolError("plan --snapshot cannot save a plan: it has no token to seal it with, and apply plans live");
  }
  if (options.notifyRoom) throw new ToolError("plan --snapshot cannot post to a Matrix room: it holds no token");
  const homeserver = options.homeserver ?? io.env.SYNAPSE_URL;
  const snapshot = readSnapshot(await readHanded(path, MAX_SNAPSHOT_BYTES, "snapshot"), path, {
    ...(homeserver ? { homeserver: normaliseHomeserver(homeserver) } : {}),
  });
  const desired = parseDesiredState(await readDesiredFiles(file), {
    serverName: snapshot.meta.serverName,
    ...(homeserver ? { homeserver: normaliseHomeserver(homeserver) } : {}),
  });
  const { plan: accountsPlan, notCompared } = planFromSnapshot(
    snapshot,
    desired.users,
    effectivePolicy(desired, options),
    scheduleClock(io),
    passwordChecker({ ...options, env: io.env }),
  );
  const { plan: thePlan, roomsNotCompared } = snapshotRoomPlan(accountsPlan, desired, snapshot);
  const report: Report = {
    command: "plan",
    plan: thePlan,
    snapshot: {
      age: snapshotAge(snapshot.meta, new Date(io.now())).text,
      notCompared,
      ...(roomsNotCompared.length > 0 ? { roomsNotCompared } : {}),
    },
  };
  return { exitCode: planExitCode(thePlan, options.detailedExitcode), report };
}

/** A file another job handed over (a snapshot, a saved plan): regular, capped, or one clear error. */
async function readHanded(path: string, max: number, what: string): Promise<string> {
  const read = await readHandedFile(path, max);
  if ("problem" in read) throw new ToolError(`cannot read the ${what} ${path}: ${read.problem}`);
  return read.text;
}

/**
 * An inventory snapshot for token-free pull-request plans: every user, read in full where the
 * users file's plan needs it, personal attributes as keyed digests. Written by a trusted job.
 */
export async function snapshot(io: Io, file: string, options: SnapshotOptions): Promise<ExitCode> {
  const { connection, desired } = await connectAndRead(file, await credentials(options, io.env), options);
  try {
    const users = await readInventory(connection.accounts, {
      needsDetails: needsDetails(desired.users, desired.policy.unmanaged),
      needsSuspended: needsSuspended(desired.users),
      concurrency: options.concurrency,
      onProgress: (p) => io.progress.update(`read ${p.listed} users`),
    });
    io.progress.done();
    const rooms = await readRooms(
      connection.client,
      desired.rooms.map((r) => r.key),
      options.concurrency,
    );
    const text = writeSnapshot(
      users.values(),
      {
        serverName: connection.serverName,
        homeserver: connection.homeserver,
        ownUserId: connection.ownUserId,
        takenAt: new Date(io.now()),
      },
      rooms,
    );
    await writePrivateFile(options.out, text);
    io.err(
      `wrote a snapshot of ${users.size} users${rooms.size > 0 ? ` and ${rooms.size} rooms` : ""} to ${options.out}; plan against it with: synapse-gitops plan --snapshot ${options.out}\n`,
    );
  } finally {
    await connection.client.close();
  }
  return EXIT.ok;
}

export async function apply(io: Io, file: string, options: ApplyOptions): Promise<PlanOutcome> {
  const audit = options.auditLog ? new AuditLog(options.auditLog) : undefined;
  const onMutation = audit ? (r: MutationRecord) => audit.request(r) : undefined;
  const creds = await credentials(options, io.env);
  let connection: Connection;
  let thePlan: Plan;
  let source: { files: string[]; sha256: string };
  let inventorySize: number;
  if (options.plan) {
    ({
      connection,
      plan: thePlan,
      source,
      inventorySize,
    } = await loadSavedPlan(io, options.plan, file, creds, {
      ...options,
      ...(onMutation ? { onMutation } : {}),
    }));
  } else {
    const run = await planFromFile(file, creds, {
      ...options,
      env: io.env,
      ...(onMutation ? { onMutation } : {}),
      onProgress: io.progress.update,
      now: changingClock(io, options.clockFromEnv, "apply"),
    });
    ({ connection, plan: thePlan } = run);
    inventorySize = run.listed;
    source = { files: run.desired.files, sha256: run.desired.sha256 };
  }
  io.progress.done();
  try {
    audit?.run({
      command: options.plan ? `apply --plan ${options.plan}` : "apply",
      server: connection.serverName,
      homeserver: connection.homeserver,
      actor: connection.ownUserId,
      ...source,
    });
    return await confirmAndApply(io, connection, thePlan, { ...options, inventorySize }, audit);
  } finally {
    await connection.client.close();
  }
}

/**
 * A saved plan, checked in this order: its seal (offline, before any request), its expiry, that it
 * was made for the operator's homeserver, from the users file as it is now and (in CI) at this
 * commit; then under this run's limits; then, connected, that no user it acts on changed since.
 * Any doubt refuses it whole.
 */
async function loadSavedPlan(
  io: Io,
  path: string,
  file: string,
  creds: { homeserver: string; token: string },
  options: ApplyOptions & { onMutation?: (r: MutationRecord) => void },
) {
  changingClock({ ...io, err: () => {} }, options.clockFromEnv, "apply --plan");
  const saved = readPlanFile(await readHanded(path, MAX_PLAN_FILE_BYTES, "plan file"), path, creds.token, io.now());
  const early = savedClockProblem(saved.plan.now, io.now(), options.clockFromEnv);
  if (early) throw new ToolError(`${path}: ${early}. Nothing was applied.`);
  const files = await readDesiredFiles(file);
  const desired = parseDesiredState(files, { serverName: saved.serverName, homeserver: creds.homeserver });
  const mismatch = planFileMismatch(saved, path, {
    homeserver: creds.homeserver,
    sha256: desired.sha256,
    files: desired.files,
    commit: commitOf(io),
  });
  if (mismatch) throw new ToolError(`${mismatch}. Nothing was applied.`);
  notePassedSinceSaved(io, saved.plan, path);
  const check = passwordChecker({ ...options, env: io.env });
  const policy = effectivePolicy(desired, options);
  const overLimits = [
    ...limitRefusals(saved.plan.actions, policy),
    ...savedRoomProblems(saved.plan, new Set(desired.rooms.map((r) => r.key)), policy),
    ...saved.plan.actions.flatMap((a) => {
      const problem = a.password && check(a.password);
      return problem
        ? [
            {
              message: `${a.userId}: ${problem}`,
              hint: "allow it with --password-env-prefix, --password-env or --password-dir",
            },
          ]
        : [];
    }),
  ];
  if (overLimits.length > 0) {
    throw new ToolError(
      `${overLimits.map((r) => `${path}: ${r.message}`).join("\n")}\nNothing was applied.`,
      overLimits[0]!.hint,
    );
  }
  const connection = await connect(creds, options);
  try {
    if (connection.serverName !== saved.serverName || connection.ownUserId !== saved.ownUserId) {
      throw new ToolError(
        `${path} was made for ${saved.ownUserId} on ${saved.serverName}, not ${connection.ownUserId} on ${connection.serverName}. Nothing was applied.`,
      );
    }
    const otherBackend = planBackendMismatch(saved, path, connection.accounts.name);
    if (otherBackend) throw new ToolError(`${otherBackend}. Nothing was applied.`);
    // A purge's precondition is what it has left to remove: read again for those users only.
    const purged = new Set(saved.plan.actions.filter((a) => a.purge).map((a) => a.userId));
    const actual = await readInventory(connection.accounts, {
      needsResidue: (u) => purged.has(u.userId),
      onProgress: (p) => io.progress.update(`checking ${p.listed} users`),
    });
    const stale = stalePreconditions(saved.plan, actual);
    if (stale.length > 0) throw new ToolError(`${stale.join("\n")}\nNothing was applied.`);
    return { connection, plan: saved.plan, source: saved.desired, inventorySize: actual.size };
  } catch (e) {
    await connection.client.close();
    throw e;
  }
}

/**
 * A saved plan is applied as it was made, at the clock it was made with (`plan.now`): a scheduled
 * step that has come due since is not in it, and is not carried out. Says so, so that the operator
 * plans again.
 */
function notePassedSinceSaved(io: Io, saved: Plan, path: string): void {
  const now = scheduleClock({ ...io, err: () => {} });
  for (const step of saved.scheduled ?? []) {
    if (Date.parse(step.at) > now) continue;
    io.err(
      `note: ${escapeTerminal(step.userId)}'s ${step.kind} (scheduled for ${escapeTerminal(step.on)}) came due after ${path} was made (as of ${escapeTerminal(saved.now ?? "an unknown time")}); it is not in this plan and is not carried out: run plan again\n`,
    );
  }
}

/** Shows the plan, asks (or takes `yes`), applies, reports. */
async function confirmAndApply(
  io: Io,
  connection: Connection,
  thePlan: Plan,
  options: ApplyOptions & { inventorySize: number },
  audit?: AuditLog,
): Promise<PlanOutcome> {
  const report: Report = { command: "apply", plan: thePlan };
  io.out(renderPlanText(report));
  const notify = (r: Report, always: boolean) =>
    maybeNotify(io, connection, options, always, {
      text: renderPlanText(r) + renderApplyText(r),
      markdown: renderMarkdown(r),
    });
  if (thePlan.refusals.length > 0) {
    io.err("Nothing was applied: the plan has refusals.\n");
    await notify(report, true);
    return { exitCode: EXIT.error, report };
  }
  if (!planHasChanges(thePlan)) {
    await notify(report, false);
    return { exitCode: EXIT.ok, report };
  }
  if (!options.yes) {
    if (!io.confirm) throw new ToolError("apply needs --yes when it is not run from a terminal; nothing was changed");
    const question = `\nApply these ${thePlan.actions.length + (thePlan.rooms?.changes.length ?? 0)} changes to ${thePlan.serverName}? Only 'yes' is accepted: `;
    if (!(await io.confirm(question))) {
      io.err("Nothing was applied.\n");
      return { exitCode: EXIT.error, report };
    }
  }
  io.out("\n");
  // The first interrupt stops new changes and lets those in flight finish (each bounded by the timeout).
  let stopping = false;
  const unsubscribe = io.onInterrupt(() => {
    if (!stopping) io.err("\nStopping: no new changes start; waiting for those in flight (again to exit now)…\n");
    stopping = true;
  });
  let result: ApplyResult;
  try {
    result = await applyPlan(connection.accounts, thePlan, {
      onApplied: (sent, total) => io.progress.update(`applied ${sent}/${total}`),
      concurrency: options.concurrency,
      inventorySize: options.inventorySize,
      passwordPolicy: options.passwordPolicy ?? {},
      env: io.env,
      shouldContinue: () => !stopping,
      ...(thePlan.rooms && thePlan.rooms.changes.length > 0
        ? {
            rooms: (shouldContinue: () => boolean) =>
              applyRoomChanges(connection.client, connection.accounts, thePlan.rooms!.changes, {
                concurrency: options.concurrency,
                shouldContinue,
                onResult: (r) => {
                  audit?.roomChange(r);
                  io.progress.done();
                  io.out(`${roomResultLine(r)}\n`);
                },
              }),
          }
        : {}),
      lock: () =>
        acquireApplyLock(connection.client, {
          onWait: (lease) =>
            io.err(
              `Another synapse-gitops apply holds this server's apply lock (lease ${escapeTerminal(lease.leaseId)}: ${escapeTerminal(describeHolder(lease))}); waiting for it to finish…\n`,
            ),
          onNotice: (text) => io.err(`warning: ${escapeTerminal(text)}\n`),
          runner: io.runner,
          ...(options.lockTimeoutMs === undefined ? {} : { waitMs: options.lockTimeoutMs }),
          ...(options.lockTtlMs === undefined ? {} : { ttlMs: options.lockTtlMs }),
        }),
      onResult: (r) => {
        audit?.action(r);
        io.progress.done();
        io.out(
          r.outcome === "done" ? `${actionLines(r.action)[0]!.replace(/^ {2}/, "  ok ")}\n` : `${resultLine(r)}\n`,
        );
      },
    });
  } finally {
    unsubscribe();
    io.progress.done();
  }
  const done: Report = { ...report, apply: result };
  io.out(renderApplyText(done));
  if (stopping) io.err("Interrupted: run apply again to finish.\n");
  await notify(done, true);
  const allDone =
    result.summary.done === result.results.length && (result.rooms ?? []).every((r) => r.outcome === "done");
  return { exitCode: allDone ? EXIT.ok : EXIT.error, report: done };
}

export async function drift(io: Io, file: string, options: DriftOptions): Promise<DriftOutcome> {
  const creds = await credentials(options, io.env);
  const {
    connection,
    drift: report,
    desired,
    files,
  } = await driftFromFile(file, creds, {
    ...options,
    onProgress: io.progress.update,
    now: scheduleClock(io),
  });
  io.progress.done();
  let patch: DriftPatch | undefined;
  try {
    // Loaded only for a patch: the diff package is of no use to any other command.
    if (options.patch || options.write) patch = (await import("../config/patch.js")).driftPatch(files, desired, report);
    if (options.write && patch) {
      await (await import("../config/writePatch.js")).writePatchedFiles(patch.files);
      const names = patch.files.map((f) => escapeTerminal(f.name)).join(", ");
      io.err(
        patch.files.length > 0 ? `wrote the patch to ${names}\n` : "nothing to write: the file matches the server\n",
      );
    }
    await maybeNotify(io, connection, options, report.drifted, {
      text: renderDriftText(report),
      markdown: renderDriftMarkdown(report),
    });
  } finally {
    await connection.client.close();
  }
  // Once written, only the drift the patch left (an erased user that is no longer) is still drift.
  const drifted = options.write && patch ? patch.left.length > 0 : report.drifted;
  return { exitCode: drifted ? EXIT.changes : EXIT.ok, drift: report, ...(patch ? { patch } : {}) };
}

export async function exportUsers(io: Io, options: ExportOptions): Promise<ExitCode> {
  const connection = await connect(await credentials(options, io.env), options);
  try {
    const users = await readInventory(connection.accounts, {
      // Emails and external IDs are only in the single-user GET; only active users carry attributes.
      needsDetails: (u) => u.state === "active",
      needsSuspended: (u) => u.state === "active",
      concurrency: options.concurrency,
      onProgress: (p) =>
        io.progress.update(p.detailed ? `details ${p.detailed}/${p.detailsNeeded}` : `listed ${p.listed} users`),
    });
    io.progress.done();
    const header = `# Exported by synapse-gitops ${VERSION} from ${connection.serverName}. Check it with: synapse-gitops plan FILE\n`;
    const rooms = await readRooms(connection.client, options.rooms ?? [], options.concurrency);
    const missing = [...rooms].filter(([, room]) => room === undefined).map(([key]) => key);
    if (missing.length > 0) throw new ToolError(`no such room on this server: ${missing.join(", ")}`);
    const text = exportUsersFile(users.values(), connection.serverName, header, [
      ...(options.rooms ?? []).map((key) => rooms.get(key)!),
    ]);
    if (options.out) {
      await writePrivateFile(options.out, text);
      io.err(`wrote ${users.size} users${rooms.size ? ` and ${rooms.size} rooms` : ""} to ${options.out}\n`);
    } else io.out(text);
  } finally {
    await connection.client.close();
  }
  return EXIT.ok;
}

/**
 * `force-unlock [LEASE_ID]` (as in Terraform): without an ID, shows the apply lock; with one, shows
 * it, asks (or takes `yes`), and removes it — only if it is still that lease.
 */
export async function forceUnlock(io: Io, leaseId: string | undefined, options: ForceUnlockOptions): Promise<ExitCode> {
  const connection = await connect(await credentials(options, io.env), options);
  try {
    const lease = await readLease(connection.client);
    if (!lease) {
      if (leaseId !== undefined) throw new ToolError("no apply lock is held on this server; nothing was changed");
      io.out(`No apply lock is held on ${connection.serverName}.\n`);
      return EXIT.ok;
    }
    io.out(renderLeaseText(lease));
    if (leaseId === undefined) {
      io.out(
        `\nIf no apply is running any more, remove it with:\n  synapse-gitops force-unlock '${escapeTerminal(lease.leaseId)}'\n` +
          "(a run that dies leaves it behind for about one ttl; the next apply waits that long, then takes it over by itself)\n",
      );
      return EXIT.ok;
    }
    if (lease.leaseId !== leaseId) {
      throw new ToolError(
        `the apply lock's lease is ${lease.leaseId}, not ${leaseId}; nothing was changed`,
        "run force-unlock without a lease ID to see the current lease",
      );
    }
    if (!options.yes) {
      if (!io.confirm)
        throw new ToolError("force-unlock needs --yes when it is not run from a terminal; nothing was changed");
      const question =
        "\nRemove this lock? If its apply is still running, it stops before its next erasure or reactivation, " +
        "and another apply may then run beside it. Only 'yes' is accepted: ";
      if (!(await io.confirm(question))) {
        io.err("Nothing was changed.\n");
        return EXIT.error;
      }
    }
    await removeLease(connection.client, leaseId);
    io.out(`Removed the apply lock (lease ${escapeTerminal(lease.leaseId)}).\n`);
    return EXIT.ok;
  } finally {
    await connection.client.close();
  }
}
