// Connect → read both sides (the users file, the server's users) → hand them to a comparer. Shared
// by every command that talks to a server. Nothing here prints; progress goes through callbacks.
import { readFile } from "node:fs/promises";
import { streamInventory } from "../accounts/inventory.js";
import { MasAccounts, withMasProviders } from "../accounts/mas.js";
import { SynapseAccounts } from "../accounts/synapse.js";
import { type DesiredFile, parseDesiredState, readDesiredFiles } from "../config/load.js";
import { type PasswordPolicy, passwordRefProblem } from "../config/passwords.js";
import type { DesiredState } from "../config/types.js";
import type { ActualUser } from "../domain/account.js";
import type { AccountsBackend } from "../domain/accounts.js";
import type { PasswordRef } from "../domain/desired.js";
import type { Plan, PlanContext } from "../domain/plan.js";
import { ToolError } from "../errors.js";
import { DriftDetector, type DriftReport } from "../plan/drift.js";
import { needsResidue } from "../plan/erasure.js";
import { needsDetails, needsSuspended, Planner } from "../plan/plan.js";
import { type MutationRecord, SynapseClient } from "../synapse/client.js";
import type { Io } from "./io.js";
import { type MasSettings, masAccounts, masSettings, synapseTokenUnderMas, usesMas } from "./mas.js";
import { MemberAccounts, readRooms, withRoomDrift, withRoomPlan } from "./rooms.js";

/** Where the admin token goes and how requests behave: given by the operator only (flags, environment, Action inputs). */
export interface ServerOptions {
  /** --homeserver (or the Action's input); else SYNAPSE_URL. Never the users file's or a plan file's. */
  homeserver?: string;
  /** --token-file; else SYNAPSE_ADMIN_TOKEN. The token is never taken from the command line. */
  tokenFile?: string;
  allowInsecureHttp?: boolean;
  /** Per request, headers and body together (--timeout, in seconds on the command line). */
  timeoutMs?: number;
  /** Retries of retryable failures (--retries). */
  retries?: number;
  /** Which accounts backend (--backend): `auto` (the default) asks the homeserver whether it delegates to MAS. */
  backend?: BackendChoice;
  /** --mas-url; else MAS_URL. The only place the MAS client secret and token are sent. */
  masUrl?: string;
  /** --mas-credentials-file: `client_id` and `client_secret` lines; else MAS_CLIENT_ID and MAS_CLIENT_SECRET. */
  masCredentialsFile?: string;
}

