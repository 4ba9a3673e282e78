// The built CLI against the real Synapse: every cell of the lifecycle table, every refusal, the
// non-interactive rule, idempotent re-apply. Each test declares its own users (unique localparts)
// with `unmanaged: ignore`, so tests sharing the server never see each other's users.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { AccountState } from "../../src/domain/account.js";
import type { SynapseClient } from "../../src/synapse/client.js";
import { type CliRun, runCli, serverEnv, tempFiles } from "../support/cli.js";
import { clientFor, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
const env = serverEnv(server);
let client: SynapseClient;
beforeAll(() => {
  client = clientFor(server);
});
afterAll(() => client.close());

const id = (localpart: string) => `@${localpart}:${server.serverName}`;

/** Puts a user into a state through the Admin API directly (not through the tool under test). */
async function arrange(localpart: string, state: AccountState | "absent"): Promise<void> {
  if (state === "absent") return;
  await client.createUser(id(localpart), { displayname: localpart });
  if (state !== "active") await client.deactivate(id(localpart), { erase: state === "erased" });
}

async function stateOf(localpart: string): Promise<AccountState | "absent"> {
  return (await client.findUser(id(localpart)))?.state ?? "absent";
}

function usersFile(users: string, policy = "unmanaged: ignore"): string {
  return `version: 1\npolicy:\n  ${policy.split("\n").join("\n  ")}\nusers:\n${users}`;
}

async function apply(yaml: string, ...flags: string[]): Promise<CliRun> {
  const dir = tempFiles({ "users.yaml": yaml });
  return runCli(["apply", join(dir, "users.yaml"), "--yes", ...flags], env);
}

describe("apply: every allowed cell of the lifecycle table, then idempotence", () => {
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
  const names = cells.map(([from, to]) => uniqueLocalpart(`${from}-to-${to}`));

  it("moves each user from its actual to its desired state, and a second apply has nothing to do", async () => {
    await Promise.all(cells.map(([from], i) => arrange(names[i]!, from)));
    const yaml = usersFile(
      cells
        .map(([from, to], i) =>
          to === "active"
            ? `  ${names[i]}:\n    displayname: Now ${i}\n${from === "deactivated" ? "    allowReactivation: true\n" : ""}`
            : `  ${names[i]}: ${to}\n`,
        )
        .join(""),
    );
    const first = await apply(yaml);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Plan: 3 to create, 1 to update, 1 to deactivate, 2 to erase, 1 to reactivate\.$/m);
    expect(first.stdout).toContain("IRREVERSIBLE");
    expect(first.stdout).toMatch(/^Apply: 8 done, 0 failed, 0 stale\.$/m);
    for (const [i, [, to]] of cells.entries()) expect(await stateOf(names[i]!), names[i]).toBe(to);
    expect((await client.getUser(id(names[3]!))).displayname).toBe("Now 3");

    const second = await apply(yaml);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(
      "No changes: the server matches the file.\n\nPolicy: unmanaged ignore, maxDeactivations 10, maxErasures 5, protected: none.\nAccounts backend: synapse.\n",
    );
  });
});

