// Accounts from older servers: historical user IDs (any printable ASCII but `:` in the localpart),
// which Synapse no longer lets anyone create, placed in the database of a Synapse of this file's own
// as an old server would hold them. Against the real Synapse, on SQLite and PostgreSQL: export →
// plan is empty; such an account is updated, deactivated and erased through a users file; creating
// one is refused in the plan; `@case.only` in a file when the server has `@Case.Only` is no create;
// every report carries the IDs exactly and safely.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { marked } from "marked";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseDocument } from "yaml";
// @ts-expect-error: a plain ESM script without type declarations.
import { startSynapse } from "../../scripts/dev-synapse.mjs";
import { SynapseClient } from "../../src/synapse/client.js";
import { runCli, tempFiles } from "../support/cli.js";

interface Started {
  url: string;
  token: string;
  serverName: string;
  adminUserId: string;
  external?: boolean;
  insertLegacyUser: (userId: string, options?: { displayname?: string; admin?: boolean }) => void;
  stop: () => Promise<void>;
}

let server: Started;
let client: SynapseClient;
let env: Record<string, string>;
const id = (localpart: string) => `@${localpart}:${server.serverName}`;

/** The historical accounts this file places in the database, by localpart, with their display names. */
const LEGACY: Record<string, { displayname: string; admin?: boolean }> = {
  "Old.Admin": { displayname: "Old Admin", admin: true },
  "a`b|c*d<e%f/g": { displayname: "Pipes | and `ticks`" },
  "_Legacy#1?x": { displayname: "Underscore" },
  "Upper.Deact": { displayname: "To deactivate" },
  "Upper.Erase": { displayname: "To erase" },
  "q\"r'\\[t]{u}!~^&": { displayname: "Quotes" },
  "@at>gt=": { displayname: "At" },
  "Case.Only": { displayname: "Case" },
  "<img>**x**[l](//evil.example)": { displayname: "<b>Markup</b>" },
  "#1@room": { displayname: "Hash" },
};

beforeAll(async () => {
  // A server of its own: the accounts go into its database before anything asks Synapse about them
  // (it caches users), and other files' users must not appear in this file's exports and plans.
  server = await startSynapse({ database: inject("database") });
  if (server.external) {
    throw new Error("historical-ID tests need their own Synapse; unset SYNAPSE_TEST_URL to let the tests start one");
  }
  for (const [localpart, options] of Object.entries(LEGACY)) server.insertLegacyUser(id(localpart), options);
  client = new SynapseClient({ baseUrl: server.url, token: server.token, retries: 0 });
  env = { SYNAPSE_URL: server.url, SYNAPSE_ADMIN_TOKEN: server.token };
}, 180_000);
afterAll(async () => {
  await client?.close();
  await server?.stop();
});

function usersFile(body: string[]): string {
  const dir = tempFiles({ "users.yaml": `version: 1\npolicy: { unmanaged: ignore }\nusers:\n${body.join("\n")}\n` });
  return join(dir, "users.yaml");
}

