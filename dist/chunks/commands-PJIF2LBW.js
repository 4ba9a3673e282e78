#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  AuditLog,
  abandonMarginMs,
  actionLines,
  applyPlan,
  connect,
  describeHolder,
  driftFromFile,
  forceUnlock,
  loadDesiredState,
  localpartOf,
  notifyRoom,
  planFromFile,
  readInventory,
  readLease,
  readPlanFile,
  renderApplyText,
  renderDriftJson,
  renderDriftMarkdown,
  renderDriftText,
  renderMarkdown,
  renderPlanText,
  require_dist,
  resultLine,
  stalePreconditions,
  usersFileJsonSchema,
  writePlanFile
<<<<<<<< HEAD:dist/chunks/commands-PJIF2LBW.js
} from "./chunk-ELJKOQX5.js";
========
} from "./chunk-DI2UJZ2L.js";
>>>>>>>> sec-lock:dist/chunks/commands-V3P32ZMZ.js
import {
  EXIT,
  ToolError,
  VERSION
} from "./chunk-MHJN57B4.js";
import {
  __toESM
} from "./chunk-4CJPJK2Z.js";

// src/commands.ts
import { readFile, writeFile } from "node:fs/promises";
import { createInterface } from "node:readline/promises";

// src/config/export.ts
var import_yaml = __toESM(require_dist(), 1);
function exportUsersFile(users, serverName, header) {
  const sorted = [...users].sort((a, b) => a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0);
  const entries = {};
  for (const u of sorted) {
    const key = u.userId.endsWith(`:${serverName}`) ? localpartOf(u.userId) : u.userId;
    if (u.state !== "active") {
      entries[key] = u.state;
      continue;
    }
    const entry = {};
    if (u.displayname) entry.displayname = u.displayname;
    entry.admin = u.admin;
    if (u.locked) entry.locked = true;
    if (u.emails?.length) entry.emails = u.emails;
    if (u.externalIds?.length) entry.externalIds = u.externalIds;
    entries[key] = entry;
  }
  const body = (0, import_yaml.stringify)({ version: 1, serverName, users: entries }, { lineWidth: 0 });
  return `${header}${body}`;
}

// src/report/json.ts
function renderJson(report) {
  const { plan } = report;
  const doc = {
    formatVersion: 1,
    tool: { name: "synapse-gitops", version: VERSION },
    command: report.command,
    serverName: plan.serverName,
    summary: plan.summary,
    changes: plan.actions.length > 0,
    actions: plan.actions,
    refusals: plan.refusals,
    unmanaged: report.unmanagedPolicy === "ignore" ? [] : plan.unmanaged,
    ...report.apply ? {
      apply: {
        summary: report.apply.summary,
        results: report.apply.results.map((r) => ({
          userId: r.action.userId,
          kind: r.action.kind,
          outcome: r.outcome,
          ...r.message ? { message: r.message } : {}
        }))
      }
    } : {}
  };
  return `${JSON.stringify(doc, null, 2)}
`;
}

