#!/usr/bin/env node
// A throwaway, real Synapse homeserver for tests, benchmarks and the demo.
//
//   node scripts/dev-synapse.mjs run -- <command...>   start one, run the command with
//                                                       SYNAPSE_URL / SYNAPSE_ADMIN_TOKEN set, stop it
//   node scripts/dev-synapse.mjs root                  only build the cached Debian sid root
//
// If SYNAPSE_TEST_URL and SYNAPSE_TEST_ADMIN_TOKEN are set, that server is used instead and nothing
// is started. Otherwise, as root on Debian, a Debian sid root with the `matrix-synapse` package is
// built once with debootstrap (cached under ~/.cache/synapse-gitops, ~700 MB) and each start runs a
// new Synapse from it with a fresh SQLite database on a free loopback port. No Docker needed.
import { spawn, spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

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

function run(cmd, args, { quiet = false } = {}) {
  const res = spawnSync(cmd, args, { stdio: quiet ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"] });
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

function homeserverConfig(port, dataDir, registrationSecret) {
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
database:
  name: sqlite3
  args:
    database: ${dataDir}/homeserver.db
log_config: ${dataDir}/log.config
media_store_path: ${dataDir}/media_store
signing_key_path: ${dataDir}/signing.key
registration_shared_secret: "${registrationSecret}"
macaroon_secret_key: "${secret()}"
form_secret: "${secret()}"
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
# Registration is on but needs a registration token, and none exists: no one can register. The apply
# lock's tests prove that an apply never creates a token that would let someone in.
enable_registration: true
registration_requires_token: true
bcrypt_rounds: 4
# Run the start-up database updates back to back: a fresh database is ready in seconds, not a minute.
background_updates:
  sleep_enabled: false
# Every apply creates (and deletes) the room of its lock, and the tests run many applies as one admin
# within minutes; Synapse's default lets a user create 10 rooms at once, then about one a minute.
rc_room_creation: { per_second: 1000, burst_count: 1000 }
# Tests log in many users in quick succession from one address.
rc_login:
  address: { per_second: 1000, burst_count: 1000 }
  account: { per_second: 1000, burst_count: 1000 }
  failed_attempts: { per_second: 1000, burst_count: 1000 }
`;
}

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

/**
 * Starts a Synapse with a fresh database and an admin user.
 * @returns {Promise<{url: string, token: string, serverName: string, adminUserId: string, stop: () => Promise<void>, external: boolean}>}
 */
export async function startSynapse() {
  const extUrl = process.env.SYNAPSE_TEST_URL;
  const extToken = process.env.SYNAPSE_TEST_ADMIN_TOKEN;
  if (extUrl || extToken) {
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
  writeFileSync(join(hostDir, "homeserver.yaml"), homeserverConfig(port, inRoot, registrationSecret));
  writeFileSync(join(hostDir, "log.config"), LOG_CONFIG.replace("LOGFILE", `${inRoot}/homeserver.log`));
  run(
    "chroot",
    [root, "python3", "-m", "synapse.app.homeserver", "-c", `${inRoot}/homeserver.yaml`, "--generate-keys"],
    { quiet: true },
  );

  const out = openSync(join(hostDir, "stdout.log"), "a");
  const child = spawn("chroot", [root, "python3", "-m", "synapse.app.homeserver", "-c", `${inRoot}/homeserver.yaml`], {
    stdio: ["ignore", out, out],
    detached: false,
  });
  let exited = null;
  child.on("exit", (code, signal) => {
    exited = { code, signal };
  });

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited === null) {
      child.kill("SIGTERM");
      for (let i = 0; i < 100 && exited === null; i++) await sleep(100);
      if (exited === null) child.kill("SIGKILL");
    }
    if (!process.env.SYNAPSE_GITOPS_KEEP_DATA) rmSync(hostDir, { recursive: true, force: true });
  };

  try {
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
    // Shared-secret registration (Admin API): makes the first admin and hands back its token.
    const { nonce } = await api(url, "/_synapse/admin/v1/register");
    const password = randomBytes(16).toString("hex");
    const mac = createHmac("sha1", registrationSecret).update(`${nonce}\0admin\0${password}\0admin`).digest("hex");
    const login = await api(url, "/_synapse/admin/v1/register", {
      method: "POST",
      body: { nonce, username: "admin", password, admin: true, mac },
    });
    // A fresh database still runs background updates (indexes among them) for a few seconds; until
    // they finish, some writes fail on SQLite (e.g. reactivation's profile upsert → 500). Production
    // servers are past that point, so tests start there too.
    const pending = `import sqlite3; print(sqlite3.connect("${inRoot}/homeserver.db").execute("select count(*) from background_updates").fetchone()[0])`;
    for (const deadline = Date.now() + 60_000; ; ) {
      const count = Number(String(run("chroot", [root, "python3", "-c", pending], { quiet: true }).stdout).trim());
      if (count === 0) break;
      if (Date.now() > deadline)
        throw new ProvisionError(`Synapse's background database updates did not finish within 60 s (${count} left)`);
      await sleep(250);
    }
    const version = readFileSync(READY, "utf8").trim();
    log(`Synapse ${version} on ${url} (data: ${hostDir})`);
    return {
      url,
      token: login.access_token,
      serverName: SERVER_NAME,
      adminUserId: login.user_id,
      external: false,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function main(argv) {
  const [cmd, ...rest] = argv;
  if (cmd === "build-root-locked") return buildRootLocked();
  if (cmd === "root") return void ensureRoot();
  if (cmd === "run") {
    const sep = rest.indexOf("--");
    const command = sep >= 0 ? rest.slice(sep + 1) : rest;
    if (command.length === 0) throw new ProvisionError("usage: dev-synapse.mjs run -- <command...>");
    const server = await startSynapse();
    const env = { ...process.env, SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: server.token };
    // The tests reuse this server instead of starting another.
    env.SYNAPSE_TEST_URL = server.url;
    env.SYNAPSE_TEST_ADMIN_TOKEN = server.token;
    const child = spawn(command[0], command.slice(1), { stdio: "inherit", env });
    const forward = (sig) => child.kill(sig);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    const code = await new Promise((resolve) => child.on("exit", (c, s) => resolve(c ?? (s ? 1 : 0))));
    await server.stop();
    process.exitCode = code;
    return;
  }
  throw new ProvisionError("usage: dev-synapse.mjs run -- <command...> | root");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`dev-synapse: ${e instanceof ProvisionError ? e.message : e.stack}\n`);
    process.exitCode = 1;
  });
}
