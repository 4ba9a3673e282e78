// The steps every command shares — connect, read both sides, plan — so that the CLI and the GitHub
// Action call the same core. Nothing here prints; progress goes through callbacks.
import { readFile } from "node:fs/promises";
import { parseDesiredState, readDesiredFiles } from "./config/load.js";
import type { DesiredState } from "./config/types.js";
import { ToolError } from "./errors.js";
import { DriftDetector, type DriftReport } from "./plan/drift.js";
import { needsDetails, Planner } from "./plan/plan.js";
import type { Plan, PlanContext } from "./plan/types.js";
import { type MutationRecord, SynapseClient } from "./synapse/client.js";
import { streamInventory } from "./synapse/inventory.js";
import type { ActualUser } from "./synapse/types.js";

export interface ConnectionOptions {
  /** --homeserver; else SYNAPSE_URL; else the file's `homeserver:`. */
  homeserver?: string;
  /** --token-file; else SYNAPSE_ADMIN_TOKEN. The token is never taken from the command line. */
  tokenFile?: string;
  allowInsecureHttp?: boolean;
  concurrency?: number;
  /** Per request, for headers and for the body (--timeout, in seconds on the command line). */
  timeoutMs?: number;
  /** Retries of retryable failures (--retries). */
  retries?: number;
  /** Told about every request that may change the server (the audit log). */
  onMutation?: (record: MutationRecord) => void;
  env?: NodeJS.ProcessEnv;
}

export interface Connection {
  client: SynapseClient;
  /** The homeserver's base URL as resolved (flag, environment or file). */
  homeserver: string;
  /** Only to seal and check saved plans (an HMAC key); never printed or stored. */
  token: string;
  /** The admin token's own user. */
  ownUserId: string;
  serverName: string;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

export function resolveHomeserver(options: ConnectionOptions, fromFile?: string): string {
  const env = options.env ?? process.env;
  const raw = options.homeserver ?? env.SYNAPSE_URL ?? fromFile;
  if (!raw) {
    throw new ToolError(
      "no homeserver given",
      "pass --homeserver URL, set SYNAPSE_URL, or set homeserver: in the file",
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ToolError(`the homeserver ${JSON.stringify(raw)} is not a URL`, "use e.g. https://matrix.example.org");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ToolError(`the homeserver URL must be http(s), not ${url.protocol}`);
  }
  // The admin token would cross the network in clear text.
  if (url.protocol === "http:" && !LOOPBACK.test(url.hostname) && !options.allowInsecureHttp) {
    throw new ToolError(
      `refusing to send the admin token over plain http to ${url.host}`,
      "use https, or pass --allow-insecure-http if this network is trusted",
    );
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}

async function readToken(options: ConnectionOptions): Promise<string> {
  const env = options.env ?? process.env;
  if (options.tokenFile) {
    let text: string;
    try {
      text = await readFile(options.tokenFile, "utf8");
    } catch (cause) {
      throw new ToolError(
        `cannot read the token file ${options.tokenFile}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      );
    }
    const token = text.trim();
    if (!token) throw new ToolError(`the token file ${options.tokenFile} is empty`);
    return token;
  }
  const token = env.SYNAPSE_ADMIN_TOKEN?.trim();
  if (!token) {
    throw new ToolError(
      "no admin token",
      "set SYNAPSE_ADMIN_TOKEN or pass --token-file PATH (never on the command line)",
    );
  }
  return token;
}

export async function connect(options: ConnectionOptions, fileHomeserver?: string): Promise<Connection> {
  const baseUrl = resolveHomeserver(options, fileHomeserver);
  const token = await readToken(options);
  const client = new SynapseClient({
    baseUrl,
    token,
    connections: Math.max(8, options.concurrency ?? 8),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.onMutation ? { onMutation: options.onMutation } : {}),
  });
  try {
    const me = await client.whoami();
    return { client, homeserver: baseUrl, token, ownUserId: me.userId, serverName: me.serverName };
  } catch (e) {
    await client.close();
    throw e;
  }
}

export interface PlanOptions extends ConnectionOptions {
  maxDeactivations?: number;
  maxErasures?: number;
  onProgress?: (text: string) => void;
}

export interface ReadRun {
  connection: Connection;
  desired: DesiredState;
  /** What the planner knows besides the server's users: the file's users, the limits of this run. */
  context: PlanContext;
  /** Users the server listed. */
  listed: number;
}

/** Takes the server's users one at a time, and says what it made of them once all are seen. */
interface Comparer<T> {
  observe(have: ActualUser): void;
  finish(): T;
  readonly listed: number;
}

/**
 * Reads the file, then the server's users straight into `compare` as the list arrives (the server's
 * side is never held whole). The caller owns `connection.client` and closes it.
 */
async function compareBothSides<T>(
  file: string,
  options: PlanOptions,
  compare: (context: PlanContext) => Comparer<T>,
): Promise<ReadRun & { result: T }> {
  // The file is read while the server answers who the token is (its name is needed to check the
  // users); a failure to read it is reported after any failure to connect.
  const reading = readDesiredFiles(file);
  reading.catch(() => {});
  // The file may name the homeserver: then it is checked before connecting, when nothing else does.
  const env = options.env ?? process.env;
  const offline = (options.homeserver ?? env.SYNAPSE_URL) ? undefined : parseDesiredState(await reading);
  const connection = await connect(options, offline?.homeserver);
  try {
    const desired = parseDesiredState(await reading, { serverName: connection.serverName });
    const context: PlanContext = {
      desired: desired.users,
      serverName: connection.serverName,
      ownUserId: connection.ownUserId,
      policy: {
        ...desired.policy,
        maxDeactivations: options.maxDeactivations ?? desired.policy.maxDeactivations,
        maxErasures: options.maxErasures ?? desired.policy.maxErasures,
      },
    };
    const comparer = compare(context);
    await streamInventory(connection.client, (have) => comparer.observe(have), {
      needsDetails: needsDetails(desired.users, desired.policy.unmanaged),
      concurrency: options.concurrency ?? 8,
      onProgress: (p) =>
        options.onProgress?.(
          p.detailsNeeded && p.detailed
            ? `read ${p.listed} users, details ${p.detailed}/${p.detailsNeeded}`
            : `read ${p.listed} users`,
        ),
    });
    return { connection, desired, context, listed: comparer.listed, result: comparer.finish() };
  } catch (e) {
    await connection.client.close();
    throw e;
  }
}

export async function planFromFile(file: string, options: PlanOptions): Promise<ReadRun & { plan: Plan }> {
  const { result, ...run } = await compareBothSides(file, options, (context) => new Planner(context));
  return { ...run, plan: result };
}

export async function driftFromFile(file: string, options: PlanOptions): Promise<ReadRun & { drift: DriftReport }> {
  const { result, ...run } = await compareBothSides(file, options, (context) => new DriftDetector(context));
  return { ...run, drift: result };
}