describe("historical user IDs on the real Synapse", () => {
  it("the harness placed them as an old server would: Synapse lists and reads them", async () => {
    const listed: string[] = [];
    for await (const page of client.listAllUsers()) for (const u of page) listed.push(u.userId);
    for (const localpart of Object.keys(LEGACY)) expect(listed).toContain(id(localpart));
    expect(await client.getUser(id("Old.Admin"))).toMatchObject({
      state: "active",
      admin: true,
      displayname: "Old Admin",
    });
  });

  it("export → validate → plan is empty: the exported file quotes the keys that need it", async () => {
    const out = join(tempFiles({}), "exported.yaml");
    const run = await runCli(["export", "--out", out], env);
    expect(run.stderr).toMatch(/^wrote \d+ users to /);
    expect(run.code).toBe(0);
    const text = readFileSync(out, "utf8");
    // Plain where YAML reads the key as written, quoted where it would not; a localpart that starts
    // with `@` as a full ID (as a localpart key it would read as one).
    expect(text).toMatch(/^ {2}Old\.Admin:$/m);
    expect(text).toMatch(/^ {2}"#1@room":$/m);
    expect(text).toContain(`\n  "${id("@at>gt=")}":`);
    // Any YAML reader reads the same keys back.
    const keys = (parseDocument(text).get("users") as { items: { key: { value: string } }[] }).items.map(
      (p) => p.key.value,
    );
    for (const localpart of Object.keys(LEGACY)) {
      expect(keys).toContain(localpart.startsWith("@") ? id(localpart) : localpart);
    }
    const validate = await runCli(["validate", out]);
    expect(validate.stderr).toBe("");
    expect(validate.code).toBe(0);
    const plan = await runCli(["plan", out, "--detailed-exitcode"], env);
    expect(plan.stderr).toBe("");
    expect(plan.stdout).toMatch(/^No changes: the server matches the file\.$/m);
    expect(plan.code).toBe(0);
  });

  it("creating an account with a historical ID is refused in the plan, saying why; apply creates nothing", async () => {
    const file = usersFile(["  New.Upper: active", '  "new|pipe": deactivated', "  fresh.user: active"]);
    const plan = await runCli(["plan", file], env);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(
      `x ${id("New.Upper")} is not on the server, and Synapse refuses to create it: a new user ID may only hold a-z, 0-9 and . _ = - / + (no upper case, no other character)`,
    );
    expect(plan.stdout).toContain(`x ${id("new|pipe")} is not on the server, and Synapse refuses to create it`);
    const json = JSON.parse((await runCli(["plan", file, "--format", "json"], env)).stdout) as {
      refusals: { code: string; userId: string }[];
      actions: { kind: string; userId: string }[];
    };
    expect(json.refusals.map((r) => [r.code, r.userId])).toEqual([
      ["historical-id", id("New.Upper")],
      ["historical-id", id("new|pipe")],
    ]);
    expect(json.actions.map((a) => [a.kind, a.userId])).toEqual([["create", id("fresh.user")]]);
    // A plan with a refusal applies nothing: not even the create that was fine.
    const apply = await runCli(["apply", file, "--yes"], env);
    expect(apply.code).toBe(1);
    for (const localpart of ["New.Upper", "new|pipe", "fresh.user"]) {
      await expect(client.getUser(id(localpart))).rejects.toMatchObject({ kind: "not-found" });
    }
  });

  it("matches exactly: @case.only in the file when the server has @Case.Only is no create, and the hint names it", async () => {
    const file = usersFile(["  case.only: active"]);
    const plan = await runCli(["plan", file], env);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(/^Plan: 0 to create, 0 to update/m);
    expect(plan.stdout).not.toContain("+ ");
    expect(plan.stdout).toContain(
      `x ${id("case.only")} is not on the server, but ${id("Case.Only")} is: user IDs are case-sensitive, and Synapse refuses to create one that differs from an existing one only in case`,
    );
    expect(plan.stdout).toContain(
      `to manage the existing account, name it exactly as the server does: ${id("Case.Only")}`,
    );
    const drift = await runCli(["drift", file, "--format", "json"], env);
    expect(drift.code).toBe(2);
    const items = (JSON.parse(drift.stdout) as { items: { class: string; userId: string; hint?: string }[] }).items;
    expect(items).toEqual([
      {
        class: "missing",
        userId: id("case.only"),
        expected: "active",
        actual: "absent",
        hint: `the server has ${id("Case.Only")}; to manage the existing account, name it exactly as the server does: ${id("Case.Only")}`,
      },
    ]);
    // Named as the server has it, the account is managed, and nothing is left to do.
    const exact = await runCli(["plan", usersFile(["  Case.Only: { displayname: Case }"]), "--detailed-exitcode"], env);
    expect(exact.stdout).toMatch(/^No changes: the server matches the file\.$/m);
    expect(exact.code).toBe(0);
    await expect(client.getUser(id("case.only"))).rejects.toMatchObject({ kind: "not-found" });
  });

  it("every report carries them exactly and safely: text, Markdown and JSON", async () => {
    const special = ["a`b|c*d<e%f/g", "_Legacy#1?x", "q\"r'\\[t]{u}!~^&", "@at>gt=", "<img>**x**[l](//evil.example)"];
    const file = usersFile(
      special.map(
        (localpart, i) => `  ${JSON.stringify(id(localpart))}: { displayname: ${JSON.stringify(`Renamed ${i}`)} }`,
      ),
    );
    const ids = special.map(id).sort();

    const text = await runCli(["plan", file], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Plan: 0 to create, 5 to update, 0 to deactivate/m);
    // Printable ASCII needs no escape on a terminal: each ID as it is, on its line.
    for (const userId of ids) expect(text.stdout).toContain(`\n  ~ ${userId}  update\n`);

    const json = JSON.parse((await runCli(["plan", file, "--format", "json"], env)).stdout) as {
      actions: { userId: string }[];
    };
    expect(json.actions.map((a) => a.userId)).toEqual(ids);

    const markdown = await runCli(["plan", file, "--format", "markdown"], env);
    expect(markdown.code).toBe(0);
    const html = marked.parse(markdown.stdout, { gfm: true }) as string;
    const rows = [...(html.match(/<tbody>([\s\S]*?)<\/tbody>/)?.[1] ?? "").matchAll(/<tr>([\s\S]*?)<\/tr>/g)];
    expect(rows).toHaveLength(ids.length);
    const decode = (s: string) =>
      s
        .replace(/<\/?code>/g, "")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, "&");
    for (const [n, row] of rows.entries()) {
      const cells = [...row[1]!.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1]!);
      expect(cells).toHaveLength(4);
      // Code spans, cut at each `|` (written as an escaped pipe between them, so the row holds).
      expect(
        decode(cells[1]!)
          .trim()
          .replace(/ ?\| ?/g, "|"),
      ).toBe(ids[n]);
    }
    const tags = [...html.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1]!.toLowerCase());
    expect(
      tags.filter((t) => !["h3", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "code"].includes(t)),
    ).toEqual([]);
    const outsideCode = html.replace(/<code>[\s\S]*?<\/code>/g, "").replace(/<[^>]*>/g, "");
    expect(outsideCode).not.toMatch(/@[\w-]|#\d|:\/\/|www\./);

    // Drift, in Markdown: the same IDs as code, nothing that renders or mentions.
    const drift = await runCli(["drift", file, "--format", "markdown"], env);
    expect(drift.code).toBe(2);
    const driftHtml = marked.parse(drift.stdout, { gfm: true }) as string;
    expect(driftHtml.match(/<li>/g)).toHaveLength(ids.length);
    expect(driftHtml).not.toMatch(/<(img|a|script)\b/);
    expect(driftHtml.replace(/<code>[\s\S]*?<\/code>/g, "").replace(/<[^>]*>/g, "")).not.toMatch(/@[\w-]|#\d|:\/\//);
  });

  it("updates, deactivates and erases such accounts through a users file, then has nothing to do", async () => {
    const file = usersFile([
      "  Old.Admin:",
      "    displayname: Old Admin (kept)",
      "    admin: false",
      '  "a`b|c*d<e%f/g":',
      "    locked: true",
      `  "${id("Upper.Deact")}": deactivated`,
      "  'Upper.Erase': erased",
      "  \"_Legacy#1?x\": { displayname: 'Under #1' }",
    ]);
    const plan = await runCli(["plan", file], env);
    expect(plan.stdout).toMatch(/^Plan: 0 to create, 3 to update, 1 to deactivate, 1 to erase, 0 to reactivate\.$/m);
    expect(plan.stdout).toContain(`  ! ${id("Upper.Erase")}  erase — IRREVERSIBLE`);
    expect(plan.code).toBe(0);
    const apply = await runCli(["apply", file, "--yes"], env);
    expect(apply.stderr).toBe("");
    expect(apply.stdout).toMatch(/Apply: 5 done, 0 failed, 0 stale\./);
    expect(apply.code).toBe(0);
    expect(await client.getUser(id("Old.Admin"))).toMatchObject({
      state: "active",
      admin: false,
      displayname: "Old Admin (kept)",
    });
    expect(await client.getUser(id("a`b|c*d<e%f/g"))).toMatchObject({ state: "active", locked: true });
    expect(await client.getUser(id("_Legacy#1?x"))).toMatchObject({ state: "active", displayname: "Under #1" });
    expect((await client.getUser(id("Upper.Deact"))).state).toBe("deactivated");
    expect((await client.getUser(id("Upper.Erase"))).state).toBe("erased");
    const again = await runCli(["plan", file, "--detailed-exitcode"], env);
    expect(again.stdout).toMatch(/^No changes: the server matches the file\.$/m);
    expect(again.code).toBe(0);

    // The lifecycle table holds for them as for anyone: never un-erased, reactivated only when allowed.
    const back = usersFile(["  Upper.Erase: active", "  Upper.Deact: active"]);
    const refused = await runCli(["plan", back, "--format", "json"], env);
    expect(refused.code).toBe(1);
    expect((JSON.parse(refused.stdout) as { refusals: { code: string; userId: string }[] }).refusals).toEqual([
      expect.objectContaining({ code: "reactivation-not-allowed", userId: id("Upper.Deact") }),
      expect.objectContaining({ code: "un-erase", userId: id("Upper.Erase") }),
    ]);

    // And the round trip still holds on the changed server.
    const out = join(tempFiles({}), "exported.yaml");
    expect((await runCli(["export", "--out", out], env)).code).toBe(0);
    const roundTrip = await runCli(["plan", out, "--detailed-exitcode"], env);
    expect(roundTrip.stdout).toMatch(/^No changes: the server matches the file\.$/m);
    expect(roundTrip.code).toBe(0);
  });
});
