// The built CLI against a real Synapse in MAS mode, paired with the stand-in MAS (issue 13): every
// cell of the lifecycle table and every refusal through MAS, Synapse-only users, drift's two MAS
// classes, the apply lock, credential messages, an interrupted deactivation. Each test uses its own
// localparts with `unmanaged: ignore` unless it says otherwise.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccountState } from "../../src/domain/account.js";
import { SynapseClient } from "../../src/synapse/client.js";
import { type CliRun, runCli, tempFiles } from "../support/cli.js";
import { startFaultProxy } from "../support/fault-proxy.js";
import { type Json, MasAdminApi, useMasSynapse } from "../support/mas.js";
import { uniqueLocalpart } from "../support/servers.js";

const PROVIDER_ISSUER = "https://idp.example.org/";
const pair = useMasSynapse({
  jobDelayMs: 300,
  upstreamProviders: [{ issuer: PROVIDER_ISSUER, human_name: "Example IdP" }],
});

let synapse: SynapseClient;
let mas: MasAdminApi;
beforeAll(() => {
  synapse = new SynapseClient({ baseUrl: pair().synapse.url, token: pair().synapse.token, retries: 0 });
  mas = new MasAdminApi(pair().mas);
});
afterAll(() => synapse.close());

const id = (localpart: string) => `@${localpart}:${pair().synapse.serverName}`;

function env(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const p = pair();
  return {
    SYNAPSE_URL: p.synapse.url,
    SYNAPSE_ADMIN_TOKEN: p.synapse.token,
    MAS_URL: p.mas.url,
    MAS_CLIENT_ID: p.mas.clientId,
    MAS_CLIENT_SECRET: p.mas.clientSecret,
    ...overrides,
  };
}

function usersFile(users: string, policy = "unmanaged: ignore"): string {
  return `version: 1\npolicy:\n  ${policy.split("\n").join("\n  ")}\nusers:${users ? `\n${users}` : " {}"}`;
}

async function cli(command: string, yaml: string, flags: string[] = [], e = env()): Promise<CliRun> {
  const dir = tempFiles({ "users.yaml": yaml });
  return runCli([command, join(dir, "users.yaml"), ...(command === "apply" ? ["--yes"] : []), ...flags], e);
}

async function masUser(localpart: string): Promise<Json | undefined> {
  const res = await mas.request("GET", `/users/by-username/${localpart}`);
  return res.status === 200 ? res.body.data : undefined;
}

/** Puts a user into a state through MAS directly (as an operator would), waiting for MAS's jobs. */
async function arrange(localpart: string, state: AccountState): Promise<string> {
  const made = await mas.ok("POST", "/users", { username: localpart }, 201);
  const masId: string = made.data.id;
  if (state !== "active") {
    await mas.ok("POST", `/users/${masId}/deactivate`, { skip_erase: state !== "erased" });
    await pair().control.drain();
  }
  return masId;
}

async function stateOf(localpart: string): Promise<AccountState | "absent"> {
  return (await synapse.findUser(id(localpart)))?.state ?? "absent";
}

describe("detection and reports", () => {
  it("finds MAS through auth_metadata and every report says which backend ran; --backend forces one", async () => {
    const yaml = usersFile("");
    const text = await cli("plan", yaml);
    expect(text.stderr).toBe("");
    expect(text.stdout).toContain("Accounts backend: mas (Matrix Authentication Service");
    const json = JSON.parse((await cli("plan", yaml, ["--format", "json"])).stdout);
    expect(json.backend).toBe("mas");
    expect((await cli("plan", yaml, ["--format", "markdown"])).stdout).toContain("Accounts backend: mas");
    const drift = await cli("drift", yaml, ["--format", "json"]);
    expect(JSON.parse(drift.stdout).backend).toBe("mas");
    expect((await cli("drift", yaml)).stdout).toContain("Accounts backend: mas");
    // Forced to Synapse, the list is read as on a plain Synapse: without guests=false, which MAS mode refuses.
    const forced = await cli("plan", yaml, ["--backend", "synapse"]);
    expect(forced.code).toBe(1);
    expect(forced.stderr).toContain("The guests parameter is not supported when delegating to MAS");
  });
});

