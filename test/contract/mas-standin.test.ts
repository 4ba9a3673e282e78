// The stand-in MAS against a real Synapse 1.160 in MAS mode: what Synapse does when MAS drives it
// (create, lock, e-mails, deactivate with and without erasure, reactivate), how Synapse's Admin API
// behaves with MAS on, and the stand-in's own contract (OAuth2, JSON:API, pagination, errors) as
// ../../../shared/docs/mas-facts.md describes the real MAS. Every Synapse-side effect here is real.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { startFaultProxy } from "../support/fault-proxy.js";
import { type Json, MasAdminApi, useMasSynapse } from "../support/mas.js";

const PROVIDER_ID = "01J00000000000000000000PRV";
const pair = useMasSynapse({
  upstreamProviders: [{ id: PROVIDER_ID, issuer: "https://idp.example/", human_name: "IdP" }],
});

const name = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

async function synapse(method: string, path: string, body?: object, token = pair().synapse.token) {
  const res = await fetch(`${pair().synapse.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Json };
}
const synapseUser = async (localpart: string) =>
  (await synapse("GET", `/_synapse/admin/v2/users/@${localpart}:${pair().synapse.serverName}`)).body;

let api: MasAdminApi;
const admin = () => {
  api ??= new MasAdminApi(pair().mas);
  return api;
};
async function createUser(localpart: string, extra: object = {}): Promise<string> {
  const created = await admin().ok("POST", "/users", { username: localpart, ...extra }, 201);
  return created.data.id as string;
}

describe("Synapse 1.160 in MAS mode, with the stand-in MAS", () => {
  it("serves auth_metadata from MAS's discovery document", async () => {
    const res = await fetch(`${pair().synapse.url}/_matrix/client/v1/auth_metadata`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, string>;
    expect(body.issuer).toBe(`${pair().mas.url}/`);
    expect(body.token_endpoint).toBe(`${pair().mas.url}/oauth2/token`);
  });

  it("refuses the user list without guests=false and serves it with", async () => {
    const without = await synapse("GET", "/_synapse/admin/v2/users?limit=5");
    expect(without.status).toBe(400);
    expect(without.body.errcode).toBe("M_INVALID_PARAM");
    expect(without.body.error).toBe("The guests parameter is not supported when delegating to MAS.");
    const withIt = await synapse("GET", "/_synapse/admin/v2/users?limit=100&guests=false");
    expect(withIt.status).toBe(200);
    expect(withIt.body.users.map((u: { name: string }) => u.name)).toContain(pair().synapse.adminUserId);
  });

  it("has no registration tokens (404 M_UNRECOGNIZED)", async () => {
    const res = await synapse("GET", "/_synapse/admin/v1/registration_tokens");
    expect(res.status).toBe(404);
    expect(res.body.errcode).toBe("M_UNRECOGNIZED");
  });

  it("takes the personal session with urn:synapse:admin:* as an admin, and neither the MAS token nor the secret", async () => {
    const me = await synapse("GET", "/_matrix/client/v3/account/whoami");
    expect(me.status).toBe(200);
    expect(me.body.user_id).toBe(pair().synapse.adminUserId);
    // The DB admin column stays false: admin rights come from the token's scope alone.
    expect((await synapseUser("admin")).admin).toBe(false);
    // A client-credentials token (urn:mas:admin only) grants no C-S API access.
    const mat = (await admin().fetchToken()).body.access_token!;
    expect(mat).toMatch(/^mat_/);
    const withMasToken = await synapse("GET", "/_matrix/client/v3/account/whoami", undefined, mat);
    expect(withMasToken.status).toBe(401);
    expect(withMasToken.body.error).toBe("Token doesn't grant access to the Matrix C-S API");
    // The shared secret only opens /_synapse/mas/*.
    const list = "/_synapse/admin/v2/users?limit=1&guests=false";
    expect((await synapse("GET", list)).status).toBe(200);
    const withSecret = await synapse("GET", list, undefined, pair().mas.secret);
    expect(withSecret.status).toBe(401);
    expect(withSecret.body.errcode).toBe("M_UNKNOWN_TOKEN");
  });

  it("drops the admin endpoints MAS replaces (404), keeps v1 deactivate, and keeps /_synapse/mas/* for MAS", async () => {
    const admin = pair().synapse.adminUserId;
    expect((await synapse("GET", "/_synapse/admin/v3/users?limit=1")).status).toBe(400);
    expect((await synapse("GET", "/_synapse/admin/v3/users?limit=1&guests=false")).status).toBe(200);
    for (const [method, path] of [
      ["GET", `/_synapse/admin/v1/users/${admin}/admin`],
      ["POST", `/_synapse/admin/v1/reset_password/${admin}`],
      ["GET", "/_synapse/admin/v1/register"],
      ["POST", `/_synapse/admin/v1/users/${admin}/login`],
    ] as const) {
      const res = await synapse(method, path, method === "POST" ? {} : undefined);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.errcode).toBe("M_UNRECOGNIZED");
    }
    // A Synapse admin token does not open MAS's side door…
    const side = await synapse("GET", "/_synapse/mas/is_localpart_available?localpart=x");
    expect(side.status).toBe(403);
    // …the shared secret does: a GET with the localpart in the query (POST: 405), 400 M_USER_IN_USE if taken.
    const free = await synapse(
      "GET",
      `/_synapse/mas/is_localpart_available?localpart=${name("free")}`,
      undefined,
      pair().mas.secret,
    );
    expect(free.status).toBe(200);
    const taken = await synapse(
      "GET",
      "/_synapse/mas/is_localpart_available?localpart=admin",
      undefined,
      pair().mas.secret,
    );
    expect(taken).toMatchObject({ status: 400, body: { errcode: "M_USER_IN_USE" } });
  });

  it("caches an introspection answer: a token already used keeps working for a while after a lock", async () => {
    const localpart = name("cache");
    const id = await createUser(localpart);
    const pat = await admin().ok(
      "POST",
      "/personal-sessions",
      { actor_user_id: id, human_name: "t", scope: "urn:matrix:client:api:*" },
      201,
    );
    const token = pat.data.attributes.access_token as string;
    expect((await synapse("GET", "/_matrix/client/v3/account/whoami", undefined, token)).status).toBe(200);
    await admin().ok("POST", `/users/${id}/lock`);
    await pair().control.drain();
    // Synapse asks MAS again only after two minutes (synapse/api/auth/mas.py); MAS would say inactive now.
    expect((await synapse("GET", "/_matrix/client/v3/account/whoami", undefined, token)).status).toBe(200);
    await admin().ok("POST", `/users/${id}/unlock`);
    await pair().control.drain();
  });

  it("refuses a password change for an existing user (403) but creates a Synapse-only user through PUT v2", async () => {
    const existing = name("pw");
    await createUser(existing);
    const change = await synapse("PUT", `/_synapse/admin/v2/users/@${existing}:${pair().synapse.serverName}`, {
      password: "a-long-password-1",
    });
    expect(change.status).toBe(403);
    expect(change.body.errcode).toBe("M_FORBIDDEN");
    const ghost = name("ghost");
    const made = await synapse("PUT", `/_synapse/admin/v2/users/@${ghost}:${pair().synapse.serverName}`, {
      password: "a-long-password-1",
    });
    expect(made.status).toBe(201);
    // MAS does not know it, and will not take the name: Synapse reserves it.
    expect((await admin().request("GET", `/users/by-username/${ghost}`)).status).toBe(404);
    const taken = await admin().request("POST", "/users", { username: ghost });
    expect(taken.status).toBe(409);
    expect(taken.body.errors[0].title).toMatch(/reserved by the homeserver/);
    // Unless told to skip the check: then MAS adopts the existing Synapse user.
    const adopted = await admin().request("POST", "/users", { username: ghost, skip_homeserver_check: true });
    expect(adopted.status).toBe(201);
  });

  it("creates through MAS: the user exists in Synapse at once, with the display name", async () => {
    const localpart = name("new");
    const id = await createUser(localpart, { displayname: "New Person" });
    const user = await synapseUser(localpart);
    expect(user.name).toBe(`@${localpart}:${pair().synapse.serverName}`);
    expect(user.displayname).toBe("New Person");
    expect(user.deactivated).toBe(false);
    const got = await admin().ok("GET", `/users/${id}`);
    expect(got.data.attributes).toMatchObject({
      username: localpart,
      locked_at: null,
      deactivated_at: null,
      admin: false,
    });
    const again = await admin().request("POST", "/users", { username: localpart });
    expect(again.status).toBe(409);
  });

  it("pushes a lock to Synapse (locked) and takes it back on unlock; a locked owner's tokens are inactive", async () => {
    const localpart = name("lock");
    const id = await createUser(localpart);
    const locked = await admin().ok("POST", `/users/${id}/lock`);
    expect(locked.data.attributes.locked_at).not.toBeNull();
    await pair().control.drain();
    expect((await synapseUser(localpart)).locked).toBe(true);
    // A token minted for a locked user is refused by Synapse (introspection says inactive).
    const pat = await admin().ok(
      "POST",
      "/personal-sessions",
      { actor_user_id: id, human_name: "t", scope: "urn:matrix:client:api:*" },
      201,
    );
    const whoami = await synapse(
      "GET",
      "/_matrix/client/v3/account/whoami",
      undefined,
      pat.data.attributes.access_token,
    );
    expect(whoami.status).toBe(401);
    await admin().ok("POST", `/users/${id}/unlock`);
    await pair().control.drain();
    expect((await synapseUser(localpart)).locked).toBe(false);
  });

  it("pushes the complete e-mail list to Synapse's threepids on every change", async () => {
    const localpart = name("mail");
    const id = await createUser(localpart);
    const a = await admin().ok("POST", "/user-emails", { user_id: id, email: `${localpart}@a.example` }, 201);
    await admin().ok("POST", "/user-emails", { user_id: id, email: `${localpart}@b.example` }, 201);
    await pair().control.drain();
    const addresses = async () =>
      (await synapseUser(localpart)).threepids.map((t: { address: string }) => t.address).sort();
    expect(await addresses()).toEqual([`${localpart}@a.example`, `${localpart}@b.example`]);
    expect((await admin().request("DELETE", `/user-emails/${a.data.id}`)).status).toBe(204);
    await pair().control.drain();
    expect(await addresses()).toEqual([`${localpart}@b.example`]);
    // An address is unique across MAS.
    const other = await createUser(name("mail2"));
    const dup = await admin().request("POST", "/user-emails", { user_id: other, email: `${localpart}@b.example` });
    expect(dup.status).toBe(409);
    const listed = await admin().ok("GET", `/user-emails?filter[user]=${id}`);
    expect(listed.data.map((e: { attributes: { email: string } }) => e.attributes.email)).toEqual([
      `${localpart}@b.example`,
    ]);
  });

  it("deactivates asynchronously with skip_erase: deactivated in Synapse after the job, not erased", async () => {
    const localpart = name("deact");
    const id = await createUser(localpart, { displayname: "Keep Me" });
    await admin().ok("POST", "/user-emails", { user_id: id, email: `${localpart}@x.example` }, 201);
    await pair().control.drain();
    // Held jobs show the gap between MAS's answer and Synapse's state.
    await pair().control.configure({ jobsPaused: true });
    try {
      const res = await admin().ok("POST", `/users/${id}/deactivate`, { skip_erase: true });
      expect(res.data.attributes.deactivated_at).not.toBeNull();
      expect(res.data.attributes.locked_at).toBeNull();
      expect((await synapseUser(localpart)).deactivated).toBe(false);
      await expect(pair().control.drain()).rejects.toThrow(/409/);
    } finally {
      await pair().control.configure({ jobsPaused: false });
    }
    await pair().control.drain();
    const user = await synapseUser(localpart);
    expect(user).toMatchObject({ deactivated: true, erased: false, displayname: "Keep Me", threepids: [] });
    // The job deleted MAS's e-mails too.
    expect((await admin().ok("GET", `/user-emails?filter[user]=${id}`)).data).toEqual([]);
    // MAS refuses a personal session for a deactivated actor.
    const pat = await admin().request("POST", "/personal-sessions", {
      actor_user_id: id,
      human_name: "t",
      scope: "urn:matrix:client:api:*",
    });
    expect(pat.status).toBe(410);
  });

  it("erases by default (no skip_erase): Synapse shows erased, display name gone", async () => {
    const localpart = name("erase");
    const id = await createUser(localpart, { displayname: "Forget Me" });
    await admin().ok("POST", `/users/${id}/deactivate`);
    await pair().control.drain();
    expect(await synapseUser(localpart)).toMatchObject({ deactivated: true, erased: true, displayname: null });
  });

  it("reactivates: Synapse active again (and un-erased); MAS does not unlock nor restore e-mails", async () => {
    const localpart = name("react");
    const id = await createUser(localpart);
    await admin().ok("POST", "/user-emails", { user_id: id, email: `${localpart}@x.example` }, 201);
    await admin().ok("POST", `/users/${id}/lock`);
    await admin().ok("POST", `/users/${id}/deactivate`);
    await pair().control.drain();
    expect(await synapseUser(localpart)).toMatchObject({ deactivated: true, erased: true });
    const res = await admin().ok("POST", `/users/${id}/reactivate`);
    expect(res.data.attributes.deactivated_at).toBeNull();
    expect(res.data.attributes.locked_at).not.toBeNull();
    // Synchronous: Synapse is active as soon as MAS answers.
    expect(await synapseUser(localpart)).toMatchObject({ deactivated: false, erased: false, threepids: [] });
    expect((await admin().ok("GET", `/user-emails?filter[user]=${id}`)).data).toEqual([]);
  });
});

describe("the stand-in's OAuth2 and admin API contract", () => {
  it("issues mat_ tokens to admin clients only for urn:mas:admin; bad clients get 401 invalid_client", async () => {
    const got = await admin().fetchToken();
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ token_type: "Bearer", expires_in: 300, scope: "urn:mas:admin" });
    const badScope = await admin().fetchToken("urn:synapse:admin:*");
    expect(badScope.status).toBe(400);
    const wrong = new MasAdminApi({ ...pair().mas, clientSecret: "wrong" });
    const refused = await wrong.fetchToken();
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: "invalid_client" });
  });

  it("answers 400 without an Authorization header, 401 for an unknown token, with JSON:API errors", async () => {
    const missing = await fetch(`${pair().mas.url}/api/admin/v1/users`);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ errors: [{ title: expect.any(String) }] });
    const unknown = await admin().request("GET", "/users", undefined, "mat_nonsense");
    expect(unknown.status).toBe(401);
    expect(unknown.body.errors[0].title).toEqual(expect.any(String));
    const notFound = await admin().request("GET", "/users/by-username/nobody-here");
    expect(notFound.status).toBe(404);
    expect(notFound.body.errors[0].title).toBe('User with username "nobody-here" not found');
  });

  it("expires tokens after their TTL (401), and a new one works", async () => {
    await pair().control.configure({ accessTokenTtl: 1 });
    try {
      const got = await admin().fetchToken();
      expect(got.body.expires_in).toBe(1);
      const token = got.body.access_token!;
      expect((await admin().request("GET", "/version", undefined, token)).status).toBe(200);
      await sleep(1100);
      expect((await admin().request("GET", "/version", undefined, token)).status).toBe(401);
      const fresh = (await admin().fetchToken()).body.access_token!;
      expect((await admin().request("GET", "/version", undefined, fresh)).status).toBe(200);
    } finally {
      await pair().control.configure({ accessTokenTtl: 300 });
    }
  });

  it("sets passwords (204) unless password login is off (403), as site-config says", async () => {
    const id = await createUser(name("setpw"));
    expect((await admin().ok("GET", "/site-config")).password_login_enabled).toBe(true);
    expect(
      (await admin().request("POST", `/users/${id}/set-password`, { password: "correct horse battery" })).status,
    ).toBe(204);
    await pair().control.configure({ passwordLoginEnabled: false });
    try {
      expect((await admin().ok("GET", "/site-config")).password_login_enabled).toBe(false);
      expect(
        (await admin().request("POST", `/users/${id}/set-password`, { password: "correct horse battery" })).status,
      ).toBe(403);
    } finally {
      await pair().control.configure({ passwordLoginEnabled: true });
    }
  });

  it("pages users with page[first]/page[after] until links.next is absent, and filters by status", async () => {
    const prefix = name("page");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await createUser(`${prefix}-${i}`));
    await admin().ok("POST", `/users/${ids[1]}/lock`);
    await admin().ok("POST", `/users/${ids[3]}/deactivate`, { skip_erase: true });
    const seen: string[] = [];
    let next: string | undefined = `/users?filter[search]=${prefix}&page[first]=2`;
    let pages = 0;
    while (next) {
      const page = await admin().ok("GET", next);
      expect(page.meta.count).toBe(5);
      seen.push(...page.data.map((u: { id: string; meta: { page: { cursor: string } } }) => u.meta.page.cursor));
      next = page.links.next?.replace("/api/admin/v1", "");
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
    const status = async (s: string) =>
      (await admin().ok("GET", `/users?filter[search]=${prefix}&filter[status]=${s}&page[first]=10`)).data.map(
        (u: { id: string }) => u.id,
      );
    expect(await status("active")).toEqual([ids[0], ids[2], ids[4]]);
    expect(await status("locked")).toEqual([ids[1]]);
    expect(await status("deactivated")).toEqual([ids[3]]);
    expect((await admin().request("GET", "/users?page[first]=1&page[last]=1")).status).toBe(400);
    await pair().control.drain();
  });

  it("links upstream accounts: 201, 409 for a subject linked elsewhere, listed by filter, 204 on delete", async () => {
    const providers = await admin().ok("GET", "/upstream-oauth-providers");
    expect(providers.data.map((p: { id: string }) => p.id)).toContain(PROVIDER_ID);
    const user = await createUser(name("link"));
    const other = await createUser(name("link2"));
    const subject = name("sub");
    const link = await admin().ok(
      "POST",
      "/upstream-oauth-links",
      { user_id: user, provider_id: PROVIDER_ID, subject },
      201,
    );
    const clash = await admin().request("POST", "/upstream-oauth-links", {
      user_id: other,
      provider_id: PROVIDER_ID,
      subject,
    });
    expect(clash.status).toBe(409);
    const listed = await admin().ok("GET", `/upstream-oauth-links?filter[user]=${user}`);
    expect(listed.data.map((l: { attributes: { subject: string } }) => l.attributes.subject)).toEqual([subject]);
    expect((await admin().request("DELETE", `/upstream-oauth-links/${link.data.id}`)).status).toBe(204);
    expect((await admin().ok("GET", `/upstream-oauth-links?filter[user]=${user}`)).data).toEqual([]);
  });

  it("works behind the fault proxy: MAS traffic passes through it, and faults reach the client", async () => {
    const proxy = await startFaultProxy(pair().mas.url);
    try {
      const through = new MasAdminApi({ ...pair().mas, url: proxy.url });
      expect((await through.request("GET", "/version")).body).toEqual({ version: expect.any(String) });
      proxy.setSchedule(7, 1);
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const status = await through.request("GET", "/version").then(
          (r) => r.status,
          () => 0, // a reset or truncated answer
        );
        statuses.push(status);
      }
      expect(proxy.counts.faults).toBe(10);
      expect(statuses.some((s) => s !== 200)).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});