// src/commands.ts
var out = (text) => process.stdout.write(text);
var err = (text) => process.stderr.write(text);
function progress() {
  if (!process.stderr.isTTY) return { update: () => {
  }, done: () => {
  } };
  let shown = false;
  return {
    update: (text) => {
      err(`\r\x1B[2K${text}`);
      shown = true;
    },
    done: () => {
      if (shown) err("\r\x1B[2K");
    }
  };
}
async function maybeNotify(connection, flags, somethingToSay, report) {
  if (!flags.notifyRoom || !(somethingToSay || flags.notifyAlways)) return;
  await notifyRoom(connection.client, flags.notifyRoom, report);
  err(`posted the report to ${flags.notifyRoom}
`);
}
function connectionOptions(flags, concurrency, audit) {
  return {
    ...audit ? { onMutation: (r) => audit.request(r) } : {},
    ...flags.homeserver ? { homeserver: flags.homeserver } : {},
    ...flags.tokenFile ? { tokenFile: flags.tokenFile } : {},
    ...flags.allowInsecureHttp ? { allowInsecureHttp: true } : {},
    ...concurrency ? { concurrency } : {},
    ...flags.timeout === void 0 ? {} : { timeoutMs: flags.timeout * 1e3 },
    ...flags.retries === void 0 ? {} : { retries: flags.retries }
  };
}
async function confirm(question) {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim() === "yes";
  } finally {
    rl.close();
  }
}
async function validateCommand(file) {
  const desired = await loadDesiredState(file);
  const counts = { active: 0, deactivated: 0, erased: 0 };
  for (const u of desired.users.values()) counts[u.state]++;
  out(
    `${desired.files.join(", ")}: valid \u2014 ${desired.users.size} users (${counts.active} active, ${counts.deactivated} deactivated, ${counts.erased} erased)
`
  );
  return EXIT.ok;
}
async function planCommand(file, flags) {
  const bar = progress();
  const run = await planFromFile(file, { ...connectionOptions(flags), ...limits(flags), onProgress: bar.update });
  bar.done();
  const { connection, plan } = run;
  try {
    const report = { command: "plan", plan, unmanagedPolicy: run.desired.policy.unmanaged };
    out(
      flags.format === "json" ? renderJson(report) : flags.format === "markdown" ? renderMarkdown(report) : renderPlanText(report)
    );
    if (flags.out) {
      const content = { homeserver: connection.homeserver, serverName: connection.serverName, plan };
      const desired = { files: run.desired.files, sha256: run.desired.sha256 };
      await writeFile(
        flags.out,
        writePlanFile({ ...content, desired, unmanagedPolicy: run.desired.policy.unmanaged }, connection.token)
      );
      err(`saved the plan to ${flags.out}; apply it with: synapse-gitops apply --plan ${flags.out}
`);
    }
    await maybeNotify(connection, flags, plan.actions.length + plan.refusals.length > 0, {
      text: renderPlanText(report),
      markdown: renderMarkdown(report)
    });
  } finally {
    await connection.client.close();
  }
  if (plan.refusals.length > 0) return EXIT.error;
  return flags.detailedExitcode && plan.actions.length > 0 ? EXIT.changes : EXIT.ok;
}
async function applyCommand(file, flags) {
  const bar = progress();
  const audit = flags.auditLog ? new AuditLog(flags.auditLog) : void 0;
  let connection;
  let plan;
  let unmanagedPolicy;
  let source = {};
  let inventorySize;
  if (flags.plan) {
    ({ connection, plan, unmanagedPolicy, inventorySize } = await loadSavedPlan(flags.plan, flags, bar.update, audit));
  } else {
    const run = await planFromFile(file, {
      ...connectionOptions(flags, flags.concurrency, audit),
      ...limits(flags),
      onProgress: bar.update
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
      ...source
    });
    return await confirmAndApply(
      connection,
      { command: "apply", plan, unmanagedPolicy },
      { ...flags, inventorySize },
      audit
    );
  } finally {
    await connection.client.close();
  }
}
async function driftCommand(file, flags) {
  const bar = progress();
  const { connection, drift } = await driftFromFile(file, { ...connectionOptions(flags), onProgress: bar.update });
  bar.done();
  try {
    out(
      flags.format === "json" ? renderDriftJson(drift) : flags.format === "markdown" ? renderDriftMarkdown(drift) : renderDriftText(drift)
    );
    await maybeNotify(connection, flags, drift.drifted, {
      text: renderDriftText(drift),
      markdown: renderDriftMarkdown(drift)
    });
  } finally {
    await connection.client.close();
  }
  return drift.drifted ? EXIT.changes : EXIT.ok;
}
async function exportCommand(flags) {
  const connection = await connect(connectionOptions(flags, flags.concurrency));
  const bar = progress();
  try {
    const users = await readInventory(connection.client, {
      // Emails and external IDs are only in the single-user GET; only active users carry attributes.
      needsDetails: (u) => u.state === "active",
      concurrency: flags.concurrency,
      onProgress: (p) => bar.update(p.detailed ? `details ${p.detailed}/${p.detailsNeeded}` : `listed ${p.listed} users`)
    });
    bar.done();
    const header = `# Exported by synapse-gitops ${VERSION} from ${connection.serverName}. Check it with: synapse-gitops plan FILE
`;
    const text = exportUsersFile(users.values(), connection.serverName, header);
    if (flags.out) {
      await writeFile(flags.out, text);
      err(`wrote ${users.size} users to ${flags.out}
`);
    } else out(text);
  } finally {
    await connection.client.close();
  }
  return EXIT.ok;
}
async function schemaCommand() {
  out(`${JSON.stringify(usersFileJsonSchema(), null, 2)}
`);
  return EXIT.ok;
}
async function loadSavedPlan(path, flags, onProgress, audit) {
  let text;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new ToolError(`cannot read the plan file ${path}: ${cause.code ?? cause}`);
  }
  let planHomeserver;
  try {
    const h = JSON.parse(text).homeserver;
    if (typeof h === "string") planHomeserver = h;
  } catch {
  }
  const connection = await connect(connectionOptions(flags, flags.concurrency, audit), planHomeserver);
  try {
    const saved = readPlanFile(text, path, connection.token, {
      homeserver: connection.homeserver,
      serverName: connection.serverName
    });
    const actual = await readInventory(connection.client, {
      onProgress: (p) => onProgress(`checking ${p.listed} users`)
    });
    const stale = stalePreconditions(saved.plan, actual);
    if (stale.length > 0) {
      throw new ToolError(`${stale.join("\n")}
Nothing was applied.`);
    }
    return { connection, plan: saved.plan, unmanagedPolicy: saved.unmanagedPolicy, inventorySize: actual.size };
  } catch (e) {
    await connection.client.close();
    throw e;
  }
}
async function confirmAndApply(connection, report, flags, audit) {
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
    if (!await confirm(`
Apply these ${plan.actions.length} changes to ${plan.serverName}? Only 'yes' is accepted: `)) {
      err("Nothing was applied.\n");
      return EXIT.error;
    }
  }
  out("\n");
  let stopping = false;
  const stop = (signal) => {
    if (stopping) {
      err(`
${signal} again: exiting now; some changes may be half done. Run apply again to finish.
`);
      process.exit(130);
    }
    err("\nStopping: no new changes start; waiting for those in flight (again to exit now)\u2026\n");
    stopping = true;
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  let result;
  const bar = progress();
  try {
    result = await applyPlan(connection.client, plan, {
      onApplied: (sent, total) => bar.update(`applied ${sent}/${total}`),
      concurrency: flags.concurrency,
      inventorySize: flags.inventorySize,
      shouldContinue: () => !stopping,
      onLockWait: (lease) => err(
        `Another synapse-gitops apply holds this server's apply lock (lease ${terminalText(lease.leaseId)}: ${terminalText(describeHolder(lease))}); waiting for it to finish\u2026
`
      ),
      onLockNotice: (text) => err(`warning: ${terminalText(text)}
`),
      ...flags.lockTimeout === void 0 ? {} : { lockTimeoutMs: flags.lockTimeout * 1e3 },
      ...flags.lockTtl === void 0 ? {} : { lockTtlMs: flags.lockTtl * 1e3 },
      onResult: (r) => {
        audit?.action(r);
        out(r.outcome === "done" ? `${actionLines(r.action)[0].replace(/^ {2}/, "  ok ")}
` : `${resultLine(r)}
`);
      }
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
    markdown: renderMarkdown(done)
  });
  return result.summary.done === result.results.length ? EXIT.ok : EXIT.error;
}
function limits(flags) {
  return {
    ...flags.maxDeactivations === void 0 ? {} : { maxDeactivations: flags.maxDeactivations },
    ...flags.maxErasures === void 0 ? {} : { maxErasures: flags.maxErasures }
  };
}
async function forceUnlockCommand(leaseId, flags) {
  const connection = await connect(connectionOptions(flags));
  try {
    const lease = await readLease(connection.client);
    if (!lease) {
      if (leaseId !== void 0) throw new ToolError("no apply lock is held on this server; nothing was changed");
      out(`No apply lock is held on ${connection.serverName}.
`);
      return EXIT.ok;
    }
    out(describeLease(lease));
    if (leaseId === void 0) {
      out(
        `
If no apply is running any more, remove it with:
  synapse-gitops force-unlock '${terminalText(lease.leaseId)}'
(a run that dies leaves it behind for about one ttl; the next apply waits that long, then takes it over by itself)
`
      );
      return EXIT.ok;
    }
    if (lease.leaseId !== leaseId) {
      throw new ToolError(
        `the apply lock's lease is ${terminalText(lease.leaseId)}, not ${terminalText(leaseId)}; nothing was changed`,
        "run force-unlock without a lease ID to see the current lease"
      );
    }
    if (!flags.yes) {
      if (!process.stdin.isTTY)
        throw new ToolError("force-unlock needs --yes when it is not run from a terminal; nothing was changed");
      const question = "\nRemove this lock? If its apply is still running, it stops before its next erasure or reactivation, and another apply may then run beside it. Only 'yes' is accepted: ";
      if (!await confirm(question)) {
        err("Nothing was changed.\n");
        return EXIT.error;
      }
    }
    await forceUnlock(connection.client, leaseId);
    out(`Removed the apply lock (lease ${terminalText(lease.leaseId)}).
`);
    return EXIT.ok;
  } finally {
    await connection.client.close();
  }
}
function describeLease(lease) {
  const when = (ms) => ms === void 0 ? "unknown" : new Date(ms).toISOString();
  if (!lease.holder) {
    return `The apply lock's alias ${lease.alias} points at ${terminalText(lease.leaseId)}, which is not a synapse-gitops lease (${terminalText(lease.notALease ?? "")}). apply removes such an alias by itself.
`;
  }
  const abandon = Math.round((lease.ttlMs + abandonMarginMs(lease.ttlMs)) / 1e3);
  const lines = [
    `The apply lock on this server is held:`,
    `  lease    ${terminalText(lease.leaseId)}`,
    `  holder   ${terminalText(describeHolder(lease))}`,
    `  started  ${when(lease.startedAt)} by the holder's clock`,
    `  renewed  ${when(lease.lastSeen)} by the server's clock (renewal ${lease.renewals ?? "?"}, every ${Math.round(lease.ttlMs / 3e3)} s)`,
    `  expiry   an apply that finds it not renewed for ${abandon} s takes it over` + (lease.lastSeen === void 0 ? "" : ` (if not renewed: after ${new Date(lease.lastSeen + lease.ttlMs + abandonMarginMs(lease.ttlMs)).toISOString()})`)
  ];
  return `${lines.join("\n")}
`;
}
function terminalText(text) {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}
export {
  applyCommand,
  driftCommand,
  exportCommand,
  forceUnlockCommand,
  planCommand,
  schemaCommand,
  validateCommand
};