describe("a saved plan's backend", () => {
  it("a plan made through MAS is refused through Synapse's own accounts, before anything is read or changed", async () => {
    const dir = tempFiles({ "users.yaml": usersFile("") });
    const file = join(dir, "users.yaml");
    const planFile = join(dir, "plan.json");
    expect((await runCli(["plan", file, "--out", planFile], env())).code).toBe(0);
    const run = await runCli(["apply", file, "--plan", planFile, "--yes", "--backend", "synapse"], env());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `${planFile} was made through the mas accounts backend, but this run's is synapse; make the plan again (or pass the same --backend). Nothing was applied.`,
    );
  });
});

describe("every cell of the lifecycle table through MAS", () => {
  const cells: [AccountState | "absent", AccountState][] = [
    ["absent", "active"],
    ["absent", "deactivated"],
    ["absent", "erased"],
    ["active", "active"],
    ["active", "deactivated"],
    ["active", "erased"],
    ["deactivated", "active"], // with allowReactivation
    ["deactivated", "deactivated"],
    ["deactivated", "erased"],
    ["erased", "erased"],
  ];
  const names = cells.map(([from, to]) => uniqueLocalpart(`m-${from}-${to}`));

  it("moves each user to its desired state in both MAS and Synapse, and a second apply has nothing to do", async () => {
    for (const [i, [from]] of cells.entries()) if (from !== "absent") await arrange(names[i]!, from);
    const yaml = usersFile(
      cells
        .map(
          ([from, to], i) =>
            `  ${names[i]}:\n    state: ${to}${from === "deactivated" && to === "active" ? "\n    allowReactivation: true" : ""}`,
        )
        .join("\n"),
    );
    const run = await cli("apply", yaml);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    for (const [i, [, to]] of cells.entries()) {
      expect(await stateOf(names[i]!)).toBe(to);
      const m = await masUser(names[i]!);
      // Created through MAS: every one of them has a MAS account, deactivated where Synapse says so.
      expect(m, names[i]).toBeDefined();
      expect(m.attributes.deactivated_at !== null).toBe(to !== "active");
    }
    const again = await cli("plan", yaml);
    expect(again.stdout).toContain("No changes");
  });

  it("update: display name and avatar land in Synapse; admin, lock, e-mails and upstream links in MAS", async () => {
    const name = uniqueLocalpart("m-update");
    await arrange(name, "active");
    const yaml = usersFile(
      `  ${name}:\n    displayname: Updated Name\n    avatarUrl: mxc://example.org/abcDEF\n    admin: true\n    locked: true\n    emails: [${name}@example.org, second-${name}@example.org]\n    externalIds:\n      - provider: Example IdP\n        id: sub-${name}`,
    );
    const run = await cli("apply", yaml);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const s = await synapse.getUser(id(name));
    expect(s.displayname).toBe("Updated Name");
    expect(s.avatarUrl).toBe("mxc://example.org/abcDEF");
    const m = await masUser(name);
    expect(m.attributes.admin).toBe(true);
    expect(m.attributes.locked_at).not.toBeNull();
    const emails = await mas.ok("GET", `/user-emails?filter[user]=${m.id}`);
    expect(emails.data.map((e: Json) => e.attributes.email).sort()).toEqual(
      [`${name}@example.org`, `second-${name}@example.org`].sort(),
    );
    const links = await mas.ok("GET", `/upstream-oauth-links?filter[user]=${m.id}`);
    expect(links.data.map((l: Json) => l.attributes.subject)).toEqual([`sub-${name}`]);
    // MAS pushes its e-mails to Synapse (provision_user set_emails): Synapse's threepids follow.
    await pair().control.drain();
    expect((await synapse.getUser(id(name))).emails?.sort()).toEqual(
      [`${name}@example.org`, `second-${name}@example.org`].sort(),
    );
    // Nothing left to do, and dropping an e-mail, unlocking and demoting go back through MAS.
    expect((await cli("plan", yaml)).stdout).toContain("No changes");
    const second = usersFile(
      `  ${name}:\n    admin: false\n    locked: false\n    emails: [${name}@example.org]\n    externalIds: []`,
    );
    expect((await cli("apply", second)).code).toBe(0);
    const after = await masUser(name);
    expect(after.attributes.admin).toBe(false);
    expect(after.attributes.locked_at).toBeNull();
    expect((await mas.ok("GET", `/user-emails?filter[user]=${m.id}`)).data).toHaveLength(1);
    expect((await mas.ok("GET", `/upstream-oauth-links?filter[user]=${m.id}`)).data).toHaveLength(0);
  });

  it("a password is set through MAS's set-password on create", async () => {
    const name = uniqueLocalpart("m-pw");
    await pair().control.resetRequests();
    const yaml = usersFile(`  ${name}:\n    password: {env: NEW_PW}`);
    const run = await cli("apply", yaml, ["--password-env", "NEW_PW"], env({ NEW_PW: "a long enough password" }));
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const requests = await pair().control.requests();
    expect(requests["POST /api/admin/v1/users/{id}/set-password"]).toBe(1);
    expect(requests["PUT /_synapse/admin/v2/users/{id}"] ?? 0).toBe(0);
  });
});

