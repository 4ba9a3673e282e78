// Choosing the accounts backend, and what a MAS one needs: its URL and client credentials, each
// given by the operator only (flags, environment, a file; never the command line for secrets).
import { readFile } from "node:fs/promises";
import { MasAccounts } from "../accounts/mas.js";
import type { AccountsBackend } from "../domain/accounts.js";
import { ToolError } from "../errors.js";
import type { SynapseClient } from "../synapse/client.js";
import { SynapseError } from "../synapse/errors.js";
import { MAS_CLIENT_HINT, MasClient } from "../synapse/mas.js";
import type { Io } from "./io.js";
import type { BackendChoice, ServerOptions } from "./session.js";

/** How to give the Synapse side a token when Synapse delegates to MAS: said in every such error. */
export const MAS_SYNAPSE_TOKEN_HINT =
  "under MAS the Synapse admin token is a MAS session with the scopes `urn:matrix:client:api:* urn:synapse:admin:*`: " +
  "mint a personal session (POST /api/admin/v1/personal-sessions on MAS ≥ 1.5, for an admin user) or run " +
  "`mas-cli manage issue-compatibility-token USER --yes-i-want-to-grant-synapse-admin-privileges`, " +
  "and give it in SYNAPSE_ADMIN_TOKEN (or --token-file)";

/** The operator's MAS settings as given; checked only once the backend turns out to be MAS. */
export interface MasSettings {
  url?: string;
  clientId?: string;
  clientSecret?: string;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * MAS_URL (--mas-url), and the client's ID and secret: from --mas-credentials-file (or
 * MAS_CREDENTIALS_FILE) — lines `MAS_CLIENT_ID=…` and `MAS_CLIENT_SECRET=…` — else from
 * MAS_CLIENT_ID and MAS_CLIENT_SECRET.
 */
export async function masSettings(options: ServerOptions, env: Io["env"]): Promise<MasSettings> {
  const settings: MasSettings = {};
  const url = options.masUrl ?? env.MAS_URL;
  if (url) settings.url = url;
  const file = options.masCredentialsFile ?? env.MAS_CREDENTIALS_FILE;
  let values: Record<string, string | undefined> = env;
  if (file) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (cause) {
      throw new ToolError(
        `cannot read the MAS credentials file ${file}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      );
    }
    values = {};
    for (const line of text.split(/\r?\n/)) {
      const m = /^\s*(MAS_CLIENT_ID|MAS_CLIENT_SECRET)\s*=\s*(.*?)\s*$/.exec(line);
      if (m) values[m[1]!] = m[2]!;
    }
  }
  const clientId = values.MAS_CLIENT_ID?.trim();
  const clientSecret = values.MAS_CLIENT_SECRET?.trim();
  if (clientId) settings.clientId = clientId;
  if (clientSecret) settings.clientSecret = clientSecret;
  return settings;
}

/** Whether accounts go through MAS: forced by --backend, else the homeserver's auth_metadata answering 200. */
export async function usesMas(client: SynapseClient, choice: BackendChoice): Promise<boolean> {
  if (choice !== "auto") return choice === "mas";
  return (await client.authMetadata()) !== undefined;
}

/** A token the homeserver turned away, explained for a homeserver that delegates to MAS. */
export function synapseTokenUnderMas(e: unknown): unknown {
  if (e instanceof SynapseError && (e.kind === "unauthorized" || e.kind === "forbidden")) {
    return new ToolError(
      `the homeserver did not accept the Synapse admin token (${e.message})`,
      MAS_SYNAPSE_TOKEN_HINT,
    );
  }
  return e;
}

/**
 * The MAS backend: checks the operator's settings, gets a token (which proves the client), reads
 * what the planner must know of MAS, and checks that the Synapse token is an admin one. The MAS
 * client is closed with `client`. MAS's URL is only ever the operator's: the issuer the homeserver
 * advertises is not used (a homeserver could name any host, and the client secret would go there).
 */
export async function masAccounts(
  client: SynapseClient,
  creds: { mas?: MasSettings },
  options: ServerOptions & {
    onMutation?: (record: { method: string; path: string; status?: number; durationMs: number }) => void;
  },
): Promise<AccountsBackend> {
  const settings = creds.mas ?? {};
  if (!settings.url) {
    const issuer = options.backend === "mas" ? undefined : (await client.authMetadata())?.issuer;
    throw new ToolError(
      `the homeserver delegates authentication to the Matrix Authentication Service, but no MAS URL is given${issuer ? ` (it advertises the issuer ${issuer}, which is not used unless you name it)` : ""}`,
      "set MAS_URL (or pass --mas-url) to the MAS address that serves the admin API; the MAS client secret is only sent there",
    );
  }
  const url = masUrl(settings.url, options.allowInsecureHttp ?? false);
  if (!settings.clientId || !settings.clientSecret) {
    throw new ToolError(
      `no MAS client ${!settings.clientId ? "ID" : "secret"}: the admin API of MAS needs a client with the urn:mas:admin scope`,
      MAS_CLIENT_HINT,
    );
  }
  const mas = new MasClient({
    baseUrl: url,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.onMutation ? { onMutation: options.onMutation } : {}),
  });
  client.alsoClose(() => mas.close());
  // A Synapse token without `urn:synapse:admin:*` passes whoami: the Admin API is where it shows.
  await client.serverVersion().catch((e) => {
    throw synapseTokenUnderMas(e);
  });
  return MasAccounts.connect(client, mas);
}

function masUrl(raw: string, allowInsecureHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ToolError(`the MAS URL ${JSON.stringify(raw)} is not a URL`, "use e.g. https://auth.example.org");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ToolError("the MAS URL must be http(s)");
  if (url.username || url.password || url.search || url.hash) {
    throw new ToolError("the MAS URL must not carry credentials, a query or a fragment");
  }
  if (url.protocol === "http:" && !LOOPBACK.test(url.hostname) && !allowInsecureHttp) {
    throw new ToolError(
      `refusing to send the MAS client secret over plain http to ${url.host}`,
      "use https, or pass --allow-insecure-http if this network is trusted",
    );
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}
