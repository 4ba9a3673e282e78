// A stand-in for the Matrix Authentication Service (MAS), for tests against a real Synapse in MAS mode.
// No MAS binary can be installed here (see ../../../shared/docs/mas-facts.md §3), so this serves, from
// that facts file, what Synapse and synapse-gitops ask of MAS: OpenID discovery, the OAuth2 token
// endpoint (client credentials), token introspection for Synapse, and the admin API under
// /api/admin/v1 (JSON:API bodies, cursor pagination, `{"errors":[{"title"}]}`). Like MAS, it drives
// Synapse through `/_synapse/mas/*` with the shared secret: create and reactivate synchronously;
// deactivation, lock/unlock and e-mail changes through queued jobs a moment later. State is in memory.
// What it does not imitate is listed in README.md next to this file.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type PageRequest, pageLinks, paginate, parsePageRequest } from "./pagination.js";
import { isUlid, ulidGenerator } from "./ulid.js";

export const ADMIN_SCOPE = "urn:mas:admin";
/** The scope of a Synapse admin token minted as a personal session. */
export const SYNAPSE_ADMIN_SCOPE = "urn:matrix:client:api:* urn:synapse:admin:*";
const API = "/api/admin/v1";
const USERNAME = /^[a-z0-9=_\-./+]{1,255}$/;

export interface MasClientConfig {
  /** A ULID, as MAS requires. */
  id: string;
  secret: string;
  authMethod?: "client_secret_basic" | "client_secret_post";
}

export interface UpstreamProviderConfig {
  id?: string;
  issuer: string;
  human_name?: string | null;
  brand_name?: string | null;
  disabled?: boolean;
}

export interface MasStandinOptions {
  /** The Synapse this MAS drives through /_synapse/mas/* (may be set later with setSynapseUrl). */
  synapseUrl?: string;
  /** The secret shared with Synapse (`matrix_authentication_service.secret`). */
  secret: string;
  serverName: string;
  host?: string;
  port?: number;
  /** Static OAuth2 clients (`clients:` in MAS's config). */
  clients?: MasClientConfig[];
  /** Client IDs granted `urn:mas:admin` (`policy.data.admin_clients`). */
  adminClients?: string[];
  /** Lifetime of access tokens from the token endpoint, in seconds (MAS: 300). */
  accessTokenTtl?: number;
  /** MAS's `passwords.enabled`; when false, set-password answers 403. Default true. */
  passwordLoginEnabled?: boolean;
  /** How long a queued job (deactivation, provisioning) waits before it runs, in ms. Default 300. */
  jobDelayMs?: number;
  /**
   * Holds queued jobs (they run once this is false again): the window between MAS's answer and
   * Synapse's state, as long as a test needs it — for example to interrupt a run half-way.
   */
  jobsPaused?: boolean;
  upstreamProviders?: UpstreamProviderConfig[];
  /** Where the stand-in writes what goes wrong in its jobs (default: standard error). */
  log?: (line: string) => void;
}

interface User {
  id: string;
  username: string;
  created_at: string;
  locked_at: string | null;
  deactivated_at: string | null;
  admin: boolean;
  legacy_guest: boolean;
  hasPassword: boolean;
}
interface Email {
  id: string;
  created_at: string;
  user_id: string;
  email: string;
}
interface Provider {
  id: string;
  created_at: string;
  issuer: string;
  human_name: string | null;
  brand_name: string | null;
  disabled_at: string | null;
}
interface Link {
  id: string;
  created_at: string;
  provider_id: string;
  subject: string;
  user_id: string | null;
  human_account_name: string | null;
}
interface PersonalSession {
  id: string;
  created_at: string;
  revoked_at: string | null;
  owner_client_id: string | null;
  owner_user_id: string | null;
  actor_user_id: string;
  human_name: string;
  scope: string;
  expires_at: string | null;
}
interface Token {
  kind: "client" | "personal";
  clientId: string | null;
  /** The personal session a PAT belongs to. */
  sessionId: string | null;
  scope: string;
  expiresAtMs: number | null;
  revoked: boolean;
}

/** A user put straight into the stand-in's state (see MasStandin.seed). */
export interface SeedUser {
  username: string;
  admin?: boolean;
  locked?: boolean;
  deactivated?: boolean;
  emails?: string[];
  links?: { provider_id: string; subject: string; human_account_name?: string }[];
}

export type Settings = Required<
  Pick<MasStandinOptions, "accessTokenTtl" | "passwordLoginEnabled" | "jobDelayMs" | "jobsPaused">
>;