describe("refusals", () => {
  it("every lifecycle refusal holds unchanged under MAS", async () => {
    const erasedA = uniqueLocalpart("m-erased-a");
    const erasedD = uniqueLocalpart("m-erased-d");
    const deact = uniqueLocalpart("m-deact");
    await arrange(erasedA, "erased");
    await arrange(erasedD, "erased");
    await arrange(deact, "deactivated");
    const yaml = usersFile(
      `  ${erasedA}:\n    state: active\n  ${erasedD}:\n    state: deactivated\n  ${deact}:\n    state: active`,
    );
    const run = await cli("plan", yaml, ["--format", "json"]);
    const codes = JSON.parse(run.stdout)
      .refusals.map((r: Json) => r.code)
      .sort();
    expect(codes).toEqual(["erased-to-deactivated", "reactivation-not-allowed", "un-erase"]);
    const applied = await cli("apply", yaml);
    expect(applied.code).toBe(1);
    expect(await stateOf(erasedA)).toBe("erased");
    expect(await stateOf(deact)).toBe("deactivated");
  });

  it("the own user is never deactivated, and the thresholds hold", async () => {
    const admin = pair().synapse.adminUserId.slice(1).split(":")[0]!;
    const run = await cli("plan", usersFile(`  ${admin}:\n    state: deactivated`), ["--format", "json"]);
    expect(JSON.parse(run.stdout).refusals.map((r: Json) => r.code)).toContain("own-user");
    const many = Array.from({ length: 3 }, () => uniqueLocalpart("m-many"));
    for (const n of many) await arrange(n, "active");
    const limited = await cli(
      "plan",
      usersFile(
        many.map((n) => `  ${n}:\n    state: deactivated`).join("\n"),
        "unmanaged: ignore\nmaxDeactivations: 2",
      ),
      ["--format", "json"],
    );
    expect(JSON.parse(limited.stdout).refusals.map((r: Json) => r.code)).toContain("max-deactivations");
  });

  it("a password is refused in the plan when MAS's password login is off", async () => {
    const name = uniqueLocalpart("m-nopw");
    await pair().control.configure({ passwordLoginEnabled: false });
    try {
      const yaml = usersFile(`  ${name}:\n    password: {env: NEW_PW}`);
      const run = await cli(
        "plan",
        yaml,
        ["--password-env", "NEW_PW", "--format", "json"],
        env({ NEW_PW: "long password 1" }),
      );
      const refusals = JSON.parse(run.stdout).refusals;
      expect(refusals.map((r: Json) => r.code)).toEqual(["password-login-disabled"]);
      expect(refusals[0].message).toContain("password_login_enabled");
      const applied = await cli("apply", yaml, ["--password-env", "NEW_PW"], env({ NEW_PW: "long password 1" }));
      expect(applied.code).toBe(1);
      expect(await stateOf(name)).toBe("absent");
    } finally {
      await pair().control.configure({ passwordLoginEnabled: true });
    }
  });

  it("an external ID at a provider MAS does not know is refused in the plan", async () => {
    const name = uniqueLocalpart("m-prov");
    await arrange(name, "active");
    const run = await cli("plan", usersFile(`  ${name}:\n    externalIds:\n      - provider: nope\n        id: x`), [
      "--format",
      "json",
    ]);
    const refusals = JSON.parse(run.stdout).refusals;
    expect(refusals.map((r: Json) => r.code)).toEqual(["unknown-provider"]);
  });
});

