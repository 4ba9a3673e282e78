#!/usr/bin/env node
// A throwaway, real Synapse homeserver for tests, benchmarks and the demo.
//
//   node scripts/dev-synapse.mjs run [--postgres] [--mas] -- <command...>
//       start one (on SQLite, or PostgreSQL with --postgres), run the command with
//       SYNAPSE_URL / SYNAPSE_ADMIN_TOKEN set, stop it. With --mas, Synapse delegates authentication
//       to a stand-in Matrix Authentication Service (test/mas-standin/), and the command also gets
//       MAS_URL / MAS_CLIENT_ID / MAS_CLIENT_SECRET (an OAuth2 client allowed `urn:mas:admin`).
//   node scripts/dev-synapse.mjs root
//       only build the cached Debian sid root
//
// If SYNAPSE_TEST_URL and SYNAPSE_TEST_ADMIN_TOKEN are set, that server is used instead and nothing
// is started. Otherwise, as root on Debian, a Debian sid root with the `matrix-synapse` package is
// built once with debootstrap (cached under ~/.cache/synapse-gitops, ~700 MB) and each start runs a
// new Synapse from it on a free loopback port with a fresh database: SQLite, or PostgreSQL from the
// host's Debian `postgresql` package (installed if missing), a cluster of its own made for that one
// Synapse and deleted with it. No Docker needed.
import { spawn, spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT_VERSION = "sid-1"; // bump to force a rebuild of the cached root
const CACHE = process.env.SYNAPSE_GITOPS_CACHE ?? join(homedir(), ".cache", "synapse-gitops");
const ROOT = join(CACHE, `root-${ROOT_VERSION}`);
const READY = join(ROOT, ".synapse-gitops-ready");
const MIRROR = process.env.SYNAPSE_GITOPS_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
export const SERVER_NAME = "test.local";

class ProvisionError extends Error {}

const HOW_TO =
  "Provide a running Synapse with SYNAPSE_TEST_URL and SYNAPSE_TEST_ADMIN_TOKEN, " +
  "or run as root on Debian (with network access to Debian's package mirror) so a Synapse can be built with debootstrap.";

function log(msg) {
  process.stderr.write(`[dev-synapse] ${msg}\n`);
}

function run(cmd, args, { quiet = false, as = {} } = {}) {
  const res = spawnSync(cmd, args, {
    stdio: quiet ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
    ...as,
  });
  if (res.error) throw new ProvisionError(`cannot run ${cmd}: ${res.error.message}. ${HOW_TO}`);
  if (res.status !== 0) {
    const out = quiet ? `\n${res.stdout}${res.stderr}`.slice(-2000) : "";
    throw new ProvisionError(`${cmd} ${args.join(" ")} failed with exit code ${res.status}${out}`);
  }
  return res;
}

function which(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Builds the Debian sid root with matrix-synapse once; later calls return at once. */
export function ensureRoot() {
  if (existsSync(READY)) return ROOT;
  if (process.platform !== "linux" || process.getuid?.() !== 0) {
    throw new ProvisionError(`no Synapse to test against: building one needs root on Linux. ${HOW_TO}`);
  }
  mkdirSync(CACHE, { recursive: true });
  // One builder at a time: a second process waits on the lock, then finds the root ready.
  const lock = join(CACHE, `root-${ROOT_VERSION}.lock`);
  if (!which("flock")) throw new ProvisionError(`flock is missing (util-linux). ${HOW_TO}`);
  run("flock", [lock, process.execPath, fileURLToPath(import.meta.url), "build-root-locked"]);
  if (!existsSync(READY)) throw new ProvisionError(`building the Synapse root in ${ROOT} failed. ${HOW_TO}`);
  return ROOT;
}

function buildRootLocked() {
  if (existsSync(READY)) return;
  if (!which("debootstrap")) {
    if (!which("apt-get")) throw new ProvisionError(`debootstrap is missing and apt-get is not available. ${HOW_TO}`);
    log("installing debootstrap");
    run("apt-get", ["update", "-qq"]);
    run("apt-get", ["install", "-y", "-qq", "debootstrap"]);
  }
  rmSync(ROOT, { recursive: true, force: true });
  log(`building a Debian sid root with matrix-synapse in ${ROOT} (once; about a minute)`);
  run("debootstrap", ["--variant=minbase", "sid", ROOT, MIRROR], { quiet: true });
  // The chroot shares the host's network; it needs a resolver to reach the mirror.
  if (existsSync("/etc/resolv.conf")) writeFileSync(join(ROOT, "etc/resolv.conf"), readFileSync("/etc/resolv.conf"));
  // A mirror snapshot of sid can carry an expired Release file; the packages are still signed.
  const apt = ["apt-get", "-o", "Acquire::Check-Valid-Until=false", "-qq"];
  run("chroot", [ROOT, ...apt, "update"], { quiet: true });
  run(
    "chroot",
    [
      ROOT,
      "env",
      "DEBIAN_FRONTEND=noninteractive",
      ...apt,
      "install",
      "-y",
      "--no-install-recommends",
      "matrix-synapse",
      "python3-psycopg2", // Synapse's PostgreSQL driver (a dependency today; named so it stays)
    ],
    {
      quiet: true,
    },
  );
  run("chroot", [ROOT, "apt-get", "clean"], { quiet: true });
  const version = run("chroot", [ROOT, "python3", "-c", "import synapse; print(synapse.__version__)"], { quiet: true });
  writeFileSync(READY, `${String(version.stdout).trim()}\n`);
  log(`Synapse ${String(version.stdout).trim()} is ready in ${ROOT}`);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The server programs of Debian's `postgresql` package (its newest version), installed if missing. */
function postgresBin() {
  const find = () => {
    const base = "/usr/lib/postgresql";
    if (!existsSync(base)) return undefined;
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, "bin", "initdb")) && existsSync(join(base, v, "bin", "postgres")))
      .sort((a, b) => Number(b) - Number(a));
    return versions.length > 0 ? join(base, versions[0], "bin") : undefined;
  };
  const found = find();
  if (found) return found;
  if (process.getuid?.() !== 0 || !which("apt-get") || !which("flock"))
    throw new ProvisionError(`PostgreSQL is missing: install Debian's postgresql package. ${HOW_TO}`);
  log("installing postgresql");
  mkdirSync(CACHE, { recursive: true });
  run(
    "flock",
    [
      join(CACHE, "postgresql-install.lock"),
      "sh",
      "-c",
      "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql",
    ],
    { quiet: true },
  );
  const installed = find();
  if (!installed) throw new ProvisionError("installing postgresql left no /usr/lib/postgresql/*/bin/initdb");
  return installed;
}

