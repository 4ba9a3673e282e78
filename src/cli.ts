#!/usr/bin/env node
// The command line: thin commands over the core (read → validate → plan → render → exit code) and
// the one error boundary. Only this file (and the GitHub Action's entry) prints or touches `process`.
import { writeFile } from "node:fs/promises";
import { createInterface } from "node:readline/promises";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { type ApplyResult, applyPlan } from "./apply/apply.js";
import { exportUsersFile } from "./config/export.js";
import { loadDesiredState } from "./config/load.js";
import { usersFileJsonSchema } from "./config/schema.js";
import { ToolError } from "./errors.js";
import { type ConnectionOptions, connect, planFromFile } from "./reconcile.js";
import { renderJson } from "./report/json.js";
import { renderMarkdown } from "./report/markdown.js";
import type { Report } from "./report/model.js";
import { actionLines, renderApplyText, renderPlanText, resultLine } from "./report/text.js";
import { readInventory } from "./synapse/inventory.js";
import { VERSION } from "./version.js";

/** Exit codes: 0 success or nothing to do; 1 error, invalid input, refusal, failed action; 2 changes (plan --detailed-exitcode). */
const EXIT = { ok: 0, error: 1, changes: 2 } as const;

const DEFAULT_FILE = "users.yaml";

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

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number ≥ 0");
  return n;
}

interface ServerFlags {
  homeserver?: string;
  tokenFile?: string;
  allowInsecureHttp?: boolean;
}

function withServerOptions(cmd: Command): Command {
  return cmd
    .option("--homeserver <url>", "the homeserver's URL (else SYNAPSE_URL, else homeserver: in the file)")
    .option("--token-file <path>", "read the admin token from this file (else SYNAPSE_ADMIN_TOKEN)")
    .option("--allow-insecure-http", "allow http:// to a host that is not loopback (the token travels in clear)");
}

