// The apply lock against a real Synapse (one of its own: these tests leave leases behind on purpose,
// create the registration token older versions used as their lock, and must see every registration
// token there is). Its homeserver requires a registration token to register (scripts/dev-synapse.mjs):
// no token, no registration — unless the tool creates one.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
// @ts-expect-error: a plain ESM script without type declarations.
import { startSynapse } from "../../scripts/dev-synapse.mjs";
import {
  acquireApplyLock,
  forceUnlock,
  LEASE_EVENT_TYPE,
  LockLostError,
  lockAlias,
  readLease,
} from "../../src/apply/lock.js";
import { ToolError } from "../../src/errors.js";
import { SynapseClient } from "../../src/synapse/client.js";
import { startFakeSynapse } from "../fake-synapse/server.js";
import { BUILD_DIR, runCli, tempFiles } from "../support/cli.js";
import { clientFor, login, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

let server: ServerUnderTest & { stop: () => Promise<void> };
let client: SynapseClient;
const children: ChildProcess[] = [];
beforeAll(async () => {
  const started = await startSynapse({ database: inject("database") });
  server = { kind: "real", ...started };
  client = clientFor(server);
}, 180_000);
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await client?.close();
  await server?.stop();
});

const id = (localpart: string) => `@${localpart}:${server.serverName}`;
const usersFile = (users: string) => `version: 1\npolicy:\n  unmanaged: ignore\nusers:\n${users}`;
const env = () => ({ SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: server.token });
const LEGACY = "synapse-gitops-apply-lock";

/**
 * A users file of `count` new users. Each has an email, so each is read back (and printed as `ok`)
 * as it is done: a run at --concurrency 1 holds the lock for a while, and says when it has it.
 */
function bigFile(prefix: string, count: number): string {
  const users = Array.from(
    { length: count },
    (_, i) => `  ${prefix}-${String(i).padStart(3, "0")}:\n    emails: [${prefix}-${i}@example.org]\n`,
  );
  return join(tempFiles({ "users.yaml": usersFile(users.join("")) }), "users.yaml");
}

function smallFile(localpart: string): string {
  return join(tempFiles({ "users.yaml": usersFile(`  ${localpart}:\n    displayname: Small\n`) }), "users.yaml");
}

interface Running {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves once the output matches; rejects if the process ends first. */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp): Promise<void>;
  exit: Promise<number | null>;
}

/** The built CLI as a process the test can stop, resume and kill. */
function start(args: string[], environment: Record<string, string> = env()): Running {
  const child = spawn(process.execPath, [join(BUILD_DIR, "cli.js"), ...args], {
    env: { PATH: process.env.PATH ?? "", ...environment },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const out = { stdout: "", stderr: "" };
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (d) => {
    out.stdout += d;
    for (const l of listeners) l();
  });
  child.stderr!.on("data", (d) => {
    out.stderr += d;
    for (const l of listeners) l();
  });
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    child,
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    exit,
    waitFor: (stream, pattern) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(out[stream])) {
            listeners.delete(check);
            resolve();
          }
        };
        listeners.add(check);
        check();
        void exit.then(() => {
          if (listeners.has(check)) {
            listeners.delete(check);
            reject(new Error(`exited before ${stream} matched ${pattern}:\n${out.stdout}\n${out.stderr}`));
          }
        });
      }),
  };
}

/** An apply that holds the lock and is frozen (SIGSTOP) while it does: it can neither renew nor release. */
async function frozenHolder(args: string[] = []): Promise<Running> {
  const holder = start(["apply", bigFile(uniqueLocalpart("held"), 80), "--yes", "--concurrency", "1", ...args]);
  await holder.waitFor("stdout", /^ {2}ok \+ /m);
  holder.child.kill("SIGSTOP");
  const lease = await readLease(client);
  expect(lease?.holder?.pid, "the frozen run holds the lease").toBe(holder.child.pid);
  return holder;
}

async function registrationTokens(): Promise<unknown[]> {
  const res = await fetch(`${server.url}/_synapse/admin/v1/registration_tokens`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { registration_tokens: unknown[] }).registration_tokens;
}

