// The command line: thin commands over the core (read → validate → plan → render → exit code) and
// the one error boundary. Only this file (and the GitHub Action's entry) prints or touches `process`.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { ApplyFlags, DriftFlags, ExportFlags, ForceUnlockFlags, PlanFlags } from "./commands.js";
import { EXIT, ToolError } from "./errors.js";
import { VERSION } from "./version.js";

/** The commands and everything they need, loaded on first use (a separate chunk of the bundle). */
const commands = () => import("./commands.js");

const DEFAULT_FILE = "users.yaml";

const err = (text: string) => process.stderr.write(text);

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number ≥ 0");
  return n;
}

function atLeastOne(value: string): number {
  const n = positiveInt(value);
  if (n < 1) throw new InvalidArgumentError("expected a whole number ≥ 1");
  return n;
}

function withServerOptions(cmd: Command): Command {
  return cmd
    .option("--homeserver <url>", "the homeserver's URL (else SYNAPSE_URL, else homeserver: in the file)")
    .option("--token-file <path>", "read the admin token from this file (else SYNAPSE_ADMIN_TOKEN)")
    .option("--allow-insecure-http", "allow http:// to a host that is not loopback (the token travels in clear)")
    .option("--timeout <seconds>", "give up on a request after this long", atLeastOne, 30)
    .option("--retries <n>", "retry a 429, 502, 503, 504 or broken connection this many times", positiveInt, 3);
}

function withNotifyOptions(cmd: Command): Command {
  return cmd
    .option("--notify-room <room>", "post the report into this Matrix room (ID or alias) as the admin user")
    .option("--notify-always", "post even when there is nothing to report");
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
      setExit(await (await commands()).validateCommand(file));
    });

  withNotifyOptions(
    withServerOptions(
      program
        .command("plan")
        .description("show what apply would change, refuse, and leave alone")
        .argument("[file]", "users file or directory", DEFAULT_FILE)
        .addOption(
          new Option("--format <format>", "output format").choices(["text", "json", "markdown"]).default("text"),
        )
        .option("--detailed-exitcode", "exit 2 when there are changes, 0 when none, 1 on errors and refusals")
        .option("--out <plan.json>", "also save the plan, to apply exactly it later with apply --plan")
        .option("--max-deactivations <n>", "override policy.maxDeactivations for this run", positiveInt)
        .option("--max-erasures <n>", "override policy.maxErasures for this run", positiveInt),
    ),
  ).action(async (file: string, flags: PlanFlags) => {
    setExit(await (await commands()).planCommand(file, flags));
  });

  withNotifyOptions(
    withServerOptions(
      program
        .command("apply")
        .description("plan (or load a saved plan), confirm, then apply the changes")
        .argument("[file]", "users file or directory", DEFAULT_FILE)
        .option("--plan <plan.json>", "apply exactly this saved plan (from plan --out) instead of planning again")
        .option("--yes", "apply without asking (required when not on a terminal)")
        .option(
          "--audit-log <file>",
          "append a JSON line for the run, each request that changes the server, and each result",
        )
        .option("--concurrency <n>", "users changed in parallel", positiveInt, 8)
        .option("--max-deactivations <n>", "override policy.maxDeactivations for this run", positiveInt)
        .option("--max-erasures <n>", "override policy.maxErasures for this run", positiveInt)
        .option("--lock-timeout <seconds>", "wait this long for another apply's lock before giving up", atLeastOne)
        .addOption(
          new Option("--lock-ttl <seconds>", "the lease's time to live (tests)").argParser(atLeastOne).hideHelp(),
        ),
    ),
  ).action(async (file: string, flags: ApplyFlags) => {
    setExit(await (await commands()).applyCommand(file, flags));
  });

  withNotifyOptions(
    withServerOptions(
      program
        .command("drift")
        .description("report how the server differs from the file (exit 0: none, 2: drift, 1: error)")
        .argument("[file]", "users file or directory", DEFAULT_FILE)
        .addOption(
          new Option("--format <format>", "output format").choices(["text", "json", "markdown"]).default("text"),
        ),
    ),
  ).action(async (file: string, flags: DriftFlags) => {
    setExit(await (await commands()).driftCommand(file, flags));
  });

  withServerOptions(
    program
      .command("export")
      .description("write the server's users as a users file")
      .option("--out <file>", "write to this file instead of standard output")
      .option("--concurrency <n>", "parallel requests for user details", positiveInt, 8),
  ).action(async (flags: ExportFlags) => {
    setExit(await (await commands()).exportCommand(flags));
  });

  withServerOptions(
    program
      .command("force-unlock")
      .description("show the apply lock held on the server; with its lease ID, remove it (when its apply is dead)")
      .argument("[lease-id]", "the lease to remove, as force-unlock without it shows")
      .option("--yes", "remove without asking (required when not on a terminal)"),
  ).action(async (leaseId: string | undefined, flags: ForceUnlockFlags) => {
    setExit(await (await commands()).forceUnlockCommand(leaseId, flags));
  });

  program
    .command("schema")
    .description("print the JSON Schema of the users file")
    .action(async () => {
      setExit(await (await commands()).schemaCommand());
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
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.error;
    if (e instanceof ToolError) {
      err(`error: ${e.message}${e.hint ? ` (${e.hint})` : ""}\n`);
      return EXIT.error;
    }
    err(`synapse-gitops: unexpected error (a bug; please report it)\n${e instanceof Error ? e.stack : String(e)}\n`);
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