describe("users that live only in Synapse", () => {
  it("are refused in the plan, spared by unmanaged: deactivate, and reported by drift", async () => {
    // Synapse's PUT v2 still creates a user under MAS: in Synapse only (mas-facts §2.3).
    const legacy = uniqueLocalpart("m-legacy");
    const loose = uniqueLocalpart("m-loose");
    for (const n of [legacy, loose]) await synapse.createUser(id(n), { displayname: n });
    expect(await masUser(legacy)).toBeUndefined();
    const yaml = usersFile(`  ${legacy}:\n    displayname: Changed`);
    const planned = JSON.parse((await cli("plan", yaml, ["--format", "json"])).stdout);
    expect(planned.refusals.map((r: Json) => [r.code, r.userId])).toEqual([["synapse-only", id(legacy)]]);
    // Not in the file, under `unmanaged: deactivate`: left alone, and said why.
    const policy = `unmanaged: deactivate\nmaxDeactivations: 1000\nprotected: ["@admin:*"]`;
    const whole = JSON.parse((await cli("plan", usersFile("", policy), ["--format", "json"])).stdout);
    const entry = whole.unmanaged.find((u: Json) => u.userId === id(loose));
    expect(entry.exempt).toBe("synapse-only");
    expect(whole.actions.find((a: Json) => a.userId === id(loose))).toBeUndefined();
    const drift = JSON.parse((await cli("drift", yaml, ["--format", "json"])).stdout);
    const classes = drift.items.filter((i: Json) => i.userId === id(legacy)).map((i: Json) => i.class);
    expect(classes).toEqual(["attributes", "synapse-only"]);
    expect((await synapse.getUser(id(legacy))).displayname).toBe(legacy);
  });
});

describe("drift under MAS", () => {
  it("reports MAS and Synapse disagreeing, besides today's classes", async () => {
    const outOfBand = uniqueLocalpart("m-oob");
    const changed = uniqueLocalpart("m-attr");
    await arrange(outOfBand, "active");
    await arrange(changed, "active");
    // Deactivated through Synapse's Admin API: MAS is not told, and still has it active.
    await synapse.deactivate(id(outOfBand), { erase: false });
    const yaml = usersFile(`  ${outOfBand}: {}\n  ${changed}:\n    displayname: In The File`);
    const run = await cli("drift", yaml, ["--format", "json"]);
    expect(run.code).toBe(2);
    const items = JSON.parse(run.stdout).items.filter((i: Json) => [id(outOfBand), id(changed)].includes(i.userId));
    expect(items.map((i: Json) => [i.class, i.userId]).sort()).toEqual(
      [
        ["attributes", id(changed)],
        ["backends-disagree", id(outOfBand)],
        ["deactivated-out-of-band", id(outOfBand)],
      ].sort(),
    );
    const text = (await cli("drift", yaml)).stdout;
    expect(text).toContain("MAS and Synapse disagree [backends-disagree]");
    expect(text).toContain("active in MAS, deactivated in Synapse");
  });
});

describe("asynchronous deactivation", () => {
  it("apply waits for MAS's job to reach Synapse; a run interrupted half-way converges when run again", async () => {
    const slow = uniqueLocalpart("m-slow");
    const halfway = uniqueLocalpart("m-halfway");
    const masId = await arrange(halfway, "active");
    await arrange(slow, "active");
    await pair().control.configure({ jobDelayMs: 1500 });
    try {
      const run = await cli("apply", usersFile(`  ${slow}:\n    state: deactivated`));
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/ok - .*m-slow/);
      // Half-way: MAS has it deactivated, its job has not reached Synapse yet (a run that stopped here).
      await pair().control.configure({ jobDelayMs: 300, jobsPaused: true });
      await mas.ok("POST", `/users/${masId}/deactivate`, { skip_erase: false });
      const yaml = usersFile(`  ${halfway}:\n    state: erased`);
      const drift = JSON.parse((await cli("drift", yaml, ["--format", "json"])).stdout);
      expect(drift.items.find((i: Json) => i.userId === id(halfway) && i.class === "backends-disagree")).toBeDefined();
      // Run again: planned from Synapse's side (still active), erased through MAS again, waited for.
      await pair().control.configure({ jobsPaused: false });
      const again = await cli("apply", yaml);
      expect(again.stderr).toBe("");
      expect(again.code).toBe(0);
      expect(await stateOf(halfway)).toBe("erased");
      expect((await cli("plan", yaml)).stdout).toContain("No changes");
    } finally {
      await pair().control.configure({ jobDelayMs: 300, jobsPaused: false });
    }
  }, 150_000);
});