/** Registers through the client-server API with a registration token, as anyone could. */
async function register(token: string): Promise<{ userId?: string; errcode?: string; error?: string }> {
  const username = uniqueLocalpart("intruder");
  const post = async (auth?: object) => {
    const res = await fetch(`${server.url}/_matrix/client/v3/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: "intruder-password-1", ...(auth ? { auth } : {}) }),
    });
    return (await res.json()) as {
      session?: string;
      completed?: string[];
      user_id?: string;
      errcode?: string;
      error?: string;
    };
  };
  const { session } = await post();
  const step = await post({ type: "m.login.registration_token", token, session });
  if (!step.completed?.includes("m.login.registration_token")) return { errcode: step.errcode, error: step.error };
  const done = await post({ type: "m.login.dummy", session });
  return done.user_id ? { userId: done.user_id } : { errcode: done.errcode, error: done.error };
}

async function createLegacyToken(): Promise<void> {
  const res = await fetch(`${server.url}/_synapse/admin/v1/registration_tokens/new`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
    // As older versions made it: uses_allowed 0, which Synapse reads as "unlimited".
    body: JSON.stringify({ token: LEGACY, uses_allowed: 0, expiry_time: Date.now() + 3_600_000 }),
  });
  expect(res.status).toBe(200);
}

describe("the apply lock", () => {
  it("grants nothing: no registration token exists at any moment of an apply, and no one else can use the lease", async () => {
    const holder = start(["apply", bigFile(uniqueLocalpart("reg"), 60), "--yes", "--concurrency", "1"]);
    const seen: unknown[] = [];
    let polls = 0;
    let running = true;
    void holder.exit.then(() => {
      running = false;
    });
    // Every registration token there is, as often as the server answers, for the whole apply.
    const poller = (async () => {
      while (running) {
        seen.push(...(await registrationTokens()));
        polls++;
      }
    })();
    poller.catch(() => {}); // awaited below; a test that fails earlier must not leave it unhandled
    await holder.waitFor("stdout", /^ {2}ok \+ /m);
    holder.child.kill("SIGSTOP");
    try {
      // While the lock is held: no token, and the old lock's token name does not register anyone.
      expect(await registrationTokens()).toEqual([]);
      expect(await register(LEGACY)).toEqual({ errcode: "M_UNAUTHORIZED", error: "Invalid registration token" });
      const lease = await readLease(client);
      expect(lease?.holder?.pid).toBe(holder.child.pid);
      // An ordinary user can neither enter the lease's room nor move or delete its alias.
      const mallory = id(uniqueLocalpart("mallory"));
      await client.createUser(mallory, { password: "mallory-password-1" });
      const as = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
      const token = await login(server, mallory, "mallory-password-1");
      const room = encodeURIComponent(lease!.leaseId);
      const alias = encodeURIComponent(lease!.alias);
      const join = await fetch(`${server.url}/_matrix/client/v3/join/${room}`, {
        method: "POST",
        headers: as(token),
        body: "{}",
      });
      expect(join.status).toBe(403);
      const del = await fetch(`${server.url}/_matrix/client/v3/directory/room/${alias}`, {
        method: "DELETE",
        headers: as(token),
      });
      expect(del.status).toBe(403);
      expect((await readLease(client))?.leaseId).toBe(lease!.leaseId);
    } catch (e) {
      running = false;
      throw e;
    } finally {
      holder.child.kill("SIGCONT");
    }
    expect(await holder.exit, holder.stderr).toBe(0);
    await poller;
    expect(polls).toBeGreaterThan(1);
    expect(seen).toEqual([]);
    expect(await readLease(client)).toBeUndefined(); // released
  });

  it("a second apply waits for the first, naming its lease and holder, then proceeds", async () => {
    // The second run's admin is another admin: it is not in the lease's room, and still reads the lease.
    const admin = id(uniqueLocalpart("second-admin"));
    await client.createUser(admin, { password: "second-admin-password", admin: true });
    const token = await login(server, admin, "second-admin-password");
    const holder = await frozenHolder();
    const lease = await readLease(client);
    const late = uniqueLocalpart("late");
    const second = start(["apply", smallFile(late), "--yes"], { SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: token });
    try {
      await second.waitFor("stderr", /waiting for it to finish/);
      expect(second.stderr).toContain(
        `Another synapse-gitops apply holds this server's apply lock (lease ${lease!.leaseId}: ${server.adminUserId} on host `,
      );
      expect(second.stderr).toContain(`(pid ${holder.child.pid})`);
      expect(await client.findUser(id(late))).toBeUndefined();
    } finally {
      holder.child.kill("SIGCONT");
    }
    expect(await holder.exit, holder.stderr).toBe(0);
    expect(await second.exit, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^Apply: 1 done, 0 failed, 0 stale\.$/m);
    expect((await client.getUser(id(late))).state).toBe("active");
  });

  it("after kill -9 of the holder, the next apply waits about one ttl, takes the lock over and succeeds", async () => {
    const file = bigFile(uniqueLocalpart("killed"), 60);
    const holder = start(["apply", file, "--yes", "--concurrency", "1", "--lock-ttl", "2"]);
    await holder.waitFor("stdout", /^ {2}ok \+ /m);
    holder.child.kill("SIGKILL");
    await holder.exit;
    const dead = await readLease(client);
    expect(dead?.holder?.pid).toBe(holder.child.pid);
    expect(dead?.ttlMs).toBe(2000);
    // The default wait is well above a lease's ttl; --lock-timeout 60 is still thirty ttls.
    const next = await runCli(["apply", file, "--yes", "--lock-timeout", "60"], env());
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain(`holds this server's apply lock (lease ${dead!.leaseId}`);
    expect(next.stderr).toMatch(
      new RegExp(
        `warning: the apply lock's lease ${escapeRegExp(dead!.leaseId)} .* was not renewed for \\d+ s: its apply is gone; taking the lock over`,
      ),
    );
    expect(next.stdout).toMatch(/^Apply: \d+ done, 0 failed, 0 stale\.$/m);
    expect((await runCli(["plan", file, "--detailed-exitcode"], env())).code).toBe(0);
    expect(await readLease(client)).toBeUndefined();
  });

  it("the registration token an older version left as its lock is deleted on the first run, which says so", async () => {
    await createLegacyToken();
    // While it exists, anyone can register: the hole this closes.
    expect((await register(LEGACY)).userId).toMatch(/^@intruder-/);
    const first = await runCli(["apply", smallFile(uniqueLocalpart("legacy")), "--yes"], env());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(
      `warning: deleted the registration token "${LEGACY}", left by an older synapse-gitops that used it as its apply lock: while it existed, anyone could register an account on this server with it; 1 registration has used it`,
    );
    expect(await registrationTokens()).toEqual([]);
    expect(await register(LEGACY)).toEqual({ errcode: "M_UNAUTHORIZED", error: "Invalid registration token" });
    const second = await runCli(["apply", smallFile(uniqueLocalpart("legacy")), "--yes"], env());
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toContain("registration token");
  });

  it("force-unlock shows the lease, refuses a wrong ID or a missing --yes, and removes it", async () => {
    const holder = start(["apply", bigFile(uniqueLocalpart("stuck"), 60), "--yes", "--concurrency", "1"]);
    await holder.waitFor("stdout", /^ {2}ok \+ /m);
    holder.child.kill("SIGKILL"); // with the default ttl, its lease stays for a minute
    await holder.exit;
    const lease = (await readLease(client))!;
    expect(lease.holder?.pid).toBe(holder.child.pid);

    const show = await runCli(["force-unlock"], env());
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`  lease    ${lease.leaseId}\n`);
    expect(show.stdout).toContain(`  holder   ${server.adminUserId} on host `);
    expect(show.stdout).toContain(`(pid ${holder.child.pid}), synapse-gitops `);
    expect(show.stdout).toMatch(/^ {2}renewed {2}\d{4}-.*by the server's clock/m);
    expect(show.stdout).toMatch(/^ {2}expiry {3}an apply that finds it not renewed for 70 s takes it over/m);
    expect(show.stdout).toContain(`synapse-gitops force-unlock '${lease.leaseId}'`);

    const wrong = await runCli(["force-unlock", "!not-the-lease:test.local", "--yes"], env());
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(
      `error: the apply lock's lease is ${lease.leaseId}, not !not-the-lease:test.local; nothing was changed`,
    );
    const unasked = await runCli(["force-unlock", lease.leaseId], env());
    expect(unasked.code).toBe(1);
    expect(unasked.stderr).toContain(
      "force-unlock needs --yes when it is not run from a terminal; nothing was changed",
    );
    expect((await readLease(client))?.leaseId).toBe(lease.leaseId);

    const unlocked = await runCli(["force-unlock", lease.leaseId, "--yes"], env());
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect(unlocked.stdout).toContain(`Removed the apply lock (lease ${lease.leaseId}).`);
    expect(await readLease(client)).toBeUndefined();
    expect((await runCli(["force-unlock"], env())).stdout).toBe(`No apply lock is held on ${server.serverName}.\n`);
    // The next apply does not wait.
    const next = await runCli(["apply", smallFile(uniqueLocalpart("after-unlock")), "--yes"], env());
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toBe("");
  });

  it("a holder whose lease was removed notices: its renewal turns held() false, and confirm throws", async () => {
    const lock = await acquireApplyLock(client, { ttlMs: 1500 });
    try {
      await lock.confirm();
      expect(lock.held()).toBe(true);
      await forceUnlock(client, lock.leaseId);
      for (let i = 0; i < 100 && lock.held(); i++) await new Promise((r) => setTimeout(r, 100));
      expect(lock.held()).toBe(false);
      await expect(lock.confirm()).rejects.toBeInstanceOf(LockLostError);
      expect(lock.held()).toBe(false);
      const other = await acquireApplyLock(client, { ttlMs: 1500 });
      await other.release();
    } finally {
      await lock.release();
    }
  });

  it("a live holder's renewals keep its lease: a waiter gives up rather than take it over", async () => {
    const lock = await acquireApplyLock(client, { ttlMs: 3000 });
    try {
      const notices: string[] = [];
      // Three ttls of waiting: a lease left unrenewed would have been taken over twice over.
      const error = await acquireApplyLock(client, {
        ttlMs: 3000,
        waitMs: 9000,
        onNotice: (t) => notices.push(t),
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(String(error)).toContain(
        `another synapse-gitops apply holds this server's apply lock (lease ${lock.leaseId}: ${server.adminUserId} on host `,
      );
      expect(String(error)).toContain("gave up waiting for it after 9 s; nothing was changed");
      expect(notices).toEqual([]);
      await lock.confirm();
      expect(lock.held()).toBe(true);
    } finally {
      await lock.release();
    }
    expect(await readLease(client)).toBeUndefined();
  });

  it("an alias a non-admin user put in the lock's place is removed, with a notice; their room is left alone", async () => {
    const squatter = id(uniqueLocalpart("squatter"));
    await client.createUser(squatter, { password: "squatter-password-1" });
    const theirs = new SynapseClient({
      baseUrl: server.url,
      token: await login(server, squatter, "squatter-password-1"),
    });
    try {
      // A fake lease, written as the real ones are: only who wrote it differs.
      const room = await theirs.createPrivateRoom({
        name: "not a lock",
        initialState: [{ type: LEASE_EVENT_TYPE, content: { holder: squatter, renewals: 0, ttlMs: 3_600_000 } }],
      });
      expect(await theirs.putRoomAlias(lockAlias(server.serverName), room)).toBe(true);
      expect(await readLease(client)).toMatchObject({
        leaseId: room,
        notALease: `the room was created by ${squatter}, not an admin`,
      });
      const notices: string[] = [];
      const lock = await acquireApplyLock(client, { waitMs: 30_000, onNotice: (t) => notices.push(t) });
      await lock.release();
      expect(notices).toEqual([
        `removed the alias ${lockAlias(server.serverName)}: it pointed at ${room}, which is not a synapse-gitops lease (the room was created by ${squatter}, not an admin)`,
      ]);
      expect(await client.getRoomState(room)).toBeDefined(); // their room is still there
    } finally {
      await theirs.close();
    }
  });
});