function connectionOptions(flags: ServerFlags, concurrency?: number): ConnectionOptions {
  return {
    ...(flags.homeserver ? { homeserver: flags.homeserver } : {}),
    ...(flags.tokenFile ? { tokenFile: flags.tokenFile } : {}),
    ...(flags.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
    ...(concurrency ? { concurrency } : {}),
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

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command("synapse-gitops")
    .description("Manage Synapse user accounts as code: plan and apply a users file against the Admin API.")
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();

  program
    .command("validate")
    .description("check a users file (or a directory of them) without contacting the server")
    .argument("[file]", "users file or directory", DEFAULT_FILE)
    .action(async (file: string) => {
      const desired = await loadDesiredState(file);
      const counts = { active: 0, deactivated: 0, erased: 0 };
      for (const u of desired.users.values()) counts[u.state]++;
      out(
        `${desired.files.join(", ")}: valid — ${desired.users.size} users (${counts.active} active, ${counts.deactivated} deactivated, ${counts.erased} erased)\n`,
      );
    });

  withServerOptions(
    program
      .command("plan")
      .description("show what apply would change, refuse, and leave alone")
      .argument("[file]", "users file or directory", DEFAULT_FILE)
      .addOption(new Option("--format <format>", "output format").choices(["text", "json", "markdown"]).default("text"))
      .option("--detailed-exitcode", "exit 2 when there are changes, 0 when none, 1 on errors and refusals")
      .option("--max-deactivations <n>", "override policy.maxDeactivations for this run", positiveInt)
      .option("--max-erasures <n>", "override policy.maxErasures for this run", positiveInt),
  ).action(
    async (
      file: string,
      flags: ServerFlags & {
        format: string;
        detailedExitcode?: boolean;
        maxDeactivations?: number;
        maxErasures?: number;
      },
    ) => {
      const bar = progress();
      const run = await planFromFile(file, { ...connectionOptions(flags), ...limits(flags), onProgress: bar.update });
      bar.done();
      await run.connection.client.close();
      const report: Report = { command: "plan", plan: run.plan, unmanagedPolicy: run.desired.policy.unmanaged };
      out(
        flags.format === "json"
          ? renderJson(report)
          : flags.format === "markdown"
            ? renderMarkdown(report)
            : renderPlanText(report),
      );
      if (run.plan.refusals.length > 0) setExit(EXIT.error);
      else if (flags.detailedExitcode && run.plan.actions.length > 0) setExit(EXIT.changes);
    },
  );

  withServerOptions(
    program
      .command("apply")
      .description("plan, confirm, then apply the changes")
      .argument("[file]", "users file or directory", DEFAULT_FILE)
      .option("--yes", "apply without asking (required when not on a terminal)")
      .option("--concurrency <n>", "users changed in parallel", positiveInt, 8)
      .option("--max-deactivations <n>", "override policy.maxDeactivations for this run", positiveInt)
      .option("--max-erasures <n>", "override policy.maxErasures for this run", positiveInt),
  ).action(
    async (
      file: string,
      flags: ServerFlags & { yes?: boolean; concurrency: number; maxDeactivations?: number; maxErasures?: number },
    ) => {
      const bar = progress();
      const run = await planFromFile(file, {
        ...connectionOptions(flags, flags.concurrency),
        ...limits(flags),
        onProgress: bar.update,
      });
      bar.done();
      const { client } = run.connection;
      try {
        const report: Report = { command: "apply", plan: run.plan, unmanagedPolicy: run.desired.policy.unmanaged };
        out(renderPlanText(report));
        if (run.plan.refusals.length > 0) {
          err("Nothing was applied: the plan has refusals.\n");
          return setExit(EXIT.error);
        }
        if (run.plan.actions.length === 0) return;
        if (!flags.yes) {
          if (!process.stdin.isTTY) {
            throw new ToolError("apply needs --yes when it is not run from a terminal; nothing was changed");
          }
          if (
            !(await confirm(
              `\nApply these ${run.plan.actions.length} changes to ${run.plan.serverName}? Only 'yes' is accepted: `,
            ))
          ) {
            err("Nothing was applied.\n");
            return setExit(EXIT.error);
          }
        }
        out("\n");
        let stopping = false;
        const stop = () => {
          if (!stopping) err("\nStopping: no new changes start; waiting for those in flight…\n");
          stopping = true;
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
        let result: ApplyResult;
        try {
          result = await applyPlan(client, run.plan, {
            concurrency: flags.concurrency,
            shouldContinue: () => !stopping,
            onResult: (r) =>
              out(
                r.outcome === "done"
                  ? `${actionLines(r.action)[0]!.replace(/^ {2}/, "  ok ")}\n`
                  : `${resultLine(r)}\n`,
              ),
          });
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
        }
        out(renderApplyText({ ...report, apply: result }));
        if (result.summary.done !== result.results.length) setExit(EXIT.error);
      } finally {
        await client.close();
      }
    },
  );

  withServerOptions(
    program
      .command("export")
      .description("write the server's users as a users file")
      .option("--out <file>", "write to this file instead of standard output")
      .option("--concurrency <n>", "parallel requests for user details", positiveInt, 8),
  ).action(async (flags: ServerFlags & { out?: string; concurrency: number }) => {
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
  });

  program
    .command("schema")
    .description("print the JSON Schema of the users file")
    .action(() => {
      out(`${JSON.stringify(usersFileJsonSchema(), null, 2)}\n`);
    });

  return program;
}

function limits(flags: { maxDeactivations?: number; maxErasures?: number }) {
  return {
    ...(flags.maxDeactivations === undefined ? {} : { maxDeactivations: flags.maxDeactivations }),
    ...(flags.maxErasures === undefined ? {} : { maxErasures: flags.maxErasures }),
  };
}

/** The one error boundary: known errors become one clear message and exit 1; anything else is a bug with a stack. */
export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.error;
    if (e instanceof ToolError) {
      err(`error: ${e.message}${e.hint ? ` (${e.hint})` : ""}\n`);
      return EXIT.error;
    }
    err(`synapse-gitops: unexpected error (a bug; please report it)\n${e instanceof Error ? e.stack : String(e)}\n`);
    return EXIT.error;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
