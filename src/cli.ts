// The command line: a thin shell over the application core (src/core/). It maps flags onto the
// core's options, gives it a terminal (output, confirmation, interrupts, environment), renders the
// result, and holds the one error boundary. Only this file and src/action/ touch `process`.
import { hostname } from "node:os";
import { createInterface } from "node:readline/promises";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { Io } from "./core/io.js";
import type { ServerOptions } from "./core/session.js";
import { EXIT, ToolError } from "./errors.js";
import { crashText } from "./report/crash.js";
import { escapeTerminalLines } from "./report/escape.js";
import { VERSION } from "./version.js";

/** The core and the renderers, loaded on first use (a separate chunk of the bundle): --version and --help start fast. */
const load = async () => ({
  core: await import("./core/commands.js"),
  text: await import("./report/text.js"),
  markdown: await import("./report/markdown.js"),
  json: await import("./report/json.js"),
  drift: await import("./report/drift.js"),
  patch: await import("./report/patch.js"),
  schema: await import("./config/schema.js"),
});

const DEFAULT_FILE = "users.yaml";

const out = (text: string) => process.stdout.write(text);
const err = (text: string) => process.stderr.write(text);

/** A one-line progress display on a terminal; silent otherwise (CI logs stay clean). */
function progress(): Io["progress"] {
  if (!process.stderr.isTTY) return { update: () => {}, done: () => {} };
  let shown = false;
  return {
    update: (text) => {
      err(`\r\x1b[2K${text}`);
      shown = true;
    },
    done: () => {
      if (shown) err("\r\x1b[2K");
      shown = false;
    },
  };
}

/** The terminal, as the core sees it. */
function terminalIo(): Io {
  return {
    out,
    err,
    progress: bar,
    ...(process.stdin.isTTY
      ? {
          confirm: async (question: string) => {
            const rl = createInterface({ input: process.stdin, output: process.stderr });
            try {
              return (await rl.question(question)).trim() === "yes";
            } finally {
              rl.close();
            }
          },
        }
      : {}),
    env: process.env,
    // The first SIGINT/SIGTERM goes to the core (stop starting changes); a second one exits at once.
    onInterrupt: (handler) => {
      let seen = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        if (++seen > 1) {
          err(`\n${signal} again: exiting now; some changes may be half done. Run apply again to finish.\n`);
          process.exit(130);
        }
        handler();
      };
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

const bar = progress();

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number ≥ 0");
  return n;
}

function atLeastOne(value: string): number {
  const n = wholeNumber(value);
  if (n < 1) throw new InvalidArgumentError("expected a whole number ≥ 1");
  return n;
}

/** `24h`, `90m`, `3600s` or a number of hours. */
function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(h|m|s)?$/.exec(value.trim());
  if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError("expected a duration such as 24h, 90m or 3600s");
  return Number(m[1]) * { h: 3_600_000, m: 60_000, s: 1000 }[(m[2] ?? "h") as "h" | "m" | "s"];
}

interface ServerFlags {
  homeserver?: string;
  tokenFile?: string;
  allowInsecureHttp?: boolean;
  backend?: ServerOptions["backend"];
  masUrl?: string;
  masCredentialsFile?: string;
  timeout?: number;
  retries?: number;
}

function withServerOptions(cmd: Command): Command {
  return cmd
    .option("--homeserver <url>", "the homeserver's URL (else SYNAPSE_URL); the only place the admin token is sent")
    .option("--token-file <path>", "read the admin token from this file (else SYNAPSE_ADMIN_TOKEN)")
    .option("--allow-insecure-http", "allow http:// to a host that is not loopback (the token travels in clear)")
    .addOption(
      new Option(
        "--backend <backend>",
        "where accounts live: auto asks the homeserver (MAS when auth_metadata answers)",
      )
        .choices(["auto", "synapse", "mas"])
        .default("auto"),
    )
    .option("--mas-url <url>", "MAS's URL (else MAS_URL); the only place the MAS client secret is sent")
    .option(
      "--mas-credentials-file <path>",
      "read MAS_CLIENT_ID=… and MAS_CLIENT_SECRET=… lines from this file (else those environment variables)",
    )
    .option("--timeout <seconds>", "give up on a request after this long", atLeastOne, 30)
    .option("--retries <n>", "retry a 429, 502, 503, 504 or broken connection this many times", wholeNumber, 3);
}

interface PlanningFlags extends ServerFlags {
  passwordEnvPrefix?: string;
  passwordEnv?: string[];
  passwordDir?: string;
  maxDeactivations?: number;
  maxErasures?: number;
  maxRemovals?: number;
  notifyRoom?: string;
  notifyAlways?: boolean;
}