describe("the apply lock under MAS", () => {
  it("is taken and released with the Synapse token (rooms and aliases); the registration-token 404 is tolerated", async () => {
    const name = uniqueLocalpart("m-lock");
    const run = await cli("apply", usersFile(`  ${name}: {}`));
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    // Registration tokens are not registered under MAS (mas-facts §2.3): the lock's cleanup met that 404.
    const tokens = await fetch(`${pair().synapse.url}/_synapse/admin/v1/registration_tokens`, {
      headers: { authorization: `Bearer ${pair().synapse.token}` },
    });
    expect(tokens.status).toBe(404);
    const dir = tempFiles({});
    const unlock = await runCli(["force-unlock"], env(), dir);
    expect(unlock.stdout + unlock.stderr).toContain("No apply lock is held");
  });
});

describe("credentials", () => {
  const yaml = usersFile("");
  it("no MAS URL: one message saying to set MAS_URL; the advertised issuer is not used", async () => {
    const run = await cli("plan", yaml, [], env({ MAS_URL: undefined }));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("MAS_URL");
    expect(run.stderr).toContain("not used unless you name it");
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("no client secret, or a wrong one: says what to configure in MAS; the secret appears nowhere", async () => {
    const missing = await cli("plan", yaml, [], env({ MAS_CLIENT_SECRET: undefined }));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("policy.data.admin_clients");
    const secret = "wrong-secret-0123456789abcdef";
    const wrong = await cli("plan", yaml, [], env({ MAS_CLIENT_SECRET: secret }));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("policy.data.admin_clients");
    expect(wrong.stderr).toContain("clients");
    expect(wrong.stdout + wrong.stderr).not.toContain(secret);
    expect(wrong.stdout + wrong.stderr).not.toContain(pair().mas.clientSecret);
  });

  it("the client secret can come from a file, never the command line", async () => {
    const dir = tempFiles({});
    const file = join(dir, "mas.env");
    writeFileSync(file, `MAS_CLIENT_ID=${pair().mas.clientId}\nMAS_CLIENT_SECRET=${pair().mas.clientSecret}\n`);
    const run = await cli(
      "plan",
      yaml,
      ["--mas-credentials-file", file],
      env({ MAS_CLIENT_ID: undefined, MAS_CLIENT_SECRET: undefined }),
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("a Synapse token that is not a Synapse admin one: says how to mint one under MAS", async () => {
    const run = await cli("plan", yaml, [], env({ SYNAPSE_ADMIN_TOKEN: "mat_not-a-valid-token-at-all" }));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("urn:synapse:admin:*");
    expect(run.stderr).toContain("personal session");
    expect(run.stderr).not.toContain("mat_not-a-valid-token-at-all");
  });
});

describe("the fault proxy in front of MAS", () => {
  it("apply converges through 429s, 5xx, resets and cut answers from MAS, and ends where the file says", async () => {
    const proxy = await startFaultProxy(pair().mas.url);
    try {
      for (const seed of [7, 8, 9]) {
        const users = {
          fresh: uniqueLocalpart(`mf${seed}-new`),
          leaver: uniqueLocalpart(`mf${seed}-leaver`),
          gdpr: uniqueLocalpart(`mf${seed}-gdpr`),
          back: uniqueLocalpart(`mf${seed}-back`),
          renamed: uniqueLocalpart(`mf${seed}-renamed`),
        };
        await arrange(users.leaver, "active");
        await arrange(users.gdpr, "active");
        await arrange(users.back, "deactivated");
        await arrange(users.renamed, "active");
        const yaml = usersFile(
          [
            `  ${users.fresh}:\n    emails: [${users.fresh}@example.org]`,
            `  ${users.leaver}: deactivated`,
            `  ${users.gdpr}: erased`,
            `  ${users.back}:\n    allowReactivation: true`,
            `  ${users.renamed}:\n    displayname: Renamed\n    admin: true`,
          ].join("\n"),
        );
        proxy.setSchedule(seed, seed % 2 === 0 ? 0.4 : 0.2);
        const faulty = env({ MAS_URL: proxy.url });
        let runs = 0;
        for (; runs < 8; runs++) {
          const run = await cli("apply", yaml, ["--retries", "2"], faulty);
          if (run.code === 0) break;
        }
        proxy.setSchedule(seed, 0);
        expect(runs, `seed ${seed}: no apply went through in 8 runs`).toBeLessThan(8);
        // A run that said it was done left nothing undone.
        expect((await cli("plan", yaml)).stdout, `seed ${seed}`).toContain("No changes");
        expect(await stateOf(users.gdpr)).toBe("erased");
        expect(await stateOf(users.back)).toBe("active");
        expect((await masUser(users.renamed)).attributes.admin).toBe(true);
      }
      expect(proxy.counts.faults).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
  }, 300_000);
});
