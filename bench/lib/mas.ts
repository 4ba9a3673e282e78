// Under MAS (a real Synapse in MAS mode with the stand-in MAS, scripts/dev-synapse.mjs): a plan that
// manages every user's e-mails against the same plan without them. On plain Synapse the e-mails cost
// one GET per user (Synapse's floor); under MAS they come in bulk from MAS's user-emails list, so the
// plan with e-mails must stay within 1.5× of the plan without (issue 13).
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectExit, type Measured, measure, median } from "./measure.js";
import { count, type Row, round, seconds } from "./report.js";

export interface MasServer {
  url: string;
  token: string;
  serverName: string;
  mas: { url: string; clientId: string; clientSecret: string; secret: string };
}

export interface MasBenchOptions {
  cli: string;
  workDir: string;
  users: number;
  reps: number;
  log: (text: string) => void;
}

async function mapConcurrent<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function masScenario(server: MasServer, options: MasBenchOptions): Promise<Row> {
  const { log } = options;
  const prefix = `m${randomBytes(3).toString("hex")}-`;
  const localparts = Array.from({ length: options.users }, (_, i) => `${prefix}u${String(i).padStart(6, "0")}`);
  const emailOf = (localpart: string) => `${localpart}@example.org`;
  const seedStart = performance.now();
  // Synapse's side through its Admin API, MAS's straight into the stand-in's state (seed control).
  await mapConcurrent(localparts, 8, async (localpart) => {
    const res = await fetch(
      `${server.url}/_synapse/admin/v2/users/${encodeURIComponent(`@${localpart}:${server.serverName}`)}`,
      {
        method: "PUT",
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
        body: JSON.stringify({ displayname: localpart }),
      },
    );
    if (!res.ok) throw new Error(`seeding ${localpart} in Synapse answered ${res.status}`);
  });
  for (let i = 0; i < localparts.length; i += 1000) {
    const users = localparts.slice(i, i + 1000).map((username) => ({ username, emails: [emailOf(username)] }));
    const res = await fetch(`${server.mas.url}/_standin/seed`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.mas.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ users }),
    });
    if (!res.ok) throw new Error(`seeding MAS answered ${res.status}: ${await res.text()}`);
  }
  log(`seeded ${count(options.users)} users in Synapse and MAS in ${seconds(performance.now() - seedStart)}`);

  const file = (withEmails: boolean) => {
    const lines = ["version: 1", "policy:", "  unmanaged: ignore", "users:"];
    for (const localpart of localparts) {
      lines.push(`  ${localpart}:`, `    displayname: ${localpart}`);
      if (withEmails) lines.push(`    emails: [${emailOf(localpart)}]`);
    }
    const path = join(options.workDir, `mas-${withEmails ? "emails" : "plain"}.yaml`);
    writeFileSync(path, `${lines.join("\n")}\n`);
    return path;
  };
  const plain = file(false);
  const emails = file(true);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SYNAPSE_URL: server.url,
    SYNAPSE_ADMIN_TOKEN: server.token,
    MAS_URL: server.mas.url,
    MAS_CLIENT_ID: server.mas.clientId,
    MAS_CLIENT_SECRET: server.mas.clientSecret,
  };
  const run = async (path: string): Promise<Measured> => {
    const m = expectExit(await measure(process.execPath, [options.cli, "plan", path], { env }), "plan under MAS");
    if (!m.stdout.includes("No changes") || !m.stdout.includes("Accounts backend: mas")) {
      throw new Error(`plan under MAS did not find the server matching the file:\n${m.stdout.slice(0, 500)}`);
    }
    return m;
  };
  const without: Measured[] = [];
  const withEmails: Measured[] = [];
  for (let rep = 0; rep < options.reps; rep++) {
    // Side by side, each first in turn.
    if (rep % 2 === 0) {
      without.push(await run(plain));
      withEmails.push(await run(emails));
    } else {
      withEmails.push(await run(emails));
      without.push(await run(plain));
    }
  }
  const plainMs = median(without.map((m) => m.wallMs));
  const emailsMs = median(withEmails.map((m) => m.wallMs));
  const ratio = emailsMs / plainMs;
  return {
    scenario: `plan managing e-mails under MAS, ${count(options.users)} users (real Synapse + stand-in MAS)`,
    figures: {
      users: options.users,
      emailsS: round(emailsMs / 1000, 3),
      plainS: round(plainMs / 1000, 3),
      runs: options.reps,
    },
    text: `with e-mails ${seconds(emailsMs)}, without ${seconds(plainMs)} (median of ${options.reps})`,
    ratio: round(ratio),
    ratioOf: "with e-mails / without",
    target: "≤ 1.5",
    pass: ratio <= 1.5,
  };
}