/** What plan and apply share: the server, the policy options (passwords, limits), notification. */
function planningOptions(flags: PlanningFlags) {
  return {
    ...serverOptions(flags),
    passwordPolicy: defined({
      envPrefix: flags.passwordEnvPrefix,
      envNames: flags.passwordEnv,
      dir: flags.passwordDir,
    }),
    maxDeactivations: flags.maxDeactivations,
    maxErasures: flags.maxErasures,
    maxRemovals: flags.maxRemovals,
    notifyRoom: flags.notifyRoom,
    notifyAlways: flags.notifyAlways,
  };
}

function serverOptions(flags: ServerFlags): ServerOptions {
  return {
    ...(flags.homeserver ? { homeserver: flags.homeserver } : {}),
    ...(flags.tokenFile ? { tokenFile: flags.tokenFile } : {}),
    ...(flags.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(flags.masUrl ? { masUrl: flags.masUrl } : {}),
    ...(flags.masCredentialsFile ? { masCredentialsFile: flags.masCredentialsFile } : {}),
    ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout * 1000 }),
    ...(flags.retries === undefined ? {} : { retries: flags.retries }),
  };
}

function withNotifyOptions(cmd: Command): Command {
  return cmd
    .option("--notify-room <room>", "post the report into this Matrix room (ID or alias) as the admin user")
    .option("--notify-always", "post even when there is nothing to report");
}

