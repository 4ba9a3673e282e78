// The Matrix Authentication Service's admin API (/api/admin/v1), as the MAS accounts backend needs it
// (docs: ../shared/docs/mas-facts.md §1). OAuth2 client credentials with the `urn:mas:admin` scope;
// JSON:API-like bodies; cursor pagination. Decides nothing; every failure is a MasError.
import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import { VERSION } from "../version.js";
import { exchange } from "./answer.js";
import { SynapseError, type SynapseErrorKind } from "./errors.js";
import { Agent } from "./undici.js";

/** What to configure when MAS does not accept the client: said once, in every credential error. */
export const MAS_CLIENT_HINT =
  "register a client in MAS's config (`clients: - client_id: <ULID>, client_auth_method: client_secret_basic, client_secret: …`), " +
  "list the same ID under `policy.data.admin_clients`, restart MAS, and give the ID and secret in MAS_CLIENT_ID and MAS_CLIENT_SECRET " +
  "(or --mas-credentials-file); never on the command line";

const HINTS: Partial<Record<SynapseErrorKind, string>> = {
  unauthorized: MAS_CLIENT_HINT,
  forbidden: MAS_CLIENT_HINT,
  network: "check MAS_URL (--mas-url) and that MAS's admin API (the `adminapi` listener resource) is reachable",
  "server-error": "MAS failed; see its logs",
  "invalid-response": "is MAS_URL the Matrix Authentication Service, with the `adminapi` resource on that listener?",
};

/** A failure of MAS's admin API or token endpoint: SynapseError's shape (apply's recovery reads it), MAS's hints. */
export class MasError extends SynapseError {
  override name = "MasError";
  constructor(kind: SynapseErrorKind, method: string, path: string, detail: string, status?: number) {
    super(kind, method, path, `MAS: ${detail}`, status);
    Object.defineProperty(this, "hint", { value: HINTS[kind] });
  }
}

/** A MAS user: its ULID, its Matrix localpart, and MAS's own flags. */
export interface MasUser {
  id: string;
  username: string;
  locked: boolean;
  deactivated: boolean;
  /** `can_request_admin`: its future sessions may ask for `urn:synapse:admin:*`. */
  admin: boolean;
}

export interface MasEmail {
  id: string;
  userId: string;
  email: string;
}

export interface MasLink {
  id: string;
  userId: string | null;
  providerId: string;
  subject: string;
}

export interface MasProvider {
  id: string;
  issuer: string | null;
  humanName: string | null;
  disabled: boolean;
}

export interface MasClientOptions {
  /** MAS's base URL, as the operator gave it (MAS_URL / --mas-url): the only place the client secret and token go. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
  retries?: number;
  /** Page size of list requests (`page[first]`). */
  pageSize?: number;
  /** Told about every request that may change MAS: for the audit log. No secrets. */
  onMutation?: (record: { method: string; path: string; status?: number; durationMs: number }) => void;
}

type Method = "GET" | "POST" | "DELETE";

interface Resource {
  type?: string;
  id?: unknown;
  attributes?: Record<string, unknown>;
  meta?: { page?: { cursor?: unknown } };
}