export const BACKEND_CHOICES = ["auto", "synapse", "mas"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface Connection {
  /** The Admin API client: rooms, notices, the apply lock. */
  client: SynapseClient;
  /** Where accounts are read and written (Synapse's own, or MAS's: see core/mas.ts). */
  accounts: AccountsBackend;
  /** The homeserver's base URL, as the operator gave it. */
  homeserver: string;
  /** Only to derive the key that seals saved plans; never printed or stored. */
  token: string;
  /** The admin token's own user. */
  ownUserId: string;
  serverName: string;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * The homeserver the operator named: `--homeserver` (or the Action's input), else SYNAPSE_URL.
 * The admin token is sent nowhere else: a users file or a plan file can only name a homeserver,
 * which is then checked against this one (and refused when it differs), never used.
 */
export function operatorHomeserver(options: ServerOptions, env: Io["env"]): string {
  const raw = options.homeserver ?? env.SYNAPSE_URL;
  if (!raw) {
    throw new ToolError(
      "no homeserver given",
      "pass --homeserver URL or set SYNAPSE_URL; the admin token is only sent to a homeserver you name, never to one a file names",
    );
  }
  return normaliseHomeserver(raw, options.allowInsecureHttp ?? false);
}

/** A homeserver URL as compared and used: origin and path, no trailing slash. */
export function normaliseHomeserver(raw: string, allowInsecureHttp = true): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ToolError(`the homeserver ${JSON.stringify(raw)} is not a URL`, "use e.g. https://matrix.example.org");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ToolError(`the homeserver URL must be http(s), not ${url.protocol}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ToolError("the homeserver URL must not carry credentials, a query or a fragment");
  }
  // The admin token would cross the network in clear text.
  if (url.protocol === "http:" && !LOOPBACK.test(url.hostname) && !allowInsecureHttp) {
    throw new ToolError(
      `refusing to send the admin token over plain http to ${url.host}`,
      "use https, or pass --allow-insecure-http if this network is trusted",
    );
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}

/** The admin token, from --token-file or SYNAPSE_ADMIN_TOKEN. */
export async function readToken(options: ServerOptions, env: Io["env"]): Promise<string> {
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

/** The operator's homeserver and token, resolved before anything is read from the network. */
export interface Credentials {
  homeserver: string;
  token: string;
  /** What MAS needs, read when the backend turns out to be MAS (see masCredentials). */
  mas?: MasSettings;
}

export async function credentials(options: ServerOptions, env: Io["env"]): Promise<Credentials> {
  return {
    homeserver: operatorHomeserver(options, env),
    token: await readToken(options, env),
    mas: await masSettings(options, env),
  };
}

export async function connect(
  creds: Credentials,
  options: ServerOptions & { concurrency?: number; onMutation?: (record: MutationRecord) => void },
): Promise<Connection> {
  const client = new SynapseClient({
    baseUrl: creds.homeserver,
    token: creds.token,
    connections: Math.max(8, options.concurrency ?? 8),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.onMutation ? { onMutation: options.onMutation } : {}),
  });
  try {
    const choice = options.backend ?? "auto";
    // whoami first, as on any server; a token it refuses is explained for MAS when the server is one.
    const me = await client.whoami().catch(async (e) => {
      throw (await usesMas(client, choice).catch(() => false)) ? synapseTokenUnderMas(e) : e;
    });
    const delegated = await usesMas(client, choice);
    return {
      client,
      accounts: delegated ? await masAccounts(client, creds, options) : new SynapseAccounts(client),
      homeserver: creds.homeserver,
      token: creds.token,
      ownUserId: me.userId,
      serverName: me.serverName,
    };
  } catch (e) {
    await client.close();
    throw e;
  }
}

/** The safety limits a run may tighten or loosen from the command line (or the Action's inputs). */
export interface Limits {
  maxDeactivations?: number;
  maxErasures?: number;
  maxRemovals?: number;
}

/** The file's policy with this run's limits applied: what the planner enforces and every plan shows. */
export function effectivePolicy(desired: DesiredState, limits: Limits): PlanContext["policy"] {
  return {
    ...desired.policy,
    maxDeactivations: limits.maxDeactivations ?? desired.policy.maxDeactivations,
    maxErasures: limits.maxErasures ?? desired.policy.maxErasures,
    ...((limits.maxRemovals ?? desired.policy.maxRemovals) === undefined
      ? {}
      : { maxRemovals: limits.maxRemovals ?? desired.policy.maxRemovals }),
  };
}

/** The planner's check of password references: the operator's allow-list, against this environment. */
export function passwordChecker(options: Pick<ReadOptions, "passwordPolicy" | "env">) {
  return (ref: PasswordRef) => passwordRefProblem(ref, options.passwordPolicy ?? {}, options.env ?? {});
}

/** Takes the server's users one at a time, and says what it made of them once all are seen. */
export interface Comparer<T> {
  observe(have: ActualUser): void;
  finish(): T;
  readonly listed: number;
}

export interface ReadRun {
  connection: Connection;
  desired: DesiredState;
  /** The files as read, from which `desired` was parsed (drift --format patch edits them). */
  files: DesiredFile[];
  /** What the planner knows besides the server's users: the file's users, the limits of this run. */
  context: PlanContext;
  /** Users the server listed. */
  listed: number;
}

export interface ReadOptions extends ServerOptions, Limits {
  /** What password references may read; nothing without it. */
  passwordPolicy?: PasswordPolicy;
  /** The environment password references are checked against. */
  env?: Io["env"];
  concurrency?: number;
  onMutation?: (record: MutationRecord) => void;
  onProgress?: (text: string) => void;
  /** The clock the file's scheduled dates are judged by (core/clock.ts). */
  now: number;
}

/**
 * Connects to the operator's homeserver and reads the users file, once. The file is read while the
 * server answers who the token is (its name is needed to check the users); a failure to read it is
 * reported after any failure to connect. The caller owns `connection.client` and closes it.
 */
export async function connectAndRead(
  file: string,
  creds: Credentials,
  options: ServerOptions & { concurrency?: number; onMutation?: (record: MutationRecord) => void },
): Promise<{ connection: Connection; desired: DesiredState; files: DesiredFile[] }> {
  const reading = readDesiredFiles(file);
  reading.catch(() => {});
  const connection = await connect(creds, options);
  try {
    const files = await reading;
    const desired = parseDesiredState(files, {
      serverName: connection.serverName,
      homeserver: connection.homeserver,
    });
    return { connection, desired, files };
  } catch (e) {
    await connection.client.close();
    throw e;
  }
}

/**
 * Reads the file (once), connects to the operator's homeserver, then streams the server's users
 * straight into `compare` as the list arrives (the server's side is never held whole). The caller
 * owns `connection.client` and closes it.
 */
export async function compareBothSides<T>(
  file: string,
  creds: Credentials,
  options: ReadOptions,
  compare: (context: PlanContext, desired: DesiredState) => Comparer<T>,
): Promise<ReadRun & { result: T }> {
  const { connection, desired, files } = await connectAndRead(file, creds, options);
  try {
    const { accounts } = connection;
    const context: PlanContext = {
      desired:
        accounts instanceof MasAccounts ? withMasProviders(desired.users, accounts.traits.providerId) : desired.users,
      serverName: connection.serverName,
      ownUserId: connection.ownUserId,
      policy: effectivePolicy(desired, options),
      passwordProblem: passwordChecker(options),
      backend: { name: accounts.name, ...accounts.traits },
      now: options.now,
    };
    const comparer = compare(context, desired);
    await streamInventory(connection.accounts, (have) => comparer.observe(have), {
      needsDetails: needsDetails(desired.users, desired.policy.unmanaged),
      needsSuspended: needsSuspended(desired.users),
      needsResidue: needsResidue(desired.users, context.policy, context.now),
      concurrency: options.concurrency ?? 8,
      onProgress: (p) =>
        options.onProgress?.(
          p.detailsNeeded && p.detailed
            ? `read ${p.listed} users, details ${p.detailed}/${p.detailsNeeded}`
            : `read ${p.listed} users`,
        ),
    });
    return { connection, desired, files, context, listed: comparer.listed, result: comparer.finish() };
  } catch (e) {
    await connection.client.close();
    throw e;
  }
}

export async function planFromFile(
  file: string,
  creds: Credentials,
  options: ReadOptions,
): Promise<ReadRun & { plan: Plan }> {
  let members: MemberAccounts | undefined;
  const { result, ...run } = await compareBothSides(file, creds, options, (context, desired) => {
    members = new MemberAccounts(desired.rooms);
    return members.around(new Planner(context));
  });
  if (run.desired.rooms.length === 0) return { ...run, plan: result };
  const actual = await readFileRooms(run, options);
  return { ...run, plan: withRoomPlan(result, run.desired, actual, members!, run.connection.ownUserId) };
}

export async function driftFromFile(
  file: string,
  creds: Credentials,
  options: ReadOptions,
): Promise<ReadRun & { drift: DriftReport }> {
  const { result, ...run } = await compareBothSides(file, creds, options, (context) => new DriftDetector(context));
  if (run.desired.rooms.length === 0) return { ...run, drift: result };
  const actual = await readFileRooms(run, options);
  return { ...run, drift: withRoomDrift(result, run.desired.rooms, actual, run.connection.ownUserId) };
}

/** The file's rooms as the server has them; closes the connection on failure, as compareBothSides does. */
async function readFileRooms(run: ReadRun, options: ReadOptions) {
  try {
    return await readRooms(
      run.connection.client,
      run.desired.rooms.map((r) => r.key),
      options.concurrency ?? 8,
      options.onProgress,
    );
  } catch (e) {
    await run.connection.client.close();
    throw e;
  }
}