function withPolicyOptions(cmd: Command): Command {
  return cmd
    .option("--password-env-prefix <prefix>", "password references may read environment variables named PREFIX…")
    .option(
      "--password-env <name>",
      "password references may read this environment variable (repeatable)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option("--password-dir <dir>", "password references may read regular files under this directory")
    .option("--max-deactivations <n>", "override policy.maxDeactivations for this run", wholeNumber)
    .option("--max-erasures <n>", "override policy.maxErasures for this run", wholeNumber)
    .option(
      "--max-removals <n>",
      "override policy.maxRemovals (members removed from rooms or demoted in them) for this run",
      wholeNumber,
    );
}

const formatOption = () =>
  new Option("--format <format>", "output format").choices(["text", "json", "markdown"]).default("text");

/** Undefined-valued keys dropped: the core's options are exact. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
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
      setExit(await (await load()).core.validate(terminalIo(), file));
    });

  withNotifyOptions(
    withServerOptions(
      withPolicyOptions(
        program
          .command("plan")
          .description("show what apply would change, refuse, and leave alone")
          .argument("[file]", "users file or directory", DEFAULT_FILE)
          .addOption(formatOption())
          .option("--detailed-exitcode", "exit 2 when there are changes, 0 when none, 1 on errors and refusals")
          .option("--out <plan.json>", "also save the plan, to apply exactly it later with apply --plan")
          .option("--out-ttl <duration>", "how long the saved plan stays valid (e.g. 24h, 90m)", duration)
          .option("--snapshot <inventory.json>", "plan offline against a snapshot: no token, no request to any server")
          .option("--clock-from-env", "let --out judge scheduled dates by SYNAPSE_GITOPS_NOW instead of the real time"),
      ),
    ),
  ).action(async (file: string, flags) => {
    const m = await load();
    const { exitCode, report } = await m.core.plan(
      terminalIo(),
      file,
      defined({
        ...planningOptions(flags),
        detailedExitcode: flags.detailedExitcode,
        out: flags.out,
        outTtlMs: flags.outTtl,
        snapshot: flags.snapshot,
        clockFromEnv: flags.clockFromEnv,
      }),
    );
    out(
      flags.format === "json"
        ? m.json.renderJson(report)
        : flags.format === "markdown"
          ? m.markdown.renderMarkdown(report)
          : m.text.renderPlanText(report),
    );
    setExit(exitCode);
  });

  withNotifyOptions(
    withServerOptions(
      withPolicyOptions(
        program
          .command("apply")
          .description("plan (or load a saved plan), confirm, then apply the changes")
          .argument("[file]", "users file or directory (with --plan: the file the plan was made from)", DEFAULT_FILE)
          .option("--plan <plan.json>", "apply exactly this saved plan (from plan --out) instead of planning again")
          .option("--yes", "apply without asking (required when not on a terminal)")
          .option(
            "--clock-from-env",
            "judge scheduled dates by SYNAPSE_GITOPS_NOW (or apply a saved plan made so) instead of the real time",
          )
          .option(
            "--audit-log <file>",
            "append a JSON line for the run, each request that changes the server, and each result",
          )
          .option("--concurrency <n>", "users changed in parallel", atLeastOne, 8)
          .option("--lock-timeout <seconds>", "wait this long for another apply's lock before giving up", atLeastOne)
          .addOption(
            new Option("--lock-ttl <seconds>", "the lease's time to live (tests)").argParser(atLeastOne).hideHelp(),
          ),
      ),
    ),
  ).action(async (file: string, flags) => {
    const { exitCode } = await (await load()).core.apply(
      terminalIo(),
      file,
      defined({
        ...planningOptions(flags),
        plan: flags.plan,
        clockFromEnv: flags.clockFromEnv,
        yes: flags.yes,
        auditLog: flags.auditLog,
        concurrency: flags.concurrency,
        lockTimeoutMs: flags.lockTimeout === undefined ? undefined : flags.lockTimeout * 1000,
        lockTtlMs: flags.lockTtl === undefined ? undefined : flags.lockTtl * 1000,
      }),
    );
    setExit(exitCode);
  });

  withNotifyOptions(
    withServerOptions(
      program
        .command("drift")
        .description("report how the server differs from the file (exit 0: none, 2: drift, 1: error)")
        .argument("[file]", "users file or directory", DEFAULT_FILE)
        .addOption(
          new Option("--format <format>", "output format; patch: a unified diff that makes the file match the server")
            .choices(["text", "json", "markdown", "patch"])
            .default("text"),
        )
        .option("--write", "with --format patch: write the patch to the users file (exit 0 once the file matches)"),
    ),
  ).action(async (file: string, flags) => {
    if (flags.write && flags.format !== "patch") throw new ToolError("--write goes with --format patch");
    const m = await load();
    const { exitCode, drift, patch } = await m.core.drift(
      terminalIo(),
      file,
      defined({
        ...serverOptions(flags),
        notifyRoom: flags.notifyRoom,
        notifyAlways: flags.notifyAlways,
        patch: flags.format === "patch" || undefined,
        write: flags.write,
      }),
    );
    if (patch) {
      out(m.patch.renderPatchText(patch));
      err(`${m.drift.driftSummaryLine(drift, escapeTerminalLines)}\n${m.patch.renderPatchSummaryText(patch)}`);
    } else
      out(
        flags.format === "json"
          ? m.drift.renderDriftJson(drift)
          : flags.format === "markdown"
            ? m.drift.renderDriftMarkdown(drift)
            : m.drift.renderDriftText(drift),
      );
    setExit(exitCode);
  });

  withServerOptions(
    program
      .command("export")
      .description("write the server's users as a users file")
      .option("--out <file>", "write to this file instead of standard output")
      .option("--concurrency <n>", "parallel requests for user details", atLeastOne, 8)
      .option(
        "--room <room>",
        "also write this room or space (alias or ID) with its members and power levels (repeatable)",
        (value: string, previous: string[] = []) => [...previous, value],
      ),
  ).action(async (flags) => {
    setExit(
      await (await load()).core.exportUsers(
        terminalIo(),
        defined({ ...serverOptions(flags), out: flags.out, concurrency: flags.concurrency, rooms: flags.room }),
      ),
    );
  });

  withServerOptions(
    program
      .command("snapshot")
      .description("save the server's inventory for token-free plans (plan --snapshot); personal data as digests")
      .argument("[file]", "users file or directory (decides which users are read in full)", DEFAULT_FILE)
      .requiredOption("--out <inventory.json>", "where to write the snapshot")
      .option("--concurrency <n>", "parallel requests for user details", atLeastOne, 8),
  ).action(async (file: string, flags) => {
    setExit(
      await (await load()).core.snapshot(
        terminalIo(),
        file,
        defined({ ...serverOptions(flags), out: flags.out, concurrency: flags.concurrency }),
      ),
    );
  });

  withServerOptions(
    program
      .command("force-unlock")
      .description("show the apply lock held on the server; with its lease ID, remove it (when its apply is dead)")
      .argument("[lease-id]", "the lease to remove, as force-unlock without it shows")
      .option("--yes", "remove without asking (required when not on a terminal)"),
  ).action(async (leaseId: string | undefined, flags) => {
    setExit(
      await (await load()).core.forceUnlock(
        terminalIo(),
        leaseId,
        defined({ ...serverOptions(flags), yes: flags.yes }),
      ),
    );
  });

  program
    .command("schema")
    .description("print the JSON Schema of the users file")
    .action(async () => {
      out(`${JSON.stringify((await load()).schema.usersFileJsonSchema(), null, 2)}\n`);
      setExit(EXIT.ok);
    });

  return program;
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
    bar.done();
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.error;
    if (e instanceof ToolError) {
      err(`error: ${escapeTerminalLines(`${e.message}${e.hint ? ` (${e.hint})` : ""}`)}\n`);
      return EXIT.error;
    }
    err(crashText(e));
    return EXIT.error;
  }
}

// A reader that goes away early (`synapse-gitops plan | head`) is not an error, and must not cut an
// apply short: what is left to print is dropped, and the command finishes as it would have.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