export interface MasStandin {
  url: string;
  /** Changes the settings a test may change while the stand-in runs. */
  configure(settings: Partial<Settings>): void;
  setSynapseUrl(url: string): void;
  /** Resolves once no job is queued or running (rejects at once if jobs are paused and some wait). */
  drain(): Promise<void>;
  /** Adds an upstream OAuth provider (MAS reads them from its config). */
  addUpstreamProvider(config: UpstreamProviderConfig): { id: string };
  /**
   * Puts users (with e-mails and upstream links) straight into MAS's state, as if made long ago and
   * already in step with Synapse: nothing is sent to Synapse (for benchmarks and fixtures). Returns
   * their IDs. Also `POST /_standin/seed {"users": [...]}`.
   */
  seed(users: SeedUser[]): string[];
  /** Requests served, by "METHOD /path" with IDs replaced by {id}. */
  requests: Map<string, number>;
  close(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly titles: string[],
  ) {
    super(titles[0]);
  }
}
const fail = (status: number, ...titles: string[]): never => {
  throw new ApiError(status, titles);
};

class JobsPausedError extends Error {
  constructor() {
    super("Jobs are paused: unpause them (jobs_paused: false) before draining");
  }
}

/** An OAuth2 endpoint error (RFC 6749 §5.2), not the admin API's shape. */
class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