/** Who runs PostgreSQL: as root, the package's unprivileged `postgres` user (initdb refuses root). */
function postgresOwner() {
  if (process.getuid?.() !== 0) return {};
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (!line)
    throw new ProvisionError("there is no `postgres` user to run PostgreSQL as (Debian's postgresql package makes it)");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Starts a PostgreSQL cluster of its own in a new temporary directory: listening on a free loopback
 * port (and a unix socket in a private directory), with a `synapse` role and a `synapse` database in
 * the C collation Synapse requires. `stop()` shuts it down and deletes the directory.
 */
async function startPostgres() {
  const bin = postgresBin();
  const owner = postgresOwner();
  const dir = mkdtempSync(join(tmpdir(), "synapse-gitops-pg-"));
  const data = join(dir, "data");
  const sockets = join(dir, "sockets");
  mkdirSync(sockets, { mode: 0o700 });
  if (owner.uid !== undefined) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(sockets, owner.uid, owner.gid);
  }
  const as = { ...owner, cwd: dir };
  let child;
  let exited = null;
  // Should this process end without stop(), the server must not outlive it.
  const orphaned = () => child?.kill("SIGQUIT");
  process.on("exit", orphaned);
  const stop = async () => {
    process.off("exit", orphaned);
    if (child && exited === null) {
      child.kill("SIGINT"); // "fast" shutdown: ends the sessions, then the server
      for (let i = 0; i < 100 && exited === null; i++) await sleep(100);
      if (exited === null) child.kill("SIGKILL");
    }
    if (!process.env.SYNAPSE_GITOPS_KEEP_DATA) rmSync(dir, { recursive: true, force: true });
  };
  const port = await freePort();
  const psql = (database, sql) =>
    spawnSync(join(bin, "psql"), ["-h", sockets, "-p", String(port), "-U", "postgres", "-d", database, "-qAtX"], {
      ...as,
      input: `\\set ON_ERROR_STOP on\n${sql}\n`,
      stdio: ["pipe", "pipe", "pipe"],
    });
  try {
    // The superuser is only reachable on the private socket; Synapse logs in over TCP with a password.
    run(
      join(bin, "initdb"),
      [
        "-D",
        data,
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--no-sync",
      ],
      { quiet: true, as },
    );
    const out = openSync(join(dir, "postgres.log"), "a");
    // A throwaway database: durability settings off, which changes nothing a test can see.
    const settings = ["listen_addresses=127.0.0.1", "fsync=off", "synchronous_commit=off", "full_page_writes=off"];
    child = spawn(
      join(bin, "postgres"),
      ["-D", data, "-p", String(port), "-k", sockets, ...settings.flatMap((c) => ["-c", c])],
      {
        ...as,
        stdio: ["ignore", out, out],
      },
    );
    child.on("exit", (code, signal) => {
      exited = { code, signal };
    });
    for (const deadline = Date.now() + 30_000; ; ) {
      if (exited !== null)
        throw new ProvisionError(
          `PostgreSQL exited during start-up (${JSON.stringify(exited)}):\n${readFileSync(join(dir, "postgres.log"), "utf8").slice(-3000)}`,
        );
      if (psql("postgres", "select 1").status === 0) break;
      if (Date.now() > deadline) throw new ProvisionError(`PostgreSQL did not start within 30 s (log: ${dir})`);
      await sleep(100);
    }
    const password = randomBytes(16).toString("hex");
    const made = psql(
      "postgres",
      `CREATE ROLE synapse LOGIN PASSWORD '${password}';
CREATE DATABASE synapse OWNER synapse ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;`,
    );
    if (made.status !== 0) throw new ProvisionError(`creating Synapse's PostgreSQL database failed: ${made.stderr}`);
    const version = String(psql("postgres", "show server_version").stdout).trim();
    return {
      version,
      port,
      user: "synapse",
      password,
      database: "synapse",
      /** Runs one query in Synapse's database and returns its output. */
      query: (sql) => {
        const res = psql("synapse", sql);
        if (res.status !== 0) throw new ProvisionError(`psql failed: ${res.stderr}`);
        return String(res.stdout).trim();
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Puts an account straight into Synapse's database, as a server that ran before Synapse enforced
 * today's user-ID grammar would hold it: `@Old.Admin:server`, or a localpart with any printable
 * ASCII but `:` (the Matrix spec's historical user IDs), which the Admin API refuses to create.
 * A row in `users` (no password) and one in `profiles` (with the display name, if given). Synapse
 * caches what it has read of a user: insert an ID before anything asks the server about it.
 */
function legacyUserInserter(root, inRoot, postgres) {
  return (userId, { displayname, admin = false } = {}) => {
    const at = userId.indexOf(":");
    if (!/^@[\x21-\x7e]+$/.test(userId) || at < 2) throw new ProvisionError(`not a user ID: ${JSON.stringify(userId)}`);
    const row = {
      name: userId,
      localpart: userId.slice(1, at),
      displayname: displayname ?? null,
      admin: admin ? 1 : 0,
    };
    if (postgres) {
      const q = (v) => (v === null ? "NULL" : `'${String(v).replaceAll("'", "''")}'`);
      postgres.query(`INSERT INTO users (name, creation_ts, admin, is_guest, deactivated, approved)
  VALUES (${q(row.name)}, extract(epoch from now())::bigint, ${row.admin}, 0, 0, TRUE);
INSERT INTO profiles (user_id, full_user_id, displayname) VALUES (${q(row.localpart)}, ${q(row.name)}, ${q(row.displayname)});`);
      return;
    }
    // The row travels as JSON in an argument: nothing in it is ever part of the SQL text.
    const script = `import json, sqlite3, sys, time
r = json.loads(sys.argv[1])
with sqlite3.connect(sys.argv[2]) as db:
    db.execute("INSERT INTO users (name, creation_ts, admin, is_guest, deactivated, approved) VALUES (?, ?, ?, 0, 0, 1)", (r["name"], int(time.time()), r["admin"]))
    db.execute("INSERT INTO profiles (user_id, full_user_id, displayname) VALUES (?, ?, ?)", (r["localpart"], r["name"], r["displayname"]))
`;
    run("chroot", [root, "python3", "-c", script, JSON.stringify(row), `${inRoot}/homeserver.db`], { quiet: true });
  };
}

async function api(url, path, { method = "GET", token, body } = {}) {
  const res = await fetch(url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new ProvisionError(`${method} ${path} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

function homeserverConfig(port, dataDir, registrationSecret, databaseConfig, mas) {
  // Written here rather than by `--generate-config` so that every setting is visible.
  const secret = () => randomBytes(24).toString("hex");
  return `# throwaway Synapse for synapse-gitops tests; deleted when it stops
server_name: "${SERVER_NAME}"
pid_file: ${dataDir}/homeserver.pid
listeners:
  - port: ${port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
${databaseConfig}
log_config: ${dataDir}/log.config
media_store_path: ${dataDir}/media_store
signing_key_path: ${dataDir}/signing.key
${mas ? "" : `registration_shared_secret: "${registrationSecret}"\n`}macaroon_secret_key: "${secret()}"
form_secret: "${secret()}"
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
${mas ? MAS_SETTINGS(mas) : PLAIN_REGISTRATION}bcrypt_rounds: 4
# Run the start-up database updates back to back: a fresh database is ready in seconds, not a minute.
background_updates:
  sleep_enabled: false
# Every apply creates (and deletes) the room of its lock, and the tests run many applies as one admin
# within minutes; Synapse's default lets a user create 10 rooms at once, then about one a minute.
rc_room_creation: { per_second: 1000, burst_count: 1000 }
# The rooms' tests and benchmark join many users to few rooms and send power levels and kicks as the
# admin: Synapse's defaults allow about one join a second per room and a few events a second per user.
rc_joins_per_room: { per_second: 1000, burst_count: 1000 }
rc_joins:
  local: { per_second: 1000, burst_count: 1000 }
rc_message: { per_second: 1000, burst_count: 1000 }
# Tests log in many users in quick succession from one address.
rc_login:
  address: { per_second: 1000, burst_count: 1000 }
  account: { per_second: 1000, burst_count: 1000 }
  failed_attempts: { per_second: 1000, burst_count: 1000 }
`;
}

const PLAIN_REGISTRATION = `# Registration is on but needs a registration token, and none exists: no one can register. The apply
# lock's tests prove that an apply never creates a token that would let someone in.
enable_registration: true
registration_requires_token: true
`;

// Authentication delegated to MAS (Synapse ≥ 1.136's stable integration). Synapse refuses to start
// with password login or registration on (check_config_conflicts), so both are off.
const MAS_SETTINGS = ({
  endpoint,
  secret,
}) => `# Authentication is delegated to a (stand-in) Matrix Authentication Service.
matrix_authentication_service:
  enabled: true
  endpoint: "${endpoint}/"
  secret: "${secret}"
password_config:
  enabled: false
enable_registration: false
`;

const LOG_CONFIG = `version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: LOGFILE
loggers:
  synapse.storage.SQL: { level: WARNING }
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
`;

// ---- the stand-in MAS (test/mas-standin/), run as a process of its own under tsx ----
const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");
const SYNAPSE_ADMIN_SCOPE = "urn:matrix:client:api:* urn:synapse:admin:*";
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID (MAS wants one as a client ID): 10 characters of milliseconds, 16 random ones. */
function ulid() {
  let time = "";
  for (let t = Date.now(), i = 0; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32] + time;
  return time + [...randomBytes(16)].map((b) => CROCKFORD[b % 32]).join("");
}

/** Starts test/mas-standin/main.ts; resolves with its URL and a stop function. */
async function startMasStandin(options, logFile) {
  const loader = pathToFileURL(join(REPO, "node_modules", "tsx", "dist", "loader.mjs")).href;
  const main = join(REPO, "test", "mas-standin", "main.ts");
  if (!existsSync(main)) throw new ProvisionError(`the stand-in MAS is missing: ${main}`);
  const out = openSync(logFile, "a");
  const child = spawn(process.execPath, ["--import", loader, main], {
    cwd: REPO,
    stdio: ["pipe", "pipe", out],
    env: { ...process.env, MAS_STANDIN_OPTIONS: JSON.stringify(options) },
  });
  let exited = null;
  child.on("exit", (code, signal) => {
    exited = { code, signal };
  });
  const orphaned = () => child.kill("SIGKILL");
  process.on("exit", orphaned);
  const stop = async () => {
    process.off("exit", orphaned);
    if (exited !== null) return;
    child.kill("SIGTERM");
    for (let i = 0; i < 50 && exited === null; i++) await sleep(100);
    if (exited === null) child.kill("SIGKILL");
  };
  try {
    const line = await new Promise((resolve, reject) => {
      let buffered = "";
      const timer = setTimeout(() => reject(new ProvisionError("the stand-in MAS did not start within 30 s")), 30_000);
      child.stdout.on("data", (chunk) => {
        buffered += chunk;
        const nl = buffered.indexOf("\n");
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(buffered.slice(0, nl));
        }
      });
      child.on("exit", () => {
        clearTimeout(timer);
        reject(
          new ProvisionError(`the stand-in MAS exited during start-up:\n${readFileSync(logFile, "utf8").slice(-3000)}`),
        );
      });
    });
    return { url: JSON.parse(line).url, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** An access token for the MAS admin API (client credentials, `urn:mas:admin`). */
async function masAdminToken(masUrl, clientId, clientSecret) {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64");
  const res = await fetch(`${masUrl}/oauth2/token`, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials&scope=urn%3Amas%3Aadmin",
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new ProvisionError(`MAS's token endpoint answered ${res.status}: ${JSON.stringify(json)}`);
  return json.access_token;
}

/**
 * Makes the admin user as an operator does under MAS: created through MAS's admin API (which
 * provisions it in Synapse), allowed to request admin, and given a personal session with the scopes
 * of a Synapse admin. Returns that session's token and the user's MAS ID.
 */
async function provisionMasAdmin(masUrl, clientId, clientSecret) {
  const token = await masAdminToken(masUrl, clientId, clientSecret);
  const user = await api(masUrl, "/api/admin/v1/users", { method: "POST", token, body: { username: "admin" } });
  const id = user.data.id;
  await api(masUrl, `/api/admin/v1/users/${id}/set-admin`, { method: "POST", token, body: { admin: true } });
  const session = await api(masUrl, "/api/admin/v1/personal-sessions", {
    method: "POST",
    token,
    body: { actor_user_id: id, human_name: "synapse-gitops test admin", scope: SYNAPSE_ADMIN_SCOPE },
  });
  return { synapseToken: session.data.attributes.access_token, adminMasId: id };
}

/** The pair named by SYNAPSE_MAS_TEST_* / MAS_TEST_* (set by `run --mas`), or undefined. */
async function externalMasPair() {
  const names = [
    "SYNAPSE_MAS_TEST_URL",
    "SYNAPSE_MAS_TEST_ADMIN_TOKEN",
    "MAS_TEST_URL",
    "MAS_TEST_CLIENT_ID",
    "MAS_TEST_CLIENT_SECRET",
    "MAS_TEST_SECRET",
  ];
  const set = names.filter((n) => process.env[n]);
  if (set.length === 0) return undefined;
  if (set.length !== names.length) throw new ProvisionError(`set all of ${names.join(", ")}, or none`);
  const url = process.env.SYNAPSE_MAS_TEST_URL.replace(/\/+$/, "");
  const token = process.env.SYNAPSE_MAS_TEST_ADMIN_TOKEN;
  const me = await api(url, "/_matrix/client/v3/account/whoami", { token }).catch((e) => {
    throw new ProvisionError(
      `the server in SYNAPSE_MAS_TEST_URL did not accept SYNAPSE_MAS_TEST_ADMIN_TOKEN: ${e.message}`,
    );
  });
  return {
    url,
    token,
    serverName: me.user_id.slice(me.user_id.indexOf(":") + 1),
    adminUserId: me.user_id,
    external: true,
    stop: async () => {},
    mas: {
      url: process.env.MAS_TEST_URL.replace(/\/+$/, ""),
      clientId: process.env.MAS_TEST_CLIENT_ID,
      clientSecret: process.env.MAS_TEST_CLIENT_SECRET,
      secret: process.env.MAS_TEST_SECRET,
    },
  };
}

/**
 * Starts a Synapse with a fresh database and an admin user.
 *
 * With `mas: true` (or an object of stand-in options), Synapse delegates authentication to the
 * stand-in MAS of test/mas-standin/, started first on a free loopback port; the admin user is created
 * through MAS and its token is a MAS personal session with the Synapse admin scope. The result then
 * also has `mas: {url, clientId, clientSecret, secret, adminMasId}`: the MAS URL, an OAuth2 client
 * allowed `urn:mas:admin` (client_secret_basic), and the secret shared by Synapse and MAS (which also
 * guards the stand-in's own /_standin/* controls).
 * @param {{database?: "sqlite" | "postgres", mas?: boolean | {accessTokenTtl?: number, passwordLoginEnabled?: boolean, jobDelayMs?: number, upstreamProviders?: {id?: string, issuer: string, human_name?: string, brand_name?: string}[]}}} [options]
 * @returns {Promise<{url: string, token: string, serverName: string, adminUserId: string, stop: () => Promise<void>, external: boolean, database?: "sqlite" | "postgres", insertLegacyUser?: (userId: string, options?: {displayname?: string, admin?: boolean}) => void, mas?: {url: string, clientId: string, clientSecret: string, secret: string, adminMasId?: string}}>}
 */
export async function startSynapse({ database = "sqlite", mas = false } = {}) {
  if (database !== "sqlite" && database !== "postgres")
    throw new ProvisionError(`unknown database ${JSON.stringify(database)}: "sqlite" or "postgres"`);
  if (mas) {
    const external = await externalMasPair();
    if (external) return external;
  }
  const extUrl = process.env.SYNAPSE_TEST_URL;
  const extToken = process.env.SYNAPSE_TEST_ADMIN_TOKEN;
  if (!mas && (extUrl || extToken)) {
    if (!extUrl || !extToken)
      throw new ProvisionError("set both SYNAPSE_TEST_URL and SYNAPSE_TEST_ADMIN_TOKEN, or neither");
    const url = extUrl.replace(/\/+$/, "");
    const me = await api(url, "/_matrix/client/v3/account/whoami", { token: extToken }).catch((e) => {
      throw new ProvisionError(`the server in SYNAPSE_TEST_URL did not accept SYNAPSE_TEST_ADMIN_TOKEN: ${e.message}`);
    });
    const serverName = me.user_id.slice(me.user_id.indexOf(":") + 1);
    return { url, token: extToken, serverName, adminUserId: me.user_id, external: true, stop: async () => {} };
  }

  const root = ensureRoot();
  const id = `${Date.now()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const inRoot = `/srv/synapse-gitops/${id}`; // the data dir as the chroot sees it
  const hostDir = join(root, inRoot);
  mkdirSync(join(hostDir, "media_store"), { recursive: true });
  const port = await freePort();
  const registrationSecret = randomBytes(24).toString("hex");
  let postgres;
  let child;
  let exited = null;
  let standin;
  const url = `http://127.0.0.1:${port}`;
  const orphaned = () => child?.kill("SIGKILL");
  process.on("exit", orphaned);
  const stop = async () => {
    process.off("exit", orphaned);
    await standin?.stop();
    if (child && exited === null) {
      child.kill("SIGTERM");
      for (let i = 0; i < 100 && exited === null; i++) await sleep(100);
      if (exited === null) child.kill("SIGKILL");
    }
    await postgres?.stop();
    if (!process.env.SYNAPSE_GITOPS_KEEP_DATA) rmSync(hostDir, { recursive: true, force: true });
  };

  try {
    let databaseConfig = `database:
  name: sqlite3
  args:
    database: ${inRoot}/homeserver.db`;
    if (database === "postgres") {
      postgres = await startPostgres();
      // The chroot shares the host's network: Synapse reaches the host's cluster on loopback.
      databaseConfig = `database:
  name: psycopg2
  args:
    user: ${postgres.user}
    password: "${postgres.password}"
    database: ${postgres.database}
    host: 127.0.0.1
    port: ${postgres.port}
    cp_min: 1
    cp_max: 5`;
    }
    let masConfig;
    if (mas) {
      const settings = typeof mas === "object" ? mas : {};
      masConfig = {
        secret: randomBytes(24).toString("hex"),
        clientId: ulid(),
        clientSecret: randomBytes(24).toString("hex"),
      };
      standin = await startMasStandin(
        {
          ...settings,
          synapseUrl: url,
          secret: masConfig.secret,
          serverName: SERVER_NAME,
          clients: [{ id: masConfig.clientId, secret: masConfig.clientSecret, authMethod: "client_secret_basic" }],
          adminClients: [masConfig.clientId],
        },
        join(hostDir, "mas-standin.log"),
      );
      masConfig.url = standin.url;
    }
    writeFileSync(
      join(hostDir, "homeserver.yaml"),
      homeserverConfig(
        port,
        inRoot,
        registrationSecret,
        databaseConfig,
        masConfig && { endpoint: masConfig.url, secret: masConfig.secret },
      ),
    );
    writeFileSync(join(hostDir, "log.config"), LOG_CONFIG.replace("LOGFILE", `${inRoot}/homeserver.log`));
    run(
      "chroot",
      [root, "python3", "-m", "synapse.app.homeserver", "-c", `${inRoot}/homeserver.yaml`, "--generate-keys"],
      { quiet: true },
    );

    const out = openSync(join(hostDir, "stdout.log"), "a");
    child = spawn("chroot", [root, "python3", "-m", "synapse.app.homeserver", "-c", `${inRoot}/homeserver.yaml`], {
      stdio: ["ignore", out, out],
      detached: false,
    });
    child.on("exit", (code, signal) => {
      exited = { code, signal };
    });

    const deadline = Date.now() + 90_000;
    for (;;) {
      if (exited !== null) {
        const tail = [join(hostDir, "stdout.log"), join(hostDir, "homeserver.log")]
          .filter(existsSync)
          .map((f) => readFileSync(f, "utf8").slice(-3000))
          .join("\n");
        throw new ProvisionError(`Synapse exited during start-up (${JSON.stringify(exited)}):\n${tail}`);
      }
      const ok = await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new ProvisionError(`Synapse did not answer on ${url} within 90 s`);
      await sleep(200);
    }
    let login;
    let adminMasId;
    if (masConfig) {
      const made = await provisionMasAdmin(masConfig.url, masConfig.clientId, masConfig.clientSecret);
      adminMasId = made.adminMasId;
      login = { access_token: made.synapseToken, user_id: `@admin:${SERVER_NAME}` };
      await api(url, "/_synapse/admin/v2/users?limit=1&guests=false", { token: login.access_token });
    } else {
      // Shared-secret registration (Admin API): makes the first admin and hands back its token.
      const { nonce } = await api(url, "/_synapse/admin/v1/register");
      const password = randomBytes(16).toString("hex");
      const mac = createHmac("sha1", registrationSecret).update(`${nonce}\0admin\0${password}\0admin`).digest("hex");
      login = await api(url, "/_synapse/admin/v1/register", {
        method: "POST",
        body: { nonce, username: "admin", password, admin: true, mac },
      });
    }
    // A fresh database still runs background updates (indexes among them) for a few seconds; until
    // they finish, some writes fail on SQLite (e.g. reactivation's profile upsert → 500). Production
    // servers are past that point, so tests start there too.
    const sql = "select count(*) from background_updates";
    const pending = `import sqlite3; print(sqlite3.connect("${inRoot}/homeserver.db").execute("${sql}").fetchone()[0])`;
    const pendingCount = () =>
      postgres
        ? postgres.query(sql)
        : String(run("chroot", [root, "python3", "-c", pending], { quiet: true }).stdout).trim();
    for (const deadline = Date.now() + 60_000; ; ) {
      const count = Number(pendingCount());
      if (count === 0) break;
      if (Date.now() > deadline)
        throw new ProvisionError(`Synapse's background database updates did not finish within 60 s (${count} left)`);
      await sleep(250);
    }
    const version = readFileSync(READY, "utf8").trim();
    const on = postgres ? `PostgreSQL ${postgres.version}` : "SQLite";
    log(
      `Synapse ${version} on ${url}, ${on}${masConfig ? `, MAS stand-in on ${masConfig.url}` : ""} (data: ${hostDir})`,
    );
    return {
      url,
      token: login.access_token,
      serverName: SERVER_NAME,
      adminUserId: login.user_id,
      external: false,
      database,
      insertLegacyUser: legacyUserInserter(root, inRoot, postgres),
      stop,
      ...(masConfig
        ? {
            mas: {
              url: masConfig.url,
              clientId: masConfig.clientId,
              clientSecret: masConfig.clientSecret,
              secret: masConfig.secret,
              adminMasId,
            },
          }
        : {}),
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

const USAGE = "usage: dev-synapse.mjs run [--sqlite | --postgres] [--mas] -- <command...> | root";

async function main(argv) {
  const [cmd, ...rest] = argv;
  if (cmd === "build-root-locked") return buildRootLocked();
  if (cmd === "root") return void ensureRoot();
  if (cmd === "run") {
    const sep = rest.indexOf("--");
    const options = sep >= 0 ? rest.slice(0, sep) : [];
    const command = sep >= 0 ? rest.slice(sep + 1) : rest;
    const unknown = options.filter((o) => o !== "--postgres" && o !== "--sqlite" && o !== "--mas");
    if (command.length === 0 || unknown.length > 0) throw new ProvisionError(USAGE);
    const server = await startSynapse({
      database: options.includes("--postgres") ? "postgres" : "sqlite",
      mas: options.includes("--mas"),
    });
    const env = { ...process.env, SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: server.token };
    if (server.mas) {
      Object.assign(env, {
        MAS_URL: server.mas.url,
        MAS_CLIENT_ID: server.mas.clientId,
        MAS_CLIENT_SECRET: server.mas.clientSecret,
        // The MAS-mode tests (test/support/mas.ts) reuse this pair; the other suites still start a
        // plain Synapse of their own.
        SYNAPSE_MAS_TEST_URL: server.url,
        SYNAPSE_MAS_TEST_ADMIN_TOKEN: server.token,
        MAS_TEST_URL: server.mas.url,
        MAS_TEST_CLIENT_ID: server.mas.clientId,
        MAS_TEST_CLIENT_SECRET: server.mas.clientSecret,
        MAS_TEST_SECRET: server.mas.secret,
      });
    } else {
      // The tests reuse this server instead of starting another.
      env.SYNAPSE_TEST_URL = server.url;
      env.SYNAPSE_TEST_ADMIN_TOKEN = server.token;
    }
    const child = spawn(command[0], command.slice(1), { stdio: "inherit", env });
    const forward = (sig) => child.kill(sig);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    const code = await new Promise((resolve) => child.on("exit", (c, s) => resolve(c ?? (s ? 1 : 0))));
    await server.stop();
    process.exitCode = code;
    return;
  }
  throw new ProvisionError(USAGE);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`dev-synapse: ${e instanceof ProvisionError ? e.message : e.stack}\n`);
    process.exitCode = 1;
  });
}
