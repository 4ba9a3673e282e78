// The MAS admin API client (src/synapse/mas.ts) against the stand-in MAS paired with a real Synapse
// in MAS mode: tokens, cursor pagination, the bulk lists, errors and the secret's confinement. The
// 401 path (a token MAS stops accepting before it says it expires) is checked against a tiny server.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MasClient, MasError } from "../../src/synapse/mas.js";
import { MasAdminApi, useMasSynapse } from "../support/mas.js";
import { uniqueLocalpart } from "../support/servers.js";

const pair = useMasSynapse({ upstreamProviders: [{ issuer: "https://sso.example.net/", human_name: "Net SSO" }] });
let client: MasClient;
beforeAll(() => {
  client = new MasClient({
    baseUrl: pair().mas.url,
    clientId: pair().mas.clientId,
    clientSecret: pair().mas.clientSecret,
    pageSize: 2,
  });
});
afterAll(() => client.close());

async function all<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...page);
  return out;
}

describe("MasClient against the stand-in MAS", () => {
  it("creates, finds, and lists users by cursor pages: each once, none missing", async () => {
    const names = Array.from({ length: 5 }, () => uniqueLocalpart("mc"));
    for (const n of names) expect((await client.createUser(n))?.username).toBe(n);
    // Taken: 409, undefined.
    expect(await client.createUser(names[0]!)).toBeUndefined();
    expect(await client.findUserByUsername(uniqueLocalpart("nobody"))).toBeUndefined();
    const listed = (await all(client.listUsers())).map((u) => u.username);
    expect(new Set(listed).size).toBe(listed.length);
    for (const n of names) expect(listed).toContain(n);
    // MAS created them in Synapse at once (synchronous provisioning).
    const res = await fetch(
      `${pair().synapse.url}/_synapse/admin/v2/users/${encodeURIComponent(`@${names[0]}:${pair().synapse.serverName}`)}`,
      { headers: { authorization: `Bearer ${pair().synapse.token}` } },
    );
    expect(res.status).toBe(200);
  });

  it("lock, admin, e-mails and upstream links round-trip; the lists read everyone's at once", async () => {
    const name = uniqueLocalpart("mc-attrs");
    const user = (await client.createUser(name))!;
    await client.setLocked(user.id, true);
    await client.setAdmin(user.id, true);
    let now = (await client.findUserByUsername(name))!;
    expect([now.locked, now.admin, now.deactivated]).toEqual([true, true, false]);
    await client.setLocked(user.id, false);
    now = (await client.findUserByUsername(name))!;
    expect(now.locked).toBe(false);
    await client.addEmail(user.id, `${name}@example.org`);
    await client.addEmail(user.id, `${name}-2@example.org`);
    const mine = await all(client.listEmails(user.id));
    expect(mine.map((e) => e.email).sort()).toEqual([`${name}-2@example.org`, `${name}@example.org`]);
    const everyone = await all(client.listEmails());
    expect(everyone.filter((e) => e.userId === user.id)).toHaveLength(2);
    await client.deleteEmail(mine[0]!.id);
    expect(await all(client.listEmails(user.id))).toHaveLength(1);
    const [provider] = await client.listProviders();
    expect(provider?.humanName).toBe("Net SSO");
    await client.addLink(user.id, provider!.id, `subject-${name}`);
    const links = await all(client.listLinks(user.id));
    expect(links.map((l) => [l.providerId, l.subject])).toEqual([[provider!.id, `subject-${name}`]]);
    await client.deleteLink(links[0]!.id);
    expect(await all(client.listLinks(user.id))).toHaveLength(0);
  });

  it("deactivation is asynchronous: MAS says deactivated at once, Synapse once MAS's job ran", async () => {
    const name = uniqueLocalpart("mc-deact");
    const user = (await client.createUser(name))!;
    await pair().control.configure({ jobDelayMs: 1000 });
    try {
      await client.deactivate(user.id, { erase: true });
      expect((await client.findUserByUsername(name))?.deactivated).toBe(true);
      await pair().control.drain();
      const res = await fetch(
        `${pair().synapse.url}/_synapse/admin/v2/users/${encodeURIComponent(`@${name}:${pair().synapse.serverName}`)}`,
        { headers: { authorization: `Bearer ${pair().synapse.token}` } },
      );
      const body = (await res.json()) as { deactivated: boolean; erased: boolean };
      expect([body.deactivated, body.erased]).toEqual([true, true]);
    } finally {
      await pair().control.configure({ jobDelayMs: 300 });
    }
  });

  it("site-config's password_login_enabled; set-password is 403 when it is off", async () => {
    const user = (await client.createUser(uniqueLocalpart("mc-pw")))!;
    expect(await client.passwordLoginEnabled()).toBe(true);
    await client.setPassword(user.id, "a long enough password");
    await pair().control.configure({ passwordLoginEnabled: false });
    try {
      expect(await client.passwordLoginEnabled()).toBe(false);
      const e = await client.setPassword(user.id, "a long enough password").catch((x) => x);
      expect(e).toBeInstanceOf(MasError);
      expect(e.status).toBe(403);
    } finally {
      await pair().control.configure({ passwordLoginEnabled: true });
    }
  });

  it("asks for a token once, and again when it runs out", async () => {
    await pair().control.configure({ accessTokenTtl: 1 });
    const fresh = new MasClient({
      baseUrl: pair().mas.url,
      clientId: pair().mas.clientId,
      clientSecret: pair().mas.clientSecret,
    });
    try {
      await pair().control.resetRequests();
      await fresh.passwordLoginEnabled();
      await fresh.passwordLoginEnabled();
      expect((await pair().control.requests())["POST /oauth2/token"]).toBe(1);
      await new Promise((r) => setTimeout(r, 1200));
      await fresh.passwordLoginEnabled();
      expect((await pair().control.requests())["POST /oauth2/token"]).toBe(2);
    } finally {
      await pair().control.configure({ accessTokenTtl: 300 });
      await fresh.close();
    }
  });

  it("a wrong secret is one MasError naming what to configure in MAS, without the secret", async () => {
    const secret = "definitely-wrong-secret-42";
    const wrong = new MasClient({ baseUrl: pair().mas.url, clientId: pair().mas.clientId, clientSecret: secret });
    try {
      const e = await wrong.passwordLoginEnabled().catch((x) => x);
      expect(e).toBeInstanceOf(MasError);
      expect(e.kind).toBe("unauthorized");
      expect(e.hint).toContain("policy.data.admin_clients");
      expect(`${e.message} ${e.hint}`).not.toContain(secret);
    } finally {
      await wrong.close();
    }
  });

  it("the stand-in's scope check: a token without urn:mas:admin is refused (401)", async () => {
    const api = new MasAdminApi(pair().mas);
    const got = await api.fetchToken("urn:mas:graphql:*");
    if (got.status === 200 && got.body.access_token) {
      expect((await api.request("GET", "/site-config", undefined, got.body.access_token)).status).toBe(401);
    } else expect(got.status).toBeGreaterThanOrEqual(400);
  });
});

describe("MasClient on a 401 before the token's time is up", () => {
  it("drops the token, asks for a new one and repeats the call once", async () => {
    let tokens = 0;
    const server = createServer((req, res) => {
      if (req.url === "/oauth2/token") {
        tokens++;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ access_token: `tok-${tokens}-abcdefgh`, expires_in: 300, token_type: "Bearer" }));
        return;
      }
      const ok = req.headers.authorization === "Bearer tok-2-abcdefgh";
      res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
      res.end(JSON.stringify(ok ? { password_login_enabled: true } : { errors: [{ title: "Invalid access token" }] }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const c = new MasClient({ baseUrl: url, clientId: "01J0000000000000000000000", clientSecret: "s3cret-s3cret" });
    try {
      expect(await c.passwordLoginEnabled()).toBe(true);
      expect(tokens).toBe(2);
    } finally {
      await c.close();
      await new Promise((r) => server.close(r));
    }
  });
});