describe("a squatter who keeps taking the lock's alias", () => {
  it("is named and the apply stops, rather than racing them until the lock timeout", async () => {
    const squatter = id(uniqueLocalpart("squatter-loop"));
    await client.createUser(squatter, { password: "squatter-password-2" });
    const theirs = new SynapseClient({
      baseUrl: server.url,
      token: await login(server, squatter, "squatter-password-2"),
    });
    const room = await theirs.createPrivateRoom({ name: "not a lock", initialState: [] });
    let squatting = true;
    // Puts the alias back as soon as it is gone, as an attacker's loop would.
    const loop = (async () => {
      while (squatting) {
        await theirs.putRoomAlias(lockAlias(server.serverName), room).catch(() => false);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      // Without the rule it would race them for the whole wait (far past this test's timeout).
      const error = await acquireApplyLock(client, { waitMs: 600_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ToolError);
      expect((error as ToolError).message).toMatch(/keeps being taken by a room that is not a synapse-gitops lease/);
      expect((error as ToolError).message).toContain(squatter);
      expect((error as ToolError).hint).toMatch(/alias_creation_rules/);
    } finally {
      squatting = false;
      await loop;
      await client.deleteRoomAlias(lockAlias(server.serverName)).catch(() => {});
      await theirs.close();
    }
  });
});

describe("the apply lock against the fake Synapse", () => {
  it("waits out a server that rate-limits room creation (Synapse: rc_room_creation), then takes the lock", async () => {
    let limited = 0;
    const fake = await startFakeSynapse({
      faults: ({ method, path }) =>
        method === "POST" && path === "/_matrix/client/v3/createRoom" && limited++ < 2
          ? { kind: "status", status: 429, errcode: "M_LIMIT_EXCEEDED", retryAfterMs: 100 }
          : undefined,
    });
    // No retries in the client: the lock itself must wait.
    const c = new SynapseClient({ baseUrl: fake.url, token: fake.adminToken, retries: 0 });
    try {
      const lock = await acquireApplyLock(c, { waitMs: 30_000 });
      expect(limited).toBeGreaterThan(2);
      expect((await readLease(c))?.leaseId).toBe(lock.leaseId);
      await lock.release();
      expect(await readLease(c)).toBeUndefined();
    } finally {
      await c.close();
      await fake.close();
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\!]/g, "\\$&");
}