describe("apply: refusals change nothing and exit 1", () => {
  async function expectRefused(yaml: string, users: string[], message: RegExp, ...flags: string[]) {
    const before = await Promise.all(users.map((u) => client.findUser(id(u))));
    const run = await apply(yaml, ...flags);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(message);
    expect(run.stderr).toContain("Nothing was applied");
    expect(await Promise.all(users.map((u) => client.findUser(id(u))))).toEqual(before);
    return run;
  }

  it("never un-erases, even with allowReactivation, and applies none of the rest of the plan", async () => {
    const [erased, bystander] = [uniqueLocalpart("erased"), uniqueLocalpart("bystander")];
    await arrange(erased, "erased");
    await arrange(bystander, "active");
    await expectRefused(
      usersFile(`  ${erased}:\n    allowReactivation: true\n  ${bystander}:\n    displayname: Changed\n`),
      [erased, bystander],
      /x @.* is erased; an erased account is never reactivated/,
    );
  });

  it("refuses erased → deactivated: the file must say erased", async () => {
    const u = uniqueLocalpart("erased");
    await arrange(u, "erased");
    await expectRefused(usersFile(`  ${u}: deactivated\n`), [u], /the file must say erased/);
  });

  it("refuses to reactivate without allowReactivation", async () => {
    const u = uniqueLocalpart("gone");
    await arrange(u, "deactivated");
    await expectRefused(usersFile(`  ${u}: active\n`), [u], /needs `allowReactivation: true`/);
  });

  it("refuses to deactivate the token's own user", async () => {
    const own = server.adminUserId.slice(1, server.adminUserId.indexOf(":"));
    await expectRefused(
      usersFile(`  ${own}: deactivated\n`),
      [own],
      /admin token's own user; refusing to deactivate it/,
    );
  });

  it("refuses to erase a user matched by a protected glob", async () => {
    const u = uniqueLocalpart("release-bot");
    await arrange(u, "active");
    await expectRefused(
      usersFile(`  ${u}: erased\n`, `unmanaged: ignore\nprotected: ["@*-bot-*:${server.serverName}"]`),
      [u],
      /protected by policy.protected; refusing to erase it/,
    );
  });

  it("refuses more deactivations than maxDeactivations, naming the count and the override flag", async () => {
    const us = [uniqueLocalpart("m"), uniqueLocalpart("m"), uniqueLocalpart("m")];
    await Promise.all(us.map((u) => arrange(u, "active")));
    const yaml = usersFile(us.map((u) => `  ${u}: deactivated\n`).join(""), "unmanaged: ignore\nmaxDeactivations: 2");
    await expectRefused(
      yaml,
      us,
      /deactivates 3 active users, over the limit of 2\n\s+if that is intended, .*--max-deactivations 3/,
    );
    // The override flag lifts it for one run.
    const run = await apply(yaml, "--max-deactivations", "3");
    expect(run.code).toBe(0);
    for (const u of us) expect(await stateOf(u)).toBe("deactivated");
  });

  it("refuses more erasures than maxErasures", async () => {
    const us = [uniqueLocalpart("e"), uniqueLocalpart("e")];
    await Promise.all(us.map((u) => arrange(u, "deactivated")));
    await expectRefused(
      usersFile(us.map((u) => `  ${u}: erased\n`).join(""), "unmanaged: ignore\nmaxErasures: 1"),
      us,
      /erases 2 users, over the limit of 1[\s\S]*--max-erasures 2/,
    );
  });
});

describe("apply without a terminal", () => {
  it("needs --yes, and without it changes nothing", async () => {
    const u = uniqueLocalpart("noyes");
    const dir = tempFiles({ "users.yaml": usersFile(`  ${u}: active\n`) });
    const run = await runCli(["apply", join(dir, "users.yaml")], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("error: apply needs --yes when it is not run from a terminal; nothing was changed\n");
    expect(await stateOf(u)).toBe("absent");
  });
});

describe("plan", () => {
  it("--detailed-exitcode: 2 with changes, 0 without; plan itself changes nothing", async () => {
    const u = uniqueLocalpart("planned");
    const dir = tempFiles({ "users.yaml": usersFile(`  ${u}:\n    displayname: Planned\n`) });
    const file = join(dir, "users.yaml");
    const changed = await runCli(["plan", file, "--detailed-exitcode"], env);
    expect(changed.code).toBe(2);
    expect(changed.stdout).toContain(`+ ${id(u)}  create\n      displayname: "Planned"`);
    expect(await stateOf(u)).toBe("absent");
    expect((await runCli(["plan", file], env)).code).toBe(0);
    await runCli(["apply", file, "--yes"], env);
    const clean = await runCli(["plan", file, "--detailed-exitcode"], env);
    expect(clean.code).toBe(0);
  });

  it("shows attribute changes old → new, as JSON (formatVersion 1) and as Markdown", async () => {
    const u = uniqueLocalpart("renamed");
    await client.createUser(id(u), { displayname: "Old Name" });
    const dir = tempFiles({ "users.yaml": usersFile(`  ${u}:\n    displayname: New Name\n    admin: true\n`) });
    const text = await runCli(["plan", join(dir, "users.yaml")], env);
    expect(text.stdout).toContain(
      `~ ${id(u)}  update\n      displayname: "Old Name" → "New Name"\n      admin: false → true`,
    );
    const json = JSON.parse((await runCli(["plan", join(dir, "users.yaml"), "--format", "json"], env)).stdout);
    expect(json).toMatchObject({
      formatVersion: 1,
      command: "plan",
      serverName: server.serverName,
      summary: { create: 0, update: 1, deactivate: 0, erase: 0, reactivate: 0 },
      actions: [
        {
          kind: "update",
          userId: id(u),
          from: "active",
          to: "active",
          changes: [
            { attribute: "displayname", from: "Old Name", to: "New Name" },
            { attribute: "admin", from: false, to: true },
          ],
        },
      ],
      refusals: [],
    });
    const md = (await runCli(["plan", join(dir, "users.yaml"), "--format", "markdown"], env)).stdout;
    expect(md).toContain(
      `| ✏️ | \`${id(u)}\` | update | displayname: \`"Old Name"\` → \`"New Name"\`<br>admin: \`false\` → \`true\` |`,
    );
  });
});