const API = "/api/admin/v1";
/** Renew the token this long before MAS says it runs out (5 minutes by default). */
const TOKEN_MARGIN_MS = 30_000;
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export class MasClient {
  readonly baseUrl: string;
  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #pageSize: number;
  readonly #onMutation: MasClientOptions["onMutation"];
  #token: { value: string; expiresAt: number } | undefined;
  #tokenRequest: Promise<string> | undefined;

  constructor(options: MasClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#clientId = options.clientId;
    this.#clientSecret = options.clientSecret;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher ?? new Agent({ connections: 8, keepAliveTimeout: 10_000 });
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retries = options.retries ?? 3;
    this.#pageSize = options.pageSize ?? 1000;
    this.#onMutation = options.onMutation;
  }

  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  // ---- Users ----

  /** Every MAS user, page by page (cursor pagination: no row repeats or goes missing). */
  async *listUsers(): AsyncGenerator<MasUser[]> {
    for await (const page of this.#pages("/users")) yield page.map((r) => masUser(r, "/users"));
  }

  async findUserByUsername(localpart: string): Promise<MasUser | undefined> {
    const path = `/users/by-username/${encodeURIComponent(localpart)}`;
    try {
      return masUser(await this.#data("GET", path), path);
    } catch (e) {
      if (e instanceof MasError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** Creates the user in MAS, which provisions it in Synapse at once; `undefined` when the name is taken (409). */
  async createUser(username: string): Promise<MasUser | undefined> {
    try {
      return masUser(await this.#data("POST", "/users", { username }), "/users");
    } catch (e) {
      if (e instanceof MasError && e.status === 409) return undefined;
      throw e;
    }
  }

  async setPassword(userId: string, password: string): Promise<void> {
    await this.#call("POST", `/users/${encodeURIComponent(userId)}/set-password`, { password });
  }

  /** Sets `can_request_admin`. Sessions that exist keep the scopes they have. */
  async setAdmin(userId: string, admin: boolean): Promise<void> {
    await this.#call("POST", `/users/${encodeURIComponent(userId)}/set-admin`, { admin });
  }

  async setLocked(userId: string, locked: boolean): Promise<void> {
    await this.#call("POST", `/users/${encodeURIComponent(userId)}/${locked ? "lock" : "unlock"}`, {});
  }

  /** Asynchronous in MAS: a job ends the sessions, deletes the e-mails and deactivates (and erases) in Synapse later. */
  async deactivate(userId: string, options: { erase: boolean }): Promise<void> {
    await this.#call("POST", `/users/${encodeURIComponent(userId)}/deactivate`, { skip_erase: !options.erase });
  }

  async reactivate(userId: string): Promise<void> {
    await this.#call("POST", `/users/${encodeURIComponent(userId)}/reactivate`, {});
  }

  // ---- E-mails, upstream links, providers, site config ----

  /** E-mails of one user, or of everyone (bulk: one list, not one request per user). */
  async *listEmails(user?: string): AsyncGenerator<MasEmail[]> {
    const query: Record<string, string> = user ? { "filter[user]": user } : {};
    for await (const page of this.#pages("/user-emails", query)) {
      yield page.map((r) => {
        const a = r.attributes ?? {};
        return {
          id: str(r.id, "/user-emails"),
          userId: str(a.user_id, "/user-emails"),
          email: str(a.email, "/user-emails"),
        };
      });
    }
  }

  async addEmail(userId: string, email: string): Promise<void> {
    await this.#call("POST", "/user-emails", { user_id: userId, email });
  }

  async deleteEmail(id: string): Promise<void> {
    await this.#call("DELETE", `/user-emails/${encodeURIComponent(id)}`);
  }

  async *listLinks(user?: string): AsyncGenerator<MasLink[]> {
    const query: Record<string, string> = user ? { "filter[user]": user } : {};
    for await (const page of this.#pages("/upstream-oauth-links", query)) {
      yield page.map((r) => {
        const a = r.attributes ?? {};
        const path = "/upstream-oauth-links";
        return {
          id: str(r.id, path),
          userId: typeof a.user_id === "string" ? a.user_id : null,
          providerId: str(a.provider_id, path),
          subject: str(a.subject, path),
        };
      });
    }
  }

  async addLink(userId: string, providerId: string, subject: string): Promise<void> {
    await this.#call("POST", "/upstream-oauth-links", { user_id: userId, provider_id: providerId, subject });
  }

  async deleteLink(id: string): Promise<void> {
    await this.#call("DELETE", `/upstream-oauth-links/${encodeURIComponent(id)}`);
  }

  async listProviders(): Promise<MasProvider[]> {
    const all: MasProvider[] = [];
    for await (const page of this.#pages("/upstream-oauth-providers")) {
      for (const r of page) {
        const a = r.attributes ?? {};
        all.push({
          id: str(r.id, "/upstream-oauth-providers"),
          issuer: typeof a.issuer === "string" ? a.issuer : null,
          humanName: typeof a.human_name === "string" ? a.human_name : null,
          disabled: a.disabled_at !== null && a.disabled_at !== undefined,
        });
      }
    }
    return all;
  }

  /** Whether MAS lets people log in with a password (set-password answers 403 otherwise). */
  async passwordLoginEnabled(): Promise<boolean> {
    const body = (await this.#call("GET", "/site-config")) as Record<string, unknown>;
    return body.password_login_enabled === true;
  }

  // ---- Transport ----

  async *#pages(path: string, query: Record<string, string> = {}): AsyncGenerator<Resource[]> {
    let after: string | undefined;
    for (let pages = 0; ; pages++) {
      const params = new URLSearchParams({ ...query, "page[first]": String(this.#pageSize), count: "false" });
      if (after) params.set("page[after]", after);
      const body = (await this.#call("GET", `${path}?${params}`)) as { data?: unknown; links?: { next?: unknown } };
      if (!Array.isArray(body.data))
        throw new MasError("invalid-response", "GET", path, "the answer has no `data` list");
      const data = body.data as Resource[];
      yield data;
      if (!body.links?.next || data.length === 0) return;
      const cursor = data[data.length - 1]!.meta?.page?.cursor ?? data[data.length - 1]!.id;
      if (typeof cursor !== "string" || cursor === after || pages > 1_000_000) {
        throw new MasError("invalid-response", "GET", path, "the list's cursor does not move on");
      }
      after = cursor;
    }
  }

  async #data(method: Method, path: string, body?: unknown): Promise<Resource> {
    const json = (await this.#call(method, path, body)) as { data?: unknown };
    if (typeof json.data !== "object" || json.data === null) {
      throw new MasError("invalid-response", method, path, "the answer has no `data`");
    }
    return json.data as Resource;
  }

  /** One admin API call; a 401 drops the token and tries once more with a new one (it may have run out). */
  async #call(method: Method, path: string, body?: unknown): Promise<unknown> {
    const started = Date.now();
    for (let attempt = 0, renewed = false; ; attempt++) {
      const token = await this.#accessToken();
      const t0 = Date.now();
      try {
        const { status, json } = await this.#once(method, API + path, { authorization: `Bearer ${token}` }, body);
        if (method !== "GET")
          this.#onMutation?.({ method, path: shortPath(API + path), status, durationMs: Date.now() - t0 });
        return json;
      } catch (e) {
        if (!(e instanceof MasError)) throw e;
        if (method !== "GET") {
          this.#onMutation?.({
            method,
            path: shortPath(API + path),
            ...(e.status === undefined ? {} : { status: e.status }),
            durationMs: Date.now() - t0,
          });
        }
        if (e.status === 401 && !renewed) {
          renewed = true;
          if (this.#token?.value === token) this.#token = undefined;
          continue;
        }
        const retryable =
          e.status === 429 ||
          ((method === "GET" || method === "DELETE") &&
            (e.kind === "network" || e.status === 502 || e.status === 503 || e.status === 504));
        if (!retryable || attempt >= this.#retries || Date.now() - started > 60_000) throw e;
        await sleep(Math.min(4000, 250 * 2 ** attempt));
      }
    }
  }

  /** The admin API token: requested with the client's credentials, kept until shortly before it runs out. */
  #accessToken(): Promise<string> {
    if (this.#token && Date.now() < this.#token.expiresAt) return Promise.resolve(this.#token.value);
    this.#tokenRequest ??= this.#requestToken().finally(() => {
      this.#tokenRequest = undefined;
    });
    return this.#tokenRequest;
  }

  async #requestToken(): Promise<string> {
    const path = "/oauth2/token";
    const basic = Buffer.from(
      `${encodeURIComponent(this.#clientId)}:${encodeURIComponent(this.#clientSecret)}`,
    ).toString("base64");
    let json: Record<string, unknown>;
    try {
      json = await this.#tokenAnswer(path, basic);
    } catch (e) {
      // The token endpoint's OAuth errors (invalid_client, unauthorized_client, invalid_scope) are 400/401/403.
      if (e instanceof MasError && (e.status === 400 || e.status === 401 || e.status === 403)) {
        throw new MasError(
          "unauthorized",
          "POST",
          path,
          `the client credentials were not accepted (${e.detail.replace(/^MAS: /, "")})`,
          e.status,
        );
      }
      throw e;
    }
    const value = json.access_token;
    if (typeof value !== "string" || value === "") {
      throw new MasError("invalid-response", "POST", path, "the answer has no access_token");
    }
    const ttl = typeof json.expires_in === "number" && json.expires_in > 0 ? json.expires_in * 1000 : 300_000;
    this.#token = { value, expiresAt: Date.now() + Math.max(ttl - TOKEN_MARGIN_MS, ttl / 2) };
    return value;
  }

  /** Asking for a token changes nothing that matters: repeated on 429, 5xx and broken connections. */
  async #tokenAnswer(path: string, basic: string): Promise<Record<string, unknown>> {
    const body = new URLSearchParams({ grant_type: "client_credentials", scope: "urn:mas:admin" }).toString();
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.#once("POST", path, { authorization: `Basic ${basic}` }, body)).json as Record<
          string,
          unknown
        >;
      } catch (e) {
        const retryable = e instanceof MasError && (e.kind === "network" || e.status === 429 || (e.status ?? 0) >= 500);
        if (!retryable || attempt >= this.#retries) throw e;
        await sleep(Math.min(4000, 250 * 2 ** attempt));
      }
    }
  }

  #once(
    method: Method,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    const form = typeof body === "string";
    return exchange({
      dispatcher: this.#dispatcher,
      method,
      url: this.baseUrl + path,
      headers: {
        ...headers,
        accept: "application/json",
        "user-agent": `synapse-gitops/${VERSION}`,
        ...(body === undefined
          ? {}
          : { "content-type": form ? "application/x-www-form-urlencoded" : "application/json" }),
      },
      ...(body === undefined ? {} : { body: form ? body : JSON.stringify(body) }),
      timeoutMs: this.#timeoutMs,
      maxBodyBytes: MAX_BODY_BYTES,
      error: (kind, detail, status) => new MasError(kind, method, shortPath(path), this.#scrub(detail), status),
      describe,
      late: "no complete answer in time (--timeout)",
      tooLarge: "the answer is too large",
      refused: ({ status, json, text }) =>
        new MasError(
          SynapseError.kindForStatus(status),
          method,
          shortPath(path),
          this.#scrub(errorText(json, text, status)),
          status,
        ),
    });
  }

  /** The secret and the token never reach a message, even when a server or a proxy echoes them. */
  #scrub(text: string): string {
    // Every form they travel in: as they are, percent-encoded (the form body, the Basic credentials'
    // parts), form-encoded, and the Basic credentials' base64 (RFC 6749 2.3.1 and the RFC 7617 raw
    // form). No length floor: a short secret is hidden too. Longest first, so no form is cut by another.
    const id = this.#clientId;
    const secret = this.#clientSecret;
    const b64 = (t: string) => Buffer.from(t).toString("base64");
    const forms = [
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
      b64(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`),
      b64(`${id}:${secret}`),
      this.#token?.value ?? "",
    ];
    let out = text;
    for (const form of [...new Set(forms)].filter(Boolean).sort((a, b) => b.length - a.length)) {
      out = out.split(form).join("<redacted>");
    }
    return out;
  }
}

/** MAS's `{"errors":[{"title"}]}`, or OAuth's `{"error","error_description"}`, as one line. */
function errorText(json: unknown, text: string, status: number): string {
  const body = (typeof json === "object" && json !== null ? json : {}) as {
    errors?: { title?: unknown }[];
    error?: unknown;
    error_description?: unknown;
  };
  if (Array.isArray(body.errors)) {
    const titles = body.errors.map((e) => (typeof e?.title === "string" ? e.title : "")).filter(Boolean);
    if (titles.length) return titles.join(": ").slice(0, 300);
  }
  if (typeof body.error === "string") {
    return typeof body.error_description === "string" ? `${body.error}: ${body.error_description}` : body.error;
  }
  return text.trim().slice(0, 200) || `HTTP ${status}`;
}

function masUser(r: Resource, path: string): MasUser {
  const a = r.attributes ?? {};
  return {
    id: str(r.id, path),
    username: str(a.username, path),
    locked: a.locked_at !== null && a.locked_at !== undefined,
    deactivated: a.deactivated_at !== null && a.deactivated_at !== undefined,
    admin: a.admin === true,
  };
}

function str(v: unknown, path: string): string {
  if (typeof v !== "string")
    throw new MasError("invalid-response", "GET", shortPath(path), "a resource lacks a string field");
  return v;
}

function shortPath(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? path : path.slice(0, q);
}

function describe(cause: unknown): string {
  const code = (cause as { code?: string })?.code;
  if (code === "ECONNREFUSED") return "connection refused (is MAS running at MAS_URL?)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host name could not be resolved";
  const message = cause instanceof Error ? cause.message : String(cause);
  return code ? `${message} (${code})` : message;
}
