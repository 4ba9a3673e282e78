// A real Synapse in MAS mode, paired with the stand-in MAS (test/mas-standin/), for integration tests.
//
//   const pair = useMasSynapse();            // in a describe or at the top of a test file
//   it("…", async () => { pair().synapse.url; pair().mas.url; … });
//
// Each test file that calls it gets a pair of its own (started in beforeAll on the project's database,
// stopped in afterAll), so the existing suites pay nothing. If SYNAPSE_MAS_TEST_URL and the MAS_TEST_*
// variables are set (`node scripts/dev-synapse.mjs run --mas -- npx vitest …` sets them), that pair is
// used instead and nothing is started. To test through faults, put test/support/fault-proxy.ts in front
// of `mas.url` (and/or `synapse.url`) and give the tool the proxy's URL.
import { afterAll, beforeAll, inject } from "vitest";
// @ts-expect-error: a plain ESM script without type declarations, shared with the demo and CI.
import { startSynapse } from "../../scripts/dev-synapse.mjs";
import type { SeedUser } from "../mas-standin/server.js";

export interface MasStandinSettings {
  /** Lifetime of client-credentials access tokens, in seconds (MAS's default: 300). */
  accessTokenTtl?: number;
  /** MAS's password login; when off, set-password answers 403. Default on. */
  passwordLoginEnabled?: boolean;
  /** How long a queued MAS job (deactivation, lock, e-mail provisioning) waits before it runs. */
  jobDelayMs?: number;
  /** Holds queued jobs until set false again: MAS has answered, Synapse does not show it yet. */
  jobsPaused?: boolean;
  upstreamProviders?: { id?: string; issuer: string; human_name?: string; brand_name?: string; disabled?: boolean }[];
}

export interface MasPair {
  synapse: {
    url: string;
    /** A MAS personal session of @admin with `urn:matrix:client:api:* urn:synapse:admin:*`. */
    token: string;
    serverName: string;
    adminUserId: string;
  };
  mas: {
    url: string;
    /** An OAuth2 client (a ULID) in MAS's admin_clients; authenticates with client_secret_basic. */
    clientId: string;
    clientSecret: string;
    /** The secret MAS and Synapse share; also guards the stand-in's /_standin/* controls. */
    secret: string;
  };
  /** The stand-in's controls (no real MAS has them). */
  control: MasStandinControl;
}

export interface MasStandinControl {
  configure(settings: Omit<MasStandinSettings, "upstreamProviders">): Promise<void>;
  /** Waits until the stand-in has run every queued job (deactivations, provisioning); 409 if paused. */
  drain(): Promise<void>;
  addUpstreamProvider(provider: { issuer: string; human_name?: string; brand_name?: string }): Promise<string>;
  /**
   * Puts users straight into MAS's state (no call to Synapse: seed Synapse yourself, e.g. PUT v2 for
   * the same localparts). Returns their MAS IDs.
   */
  seed(users: SeedUser[]): Promise<string[]>;
  /** Requests the stand-in served since the last reset, by "METHOD /path" with IDs as {id}. */
  requests(): Promise<Record<string, number>>;
  resetRequests(): Promise<void>;
}

export function masControl(masUrl: string, secret: string): MasStandinControl {
  const call = async (method: string, path: string, body?: object) => {
    const res = await fetch(`${masUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${secret}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`stand-in MAS ${method} ${path} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };
  return {
    configure: async (s) => {
      await call("POST", "/_standin/config", {
        access_token_ttl: s.accessTokenTtl,
        password_login_enabled: s.passwordLoginEnabled,
        job_delay_ms: s.jobDelayMs,
        jobs_paused: s.jobsPaused,
      });
    },
    drain: async () => {
      await call("POST", "/_standin/drain");
    },
    addUpstreamProvider: async (p) => (await call("POST", "/_standin/upstream-oauth-providers", p)).id as string,
    seed: async (users) => (await call("POST", "/_standin/seed", { users })).ids as string[],
    requests: async () => (await call("GET", "/_standin/requests")) as Record<string, number>,
    resetRequests: async () => {
      await call("DELETE", "/_standin/requests");
    },
  };
}

/** Starts a MAS-mode Synapse and its stand-in MAS for this test file (see the top of this file). */
export function useMasSynapse(settings: MasStandinSettings = {}): () => MasPair {
  let server:
    | {
        url: string;
        token: string;
        serverName: string;
        adminUserId: string;
        stop: () => Promise<void>;
        external: boolean;
        mas: MasPair["mas"];
      }
    | undefined;
  let pair: MasPair | undefined;
  beforeAll(async () => {
    server = await startSynapse({ database: inject("database"), mas: settings });
    const s = server!;
    const control = masControl(s.mas.url, s.mas.secret);
    // A shared pair started elsewhere gets the settings it can take at run time.
    if (s.external) {
      const { upstreamProviders, ...rest } = settings;
      await control.configure(rest);
      for (const p of upstreamProviders ?? []) await control.addUpstreamProvider(p);
    }
    pair = {
      synapse: { url: s.url, token: s.token, serverName: s.serverName, adminUserId: s.adminUserId },
      mas: { url: s.mas.url, clientId: s.mas.clientId, clientSecret: s.mas.clientSecret, secret: s.mas.secret },
      control,
    };
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!pair) throw new Error("the MAS-mode Synapse is not started yet (call the getter inside a test)");
    return pair;
  };
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of many shapes, which the tests check field by field
export type Json = any;

/** A minimal MAS admin API caller for tests: client-credentials token, then JSON requests. */
export class MasAdminApi {
  private token: string | undefined;
  constructor(private readonly mas: MasPair["mas"]) {}

  async fetchToken(
    scope = "urn:mas:admin",
  ): Promise<{ status: number; body: { access_token?: string; expires_in?: number } }> {
    const basic = Buffer.from(
      `${encodeURIComponent(this.mas.clientId)}:${encodeURIComponent(this.mas.clientSecret)}`,
    ).toString("base64");
    const res = await fetch(`${this.mas.url}/oauth2/token`, {
      method: "POST",
      headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", scope }).toString(),
    });
    return { status: res.status, body: (await res.json()) as { access_token?: string; expires_in?: number } };
  }

  /** One request; `body` is parsed JSON, or undefined for an empty answer (204). */
  async request(method: string, path: string, body?: object, token?: string): Promise<{ status: number; body: Json }> {
    if (token === undefined && this.token === undefined) {
      const got = await this.fetchToken();
      if (got.status !== 200 || !got.body.access_token) throw new Error(`token request failed: ${got.status}`);
      this.token = got.body.access_token;
    }
    const res = await fetch(`${this.mas.url}/api/admin/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token ?? this.token}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
  }

  /** A request that must succeed with `expected`; returns the body. */
  async ok(method: string, path: string, body?: object, expected = 200): Promise<Json> {
    const res = await this.request(method, path, body);
    if (res.status !== expected)
      throw new Error(`${method} ${path} answered ${res.status}, not ${expected}: ${JSON.stringify(res.body)}`);
    return res.body;
  }
}