const equal = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export async function startMasStandin(options: MasStandinOptions): Promise<MasStandin> {
  const ulid = ulidGenerator();
  const now = () => new Date().toISOString();
  const log = options.log ?? ((line: string) => process.stderr.write(`[mas-standin] ${line}\n`));
  let synapseUrl = options.synapseUrl?.replace(/\/+$/, "");
  const settings: Settings = {
    accessTokenTtl: options.accessTokenTtl ?? 300,
    passwordLoginEnabled: options.passwordLoginEnabled ?? true,
    jobDelayMs: options.jobDelayMs ?? 300,
    jobsPaused: options.jobsPaused ?? false,
  };
  const resumers: (() => void)[] = []; // jobs held while settings.jobsPaused
  const configure = (next: Partial<Settings>) => {
    for (const [k, v] of Object.entries(next)) if (v !== undefined) Object.assign(settings, { [k]: v });
    if (!settings.jobsPaused) for (const resume of resumers.splice(0)) resume();
  };
  const clients = new Map((options.clients ?? []).map((c) => [c.id, c]));
  const adminClients = new Set(options.adminClients ?? []);
  for (const c of clients.keys()) if (!isUlid(c)) throw new Error(`MAS client IDs must be ULIDs: ${JSON.stringify(c)}`);

  const users = new Map<string, User>();
  const usernames = new Map<string, string>(); // username → ID
  const emails = new Map<string, Email>();
  const providers = new Map<string, Provider>();
  const links = new Map<string, Link>();
  const sessions = new Map<string, PersonalSession>();
  const tokens = new Map<string, Token>();
  const requests = new Map<string, number>();

  const addUpstreamProvider = (config: UpstreamProviderConfig) => {
    const id = config.id ?? ulid();
    if (!isUlid(id)) throw new Error(`upstream provider IDs must be ULIDs: ${JSON.stringify(id)}`);
    providers.set(id, {
      id,
      created_at: now(),
      issuer: config.issuer,
      human_name: config.human_name ?? null,
      brand_name: config.brand_name ?? null,
      disabled_at: config.disabled ? now() : null,
    });
    return { id };
  };
  for (const p of options.upstreamProviders ?? []) addUpstreamProvider(p);

  // ---- Synapse, as MAS's `matrix.kind: synapse` (modern) drives it ----
  const synapse = async (method: "GET" | "POST", path: string, body?: object): Promise<Response> => {
    if (!synapseUrl) throw new Error("the stand-in MAS does not know its Synapse yet");
    return fetch(`${synapseUrl}/_synapse/mas/${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.secret}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  };
  const synapseOk = async (method: "GET" | "POST", path: string, body?: object): Promise<void> => {
    const res = await synapse(method, path, body);
    if (!res.ok) throw new Error(`Synapse answered ${res.status} to ${path}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  /** ProvisionUserJob: the complete e-mail list and the lock state. */
  const provisionPayload = (user: User) => {
    const list = [...emails.values()].filter((e) => e.user_id === user.id).map((e) => e.email);
    return {
      localpart: user.username,
      ...(list.length > 0 ? { set_emails: list } : { unset_emails: true }),
      locked: user.locked_at !== null,
    };
  };

  // ---- the job queue, as MAS's worker runs it: each job a moment after it was queued, a few at a
  // time, retried on failure. A provisioning job reads the user's state when it runs, so a second one
  // queued for a user whose first has not started yet adds nothing and is dropped.
  const JOB_CONCURRENCY = 4;
  let running = 0;
  const waiting: (() => void)[] = [];
  const idle = new Set<() => void>();
  let pending = 0;
  const queuedProvisions = new Set<string>(); // user IDs with a provisioning job not yet started
  const chains = new Map<string, Promise<void>>(); // one user's jobs run in the order they were queued
  const enqueue = (name: string, userId: string, job: () => Promise<void>, onStart?: () => void) => {
    pending++;
    const delay = settings.jobDelayMs;
    const previous = chains.get(userId) ?? Promise.resolve();
    let run: Promise<void> | undefined;
    run = (async () => {
      await new Promise((r) => setTimeout(r, delay));
      await previous;
      while (settings.jobsPaused) await new Promise<void>((r) => resumers.push(r));
      if (running >= JOB_CONCURRENCY) await new Promise<void>((r) => waiting.push(r));
      running++;
      onStart?.();
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            await job();
            return;
          } catch (e) {
            log(`job ${name} failed (attempt ${attempt}): ${(e as Error).message}`);
            if (attempt >= 5) return;
            await new Promise((r) => setTimeout(r, 200 * attempt));
          }
        }
      } finally {
        running--;
        waiting.shift()?.();
        pending--;
        if (chains.get(userId) === run) chains.delete(userId);
        if (pending === 0) for (const resolve of [...idle]) resolve();
      }
    })();
    chains.set(userId, run);
  };
  const provisionJob = (user: User) => {
    if (queuedProvisions.has(user.id)) return;
    queuedProvisions.add(user.id);
    enqueue(
      `provision ${user.username}`,
      user.id,
      () => synapseOk("POST", "provision_user", provisionPayload(user)),
      () => queuedProvisions.delete(user.id),
    );
  };
  const drain = () =>
    pending === 0
      ? Promise.resolve()
      : settings.jobsPaused
        ? Promise.reject(new JobsPausedError())
        : new Promise<void>((resolve) => {
            const done = () => {
              idle.delete(done);
              resolve();
            };
            idle.add(done);
          });

  // ---- resources ----
  const userResource = (u: User) => ({
    type: "user",
    id: u.id,
    attributes: {
      username: u.username,
      created_at: u.created_at,
      locked_at: u.locked_at,
      deactivated_at: u.deactivated_at,
      admin: u.admin,
      legacy_guest: u.legacy_guest,
    },
    links: { self: `${API}/users/${u.id}` },
  });
  const emailResource = (e: Email) => ({
    type: "user-email",
    id: e.id,
    attributes: { created_at: e.created_at, user_id: e.user_id, email: e.email },
    links: { self: `${API}/user-emails/${e.id}` },
  });
  const providerResource = (p: Provider) => ({
    type: "upstream-oauth-provider",
    id: p.id,
    attributes: {
      issuer: p.issuer,
      human_name: p.human_name,
      brand_name: p.brand_name,
      created_at: p.created_at,
      disabled_at: p.disabled_at,
    },
    links: { self: `${API}/upstream-oauth-providers/${p.id}` },
  });
  const linkResource = (l: Link) => ({
    type: "upstream-oauth-link",
    id: l.id,
    attributes: {
      created_at: l.created_at,
      provider_id: l.provider_id,
      subject: l.subject,
      user_id: l.user_id,
      human_account_name: l.human_account_name,
    },
    links: { self: `${API}/upstream-oauth-links/${l.id}` },
  });
  const sessionResource = (s: PersonalSession, accessToken?: string) => ({
    type: "personal-session",
    id: s.id,
    attributes: {
      created_at: s.created_at,
      revoked_at: s.revoked_at,
      owner_user_id: s.owner_user_id,
      owner_client_id: s.owner_client_id,
      actor_user_id: s.actor_user_id,
      human_name: s.human_name,
      scope: s.scope,
      last_active_at: null,
      last_active_ip: null,
      expires_at: s.expires_at,
      ...(accessToken ? { access_token: accessToken } : {}),
    },
    links: { self: `${API}/personal-sessions/${s.id}` },
  });
  const single = (resource: { links: { self: string } }) => ({ data: resource, links: { self: resource.links.self } });

  const list = <T extends { id: string }>(
    url: URL,
    base: string,
    filtered: T[],
    filters: [string, string][],
    toResource: (x: T) => object,
  ) => {
    const request = parsePageRequest(url.searchParams);
    if (typeof request === "string") return fail(400, request);
    const sorted = [...filtered].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const page = paginate(sorted, request as PageRequest);
    const out: Record<string, unknown> = {};
    if (request.count !== "false") out.meta = { count: page.total };
    if (request.count !== "only")
      out.data = page.items.map((x) => ({ ...toResource(x), meta: { page: { cursor: x.id } } }));
    out.links = pageLinks(base, filters, request, page);
    return out;
  };
  /** Reads the filter[...] parameters named, rejecting unknown ones, as MAS's extractor does. */
  const filtersOf = (url: URL, known: string[]): [string, string][] => {
    const out: [string, string][] = [];
    for (const [key, value] of url.searchParams) {
      const m = /^filter\[(.+)\]$/.exec(key);
      if (!m) continue;
      if (!known.includes(m[1]!)) fail(400, `Invalid filter parameter: unknown field \`${m[1]}\``);
      out.push([key, value]);
    }
    return out;
  };
  const boolFilter = (value: string | null, name: string): boolean | undefined => {
    if (value === null) return undefined;
    if (value === "true") return true;
    if (value === "false") return false;
    return fail(400, `Invalid filter parameter: ${name} must be true or false`);
  };

  const pathId = (raw: string | undefined): string => {
    if (!raw || !isUlid(raw)) return fail(400, `Invalid ID: ${JSON.stringify(raw ?? "")}`);
    return raw;
  };
  const userById = (id: string): User => users.get(id) ?? fail(404, `User ID ${id} not found`);

  // ---- authentication ----
  const bearer = (req: IncomingMessage): string => {
    const header = req.headers.authorization;
    if (header === undefined) return fail(400, "Missing Authorization header");
    const m = /^Bearer ([^\s]+)$/.exec(header);
    if (!m) return fail(400, "Invalid Authorization header");
    return m[1]!;
  };
  /** Is a token usable now: known, not revoked, not expired, its owner neither locked nor deactivated. */
  const activeToken = (value: string): Token | undefined => {
    const token = tokens.get(value);
    if (!token || token.revoked) return undefined;
    if (token.expiresAtMs !== null && Date.now() >= token.expiresAtMs) return undefined;
    if (token.sessionId !== null) {
      const session = sessions.get(token.sessionId);
      if (!session || session.revoked_at !== null) return undefined;
      const actor = users.get(session.actor_user_id);
      if (!actor || actor.locked_at !== null || actor.deactivated_at !== null) return undefined;
    }
    return token;
  };
  const authenticateAdmin = (req: IncomingMessage): Token => {
    const token = activeToken(bearer(req));
    if (!token) return fail(401, "Invalid access token");
    if (!token.scope.split(" ").includes(ADMIN_SCOPE)) return fail(401, "Missing urn:mas:admin scope");
    return token;
  };

  const mintToken = (token: Token, prefix: "mat_" | "mpt_"): string => {
    const value = `${prefix}${randomBytes(24).toString("base64url")}`;
    tokens.set(value, token);
    return value;
  };

  // ---- OAuth2 and discovery ----
  const oauthToken = (req: IncomingMessage, form: URLSearchParams): object => {
    let clientId: string | undefined;
    let clientSecret: string | undefined;
    let method: "client_secret_basic" | "client_secret_post" | undefined;
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
      if (!m) throw new OAuthError(401, "invalid_client", "Invalid Authorization header");
      const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) throw new OAuthError(401, "invalid_client", "Invalid Authorization header");
      // RFC 6749 §2.3.1: both parts are form-encoded before they are joined.
      const unform = (s: string) => decodeURIComponent(s.replaceAll("+", " "));
      clientId = unform(decoded.slice(0, colon));
      clientSecret = unform(decoded.slice(colon + 1));
      method = "client_secret_basic";
    } else if (form.has("client_id")) {
      clientId = form.get("client_id") ?? undefined;
      clientSecret = form.get("client_secret") ?? undefined;
      method = "client_secret_post";
    }
    if (clientId === undefined) throw new OAuthError(401, "invalid_client", "Missing client authentication");
    const client = clients.get(clientId);
    if (!client || clientSecret === undefined || !equal(client.secret, clientSecret))
      throw new OAuthError(401, "invalid_client", "Client authentication failed");
    if ((client.authMethod ?? "client_secret_basic") !== method)
      throw new OAuthError(401, "invalid_client", `Client must authenticate with ${client.authMethod}`);
    const grant = form.get("grant_type");
    if (grant !== "client_credentials")
      throw new OAuthError(400, "unsupported_grant_type", `Unsupported grant type: ${grant ?? "(none)"}`);
    const scope = (form.get("scope") ?? "").split(" ").filter(Boolean);
    for (const s of scope) {
      if (s !== ADMIN_SCOPE) throw new OAuthError(400, "invalid_scope", `Scope ${s} is not allowed`);
      if (!adminClients.has(clientId))
        throw new OAuthError(400, "invalid_scope", "Client is not allowed to request the urn:mas:admin scope");
    }
    const ttl = settings.accessTokenTtl;
    const accessToken = mintToken(
      {
        kind: "client",
        clientId,
        sessionId: null,
        scope: scope.join(" "),
        expiresAtMs: Date.now() + ttl * 1000,
        revoked: false,
      },
      "mat_",
    );
    return { access_token: accessToken, token_type: "Bearer", expires_in: ttl, scope: scope.join(" ") };
  };

  const introspect = (req: IncomingMessage, form: URLSearchParams): [number, object] => {
    // Synapse authenticates with the shared secret as a bearer token.
    const header = req.headers.authorization ?? "";
    if (!header.startsWith("Bearer ") || !equal(header.slice(7), options.secret))
      return [401, { error: "invalid_client", error_description: "Client authentication failed" }];
    const value = form.get("token") ?? "";
    const token = activeToken(value);
    if (!token) return [200, { active: false }];
    const expires_in = token.expiresAtMs === null ? undefined : Math.floor((token.expiresAtMs - Date.now()) / 1000);
    const answer: Record<string, unknown> = {
      active: true,
      scope: token.scope,
      token_type: "access_token",
      ...(expires_in === undefined ? {} : { expires_in }),
    };
    if (token.clientId) answer.client_id = token.clientId;
    if (token.sessionId) {
      const actor = users.get(sessions.get(token.sessionId)!.actor_user_id)!;
      answer.sub = actor.id;
      answer.username = actor.username;
    }
    return [200, answer];
  };

  // ---- the admin API ----
  async function admin(req: IncomingMessage, url: URL, body: Record<string, unknown>): Promise<[number, unknown]> {
    const caller = authenticateAdmin(req);
    const m = req.method ?? "GET";
    const parts = url.pathname.slice(API.length).split("/").filter(Boolean);
    const [collection, a, b] = parts;
    const str = (name: string, required = true): string | undefined => {
      const v = body[name];
      if (v === undefined || v === null) return required ? fail(400, `Missing field \`${name}\``) : undefined;
      if (typeof v !== "string") return fail(400, `Invalid field \`${name}\`: expected a string`);
      return v;
    };

    if (collection === "version" && m === "GET" && parts.length === 1) return [200, { version: "1.22.0-standin" }];
    if (collection === "site-config" && m === "GET" && parts.length === 1)
      return [
        200,
        {
          server_name: options.serverName,
          password_login_enabled: settings.passwordLoginEnabled,
          password_registration_enabled: false,
          registration_token_required: false,
          email_change_allowed: true,
          displayname_change_allowed: true,
          password_change_allowed: settings.passwordLoginEnabled,
          account_recovery_allowed: false,
          account_deactivation_allowed: true,
          captcha_enabled: false,
          minimum_password_complexity: 3,
        },
      ];

    if (collection === "users") {
      if (m === "GET" && parts.length === 1) {
        const filters = filtersOf(url, ["admin", "status", "search", "legacy-guest"]);
        const q = url.searchParams;
        const wantAdmin = boolFilter(q.get("filter[admin]"), "admin");
        const wantGuest = boolFilter(q.get("filter[legacy-guest]"), "legacy-guest");
        const status = q.get("filter[status]");
        if (status !== null && !["active", "locked", "deactivated"].includes(status))
          fail(400, `Invalid filter parameter: unknown status ${JSON.stringify(status)}`);
        const search = q.get("filter[search]");
        const matching = [...users.values()].filter(
          (u) =>
            (wantAdmin === undefined || u.admin === wantAdmin) &&
            (wantGuest === undefined || u.legacy_guest === wantGuest) &&
            (search === null || u.username.includes(search)) &&
            (status === null ||
              (status === "active" && u.locked_at === null && u.deactivated_at === null) ||
              (status === "locked" && u.locked_at !== null) ||
              (status === "deactivated" && u.deactivated_at !== null)),
        );
        return [200, list(url, `${API}/users`, matching, filters, userResource)];
      }
      if (m === "POST" && parts.length === 1) {
        const username = str("username")!;
        if (!USERNAME.test(username) || username.startsWith("_"))
          fail(400, `Username ${JSON.stringify(username)} is not valid`);
        if (usernames.has(username)) fail(409, `User with username ${JSON.stringify(username)} already exists`);
        const displayname = str("displayname", false);
        const avatarUrl = str("avatar_url", false);
        if (body.skip_homeserver_check !== true) {
          const res = await synapse("GET", `is_localpart_available?localpart=${encodeURIComponent(username)}`);
          await res.arrayBuffer();
          if (res.status >= 500) fail(500, "Failed to check the username with the homeserver");
          if (!res.ok) fail(409, `Username ${JSON.stringify(username)} is reserved by the homeserver`);
        }
        const user: User = {
          id: ulid(),
          username,
          created_at: now(),
          locked_at: null,
          deactivated_at: null,
          admin: false,
          legacy_guest: false,
          hasPassword: false,
        };
        // Provisioned synchronously; the user only exists in MAS if Synapse took it.
        try {
          await synapseOk("POST", "provision_user", {
            localpart: username,
            ...(displayname !== undefined ? { set_displayname: displayname } : {}),
            ...(avatarUrl !== undefined ? { set_avatar_url: avatarUrl } : {}),
          });
        } catch (e) {
          fail(500, "Failed to provision the user on the homeserver", (e as Error).message);
        }
        users.set(user.id, user);
        usernames.set(username, user.id);
        return [201, single(userResource(user))];
      }
      if (m === "GET" && a === "by-username" && b !== undefined && parts.length === 3) {
        const id = usernames.get(b) ?? fail(404, `User with username ${JSON.stringify(b)} not found`);
        return [200, single(userResource(users.get(id)!))];
      }
      const user = userById(pathId(a));
      if (m === "GET" && parts.length === 2) return [200, single(userResource(user))];
      if (m === "POST" && parts.length === 3) {
        switch (b) {
          case "set-password": {
            if (!settings.passwordLoginEnabled) fail(403, "Password support is disabled");
            const password = str("password")!;
            if (body.skip_password_check !== true && password.length < 8) fail(400, "Password is too weak");
            user.hasPassword = true;
            return [204, undefined];
          }
          case "set-admin": {
            if (typeof body.admin !== "boolean") fail(400, "Missing or invalid field `admin`");
            user.admin = body.admin as boolean;
            return [200, single(userResource(user))];
          }
          case "lock":
            user.locked_at ??= now();
            provisionJob(user);
            return [200, single(userResource(user))];
          case "unlock":
            user.locked_at = null;
            provisionJob(user);
            return [200, single(userResource(user))];
          case "deactivate": {
            if (body.skip_erase !== undefined && typeof body.skip_erase !== "boolean")
              fail(400, "Invalid field `skip_erase`");
            const erase = body.skip_erase !== true;
            user.deactivated_at ??= now();
            enqueue(`deactivate ${user.username}`, user.id, async () => {
              // DeactivateUserJob: end the sessions, delete the e-mails, then tell Synapse.
              for (const s of sessions.values())
                if (s.actor_user_id === user.id && s.revoked_at === null) s.revoked_at = now();
              for (const e of [...emails.values()]) if (e.user_id === user.id) emails.delete(e.id);
              await synapseOk("POST", "delete_user", { localpart: user.username, erase });
            });
            return [200, single(userResource(user))];
          }
          case "reactivate": {
            try {
              await synapseOk("POST", "reactivate_user", { localpart: user.username });
            } catch (e) {
              fail(500, "Failed to reactivate the user on the homeserver", (e as Error).message);
            }
            user.deactivated_at = null;
            return [200, single(userResource(user))];
          }
        }
      }
    }

    if (collection === "user-emails") {
      if (m === "GET" && parts.length === 1) {
        const filters = filtersOf(url, ["user", "email"]);
        const byUser = url.searchParams.get("filter[user]");
        const byEmail = url.searchParams.get("filter[email]");
        if (byUser !== null && !isUlid(byUser)) fail(400, "Invalid filter parameter: user must be a ULID");
        if (byUser !== null && !users.has(byUser)) fail(404, `User ID ${byUser} not found`);
        const matching = [...emails.values()].filter(
          (e) => (byUser === null || e.user_id === byUser) && (byEmail === null || e.email === byEmail),
        );
        return [200, list(url, `${API}/user-emails`, matching, filters, emailResource)];
      }
      if (m === "POST" && parts.length === 1) {
        const userId = str("user_id")!;
        const email = str("email")!;
        if (!/^[^@\s]+@[^@\s]+$/.test(email)) fail(400, `Email ${JSON.stringify(email)} is invalid`);
        const user = userById(userId);
        if ([...emails.values()].some((e) => e.email === email))
          fail(409, `User email ${JSON.stringify(email)} already in use`);
        const row: Email = { id: ulid(), created_at: now(), user_id: user.id, email };
        emails.set(row.id, row);
        provisionJob(user);
        return [201, single(emailResource(row))];
      }
      const id = pathId(a);
      const row = emails.get(id) ?? fail(404, `User email ID ${id} not found`);
      if (m === "GET" && parts.length === 2) return [200, single(emailResource(row))];
      if (m === "DELETE" && parts.length === 2) {
        emails.delete(id);
        const user = users.get(row.user_id);
        if (user) provisionJob(user);
        return [204, undefined];
      }
    }

    if (collection === "upstream-oauth-links") {
      if (m === "GET" && parts.length === 1) {
        const filters = filtersOf(url, ["user", "provider", "subject", "human-account-name"]);
        const q = url.searchParams;
        const matching = [...links.values()].filter(
          (l) =>
            (q.get("filter[user]") === null || l.user_id === q.get("filter[user]")) &&
            (q.get("filter[provider]") === null || l.provider_id === q.get("filter[provider]")) &&
            (q.get("filter[subject]") === null || l.subject === q.get("filter[subject]")) &&
            (q.get("filter[human-account-name]") === null ||
              l.human_account_name === q.get("filter[human-account-name]")),
        );
        return [200, list(url, `${API}/upstream-oauth-links`, matching, filters, linkResource)];
      }
      if (m === "POST" && parts.length === 1) {
        const user = userById(str("user_id")!);
        const providerId = str("provider_id")!;
        const subject = str("subject")!;
        const humanName = str("human_account_name", false) ?? null;
        if (!providers.has(providerId)) fail(404, `Upstream OAuth 2.0 Provider ID ${providerId} not found`);
        const existing = [...links.values()].find((l) => l.provider_id === providerId && l.subject === subject);
        if (existing) {
          if (existing.user_id !== null)
            fail(409, `Upstream OAuth 2.0 Link for subject ${JSON.stringify(subject)} already exists`);
          existing.user_id = user.id;
          return [200, single(linkResource(existing))];
        }
        const link: Link = {
          id: ulid(),
          created_at: now(),
          provider_id: providerId,
          subject,
          user_id: user.id,
          human_account_name: humanName,
        };
        links.set(link.id, link);
        return [201, single(linkResource(link))];
      }
      const id = pathId(a);
      const link = links.get(id) ?? fail(404, `Upstream OAuth 2.0 Link ID ${id} not found`);
      if (m === "GET" && parts.length === 2) return [200, single(linkResource(link))];
      if (m === "DELETE" && parts.length === 2) {
        links.delete(id);
        return [204, undefined];
      }
    }

    if (collection === "upstream-oauth-providers") {
      if (m === "GET" && parts.length === 1) {
        const filters = filtersOf(url, ["enabled"]);
        const enabled = boolFilter(url.searchParams.get("filter[enabled]"), "enabled");
        const matching = [...providers.values()].filter(
          (p) => enabled === undefined || (p.disabled_at === null) === enabled,
        );
        return [200, list(url, `${API}/upstream-oauth-providers`, matching, filters, providerResource)];
      }
      const id = pathId(a);
      const provider = providers.get(id) ?? fail(404, `Upstream OAuth 2.0 Provider ID ${id} not found`);
      if (m === "GET" && parts.length === 2) return [200, single(providerResource(provider))];
    }

    if (collection === "personal-sessions" && m === "POST" && parts.length === 1) {
      const actor = userById(str("actor_user_id")!);
      const humanName = str("human_name")!;
      const scope = str("scope")!;
      const scopes = scope.split(" ").filter(Boolean);
      if (scopes.length === 0 || scopes.some((s) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) fail(400, "Invalid scope");
      const expiresIn = body.expires_in;
      if (expiresIn !== undefined && expiresIn !== null && (typeof expiresIn !== "number" || expiresIn < 1))
        fail(400, "Invalid field `expires_in`");
      if (actor.deactivated_at !== null) fail(410, `User ID ${actor.id} is deactivated`);
      const session: PersonalSession = {
        id: ulid(),
        created_at: now(),
        revoked_at: null,
        owner_client_id: caller.clientId,
        owner_user_id: null,
        actor_user_id: actor.id,
        human_name: humanName,
        scope: scopes.join(" "),
        expires_at: typeof expiresIn === "number" ? new Date(Date.now() + expiresIn * 1000).toISOString() : null,
      };
      sessions.set(session.id, session);
      const accessToken = mintToken(
        {
          kind: "personal",
          clientId: null,
          sessionId: session.id,
          scope: session.scope,
          expiresAtMs: typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : null,
          revoked: false,
        },
        "mpt_",
      );
      return [201, single(sessionResource(session, accessToken))];
    }

    return fail(404, "Not found");
  }

  /** MAS state only, as if made long ago and already in step with Synapse: nothing is sent to Synapse. */
  const seed = (list: SeedUser[]): string[] =>
    list.map((u) => {
      if (typeof u.username !== "string" || !USERNAME.test(u.username)) fail(400, `Invalid username ${u.username}`);
      if (usernames.has(u.username)) fail(409, `User with username ${JSON.stringify(u.username)} already exists`);
      const at = now();
      const user: User = {
        id: ulid(),
        username: u.username,
        created_at: at,
        locked_at: u.locked ? at : null,
        deactivated_at: u.deactivated ? at : null,
        admin: u.admin === true,
        legacy_guest: false,
        hasPassword: false,
      };
      users.set(user.id, user);
      usernames.set(user.username, user.id);
      for (const email of u.emails ?? []) {
        const row: Email = { id: ulid(), created_at: at, user_id: user.id, email };
        emails.set(row.id, row);
      }
      for (const l of u.links ?? []) {
        if (!providers.has(l.provider_id)) fail(404, `Upstream OAuth 2.0 Provider ID ${l.provider_id} not found`);
        const link: Link = {
          id: ulid(),
          created_at: at,
          provider_id: l.provider_id,
          subject: l.subject,
          user_id: user.id,
          human_account_name: l.human_account_name ?? null,
        };
        links.set(link.id, link);
      }
      return user.id;
    });

  // ---- the stand-in's own controls (no MAS equivalent; authenticated with the shared secret) ----
  async function control(req: IncomingMessage, url: URL, body: Record<string, unknown>): Promise<[number, unknown]> {
    if (!equal(req.headers.authorization ?? "", `Bearer ${options.secret}`)) return fail(401, "Invalid secret");
    const m = req.method ?? "GET";
    const path = url.pathname;
    if (m === "POST" && path === "/_standin/config") {
      const next: Partial<Settings> = {};
      if (body.access_token_ttl !== undefined) next.accessTokenTtl = Number(body.access_token_ttl);
      if (body.password_login_enabled !== undefined) next.passwordLoginEnabled = body.password_login_enabled === true;
      if (body.job_delay_ms !== undefined) next.jobDelayMs = Number(body.job_delay_ms);
      if (body.jobs_paused !== undefined) next.jobsPaused = body.jobs_paused === true;
      configure(next);
      return [200, { ...settings, pending_jobs: pending }];
    }
    if (m === "POST" && path === "/_standin/drain") {
      try {
        await drain();
      } catch (e) {
        if (e instanceof JobsPausedError) fail(409, e.message);
        throw e;
      }
      return [200, {}];
    }
    if (m === "POST" && path === "/_standin/upstream-oauth-providers") {
      const issuer = typeof body.issuer === "string" ? body.issuer : fail(400, "Missing field `issuer`");
      return [201, addUpstreamProvider({ ...(body as Partial<UpstreamProviderConfig>), issuer })];
    }
    if (m === "POST" && path === "/_standin/seed") {
      if (!Array.isArray(body.users)) return fail(400, "Missing field `users`");
      return [201, { ids: seed(body.users as SeedUser[]) }];
    }
    if (m === "GET" && path === "/_standin/requests") return [200, Object.fromEntries(requests)];
    if (m === "DELETE" && path === "/_standin/requests") {
      requests.clear();
      return [200, {}];
    }
    return fail(404, "Not found");
  }

  let base = "";
  const discovery = () => ({
    issuer: `${base}/`,
    authorization_endpoint: `${base}/authorize`,
    token_endpoint: `${base}/oauth2/token`,
    jwks_uri: `${base}/oauth2/keys.json`,
    registration_endpoint: `${base}/oauth2/registration`,
    introspection_endpoint: `${base}/oauth2/introspect`,
    revocation_endpoint: `${base}/oauth2/revoke`,
    userinfo_endpoint: `${base}/oauth2/userinfo`,
    account_management_uri: `${base}/account/`,
    account_management_actions_supported: ["org.matrix.profile", "org.matrix.sessions_list"],
    scopes_supported: ["openid", "email"],
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
    introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
    code_challenge_methods_supported: ["plain", "S256"],
  });

  const key = (method: string, path: string) =>
    `${method} ${path.replace(/[0-9A-HJKMNP-TV-Z]{26}/g, "{id}").replace(/\/by-username\/[^/]+/, "/by-username/{username}")}`;

  const send = (res: ServerResponse, status: number, body: unknown) => {
    if (body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://standin");
      const method = req.method ?? "GET";
      requests.set(key(method, url.pathname), (requests.get(key(method, url.pathname)) ?? 0) + 1);
      const raw = Buffer.concat(chunks).toString("utf8");
      try {
        if (method === "GET" && url.pathname === "/.well-known/openid-configuration")
          return send(res, 200, discovery());
        if (method === "GET" && url.pathname === "/oauth2/keys.json") return send(res, 200, { keys: [] });
        if (method === "POST" && url.pathname === "/oauth2/token")
          return send(res, 200, oauthToken(req, new URLSearchParams(raw)));
        if (method === "POST" && url.pathname === "/oauth2/introspect") {
          const [status, body] = introspect(req, new URLSearchParams(raw));
          return send(res, status, body);
        }
        const isAdmin = url.pathname === API || url.pathname.startsWith(`${API}/`);
        const isControl = url.pathname.startsWith("/_standin/");
        if (!isAdmin && !isControl) return send(res, 404, { errors: [{ title: "Not found" }] });
        let body: Record<string, unknown> = {};
        if (raw.trim() !== "") {
          try {
            const parsed: unknown = JSON.parse(raw);
            if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
              throw new Error("not an object");
            body = parsed as Record<string, unknown>;
          } catch {
            return send(res, 400, { errors: [{ title: "Failed to deserialize the JSON body" }] });
          }
        }
        const [status, answer] = await (isAdmin ? admin(req, url, body) : control(req, url, body));
        return send(res, status, answer);
      } catch (e) {
        if (e instanceof ApiError) return send(res, e.status, { errors: e.titles.map((title) => ({ title })) });
        if (e instanceof OAuthError) return send(res, e.status, { error: e.error, error_description: e.description });
        log(`${method} ${url.pathname}: ${(e as Error).stack}`);
        return send(res, 500, { errors: [{ title: "Internal error" }, { title: (e as Error).message }] });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  base = `http://${options.host ?? "127.0.0.1"}:${port}`;

  return {
    url: base,
    configure,
    setSynapseUrl: (url) => {
      synapseUrl = url.replace(/\/+$/, "");
    },
    drain,
    addUpstreamProvider,
    seed,
    requests,
    close: async () => {
      // Let running jobs finish (held ones are dropped), then stop serving.
      await drain().catch(() => {});
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
