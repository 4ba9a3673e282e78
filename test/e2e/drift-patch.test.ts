// Drift you can accept, against the real Synapse: things changed by hand through the Admin API (as
// an admin UI does), `drift --format patch` prints the users file edited to match, `--write` writes
// it, and then drift reports nothing and plan has nothing to do. The built CLI, as a process.
import { lstatSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { applyPatch, parsePatch } from "diff";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { SynapseClient } from "../../src/synapse/client.js";
import { runCli, serverEnv, tempFiles } from "../support/cli.js";
import { clientFor, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
const env = serverEnv(server);
let client: SynapseClient;
beforeAll(() => {
  client = clientFor(server);
});
afterAll(() => client.close());

const id = (localpart: string) => `@${localpart}:${server.serverName}`;

describe("drift --format patch against the real Synapse", () => {
  it("someone reactivated bob, renamed carol and made dave admin: the patch, written, leaves no drift and no plan", async () => {
    const [bob, carol, dave] = ["bob", "carol", "dave"].map((n) => uniqueLocalpart(`patch-${n}`)) as [
      string,
      string,
      string,
    ];
    await client.createUser(id(bob), { displayname: "Bob" });
    await client.deactivate(id(bob), { erase: false });
    await client.createUser(id(carol), { displayname: "Carol" });
    await client.createUser(id(dave), { displayname: "Dave", admin: false });
    const original = [
      "# Accounts of the ops team",
      "version: 1",
      "policy:",
      "  unmanaged: ignore   # other tests share this server",
      "users:",
      "  # left in May (ticket 12)",
      `  ${bob}: deactivated   # keep the ID reserved`,
      `  ${carol}:`,
      "    displayname:   Carol   # her own choice",
      `  ${dave}: { displayname: Dave, admin: false }`,
      "",
    ].join("\n");
    const dir = tempFiles({ "users.yaml": original });
    const file = join(dir, "users.yaml");
    const before = await runCli(["plan", file], env);
    expect(before.stdout).toMatch(/^No changes: the server matches the file\./);

    // By hand, as in an admin UI: a reactivation (no password needed since Synapse 1.99), a
    // rename to a name full of YAML syntax, a promotion.
    const hostile = 'Carol: the #1 "ops" lead\nand *more* & {things}';
    await client.modifyUser(id(bob), { deactivated: false });
    await client.modifyUser(id(carol), { displayname: hostile });
    await client.modifyUser(id(dave), { admin: true });

    const drift = await runCli(["drift", file], env);
    expect(drift.code).toBe(2);
    expect(drift.stdout).toMatch(/^Drift on .*: 1 reactivated, 2 attributes\.$/m);

    const printed = await runCli(["drift", file, "--format", "patch"], env);
    expect(printed.code).toBe(2);
    expect(printed.stderr).toContain("The patch takes 3 drifted users into");
    expect(printed.stdout).toContain(`-  ${bob}: deactivated   # keep the ID reserved`);
    expect(printed.stdout).toContain(`+  ${bob}: active # keep the ID reserved`);
    expect(printed.stdout).toContain(`-    displayname:   Carol   # her own choice`);
    expect(printed.stdout).toContain(
      `+    displayname: "Carol: the #1 \\"ops\\" lead\\nand *more* & {things}" # her own choice`,
    );
    expect(readFileSync(file, "utf8")).toBe(original); // printing writes nothing
    const [onePatch, ...more] = parsePatch(printed.stdout);
    expect(more).toEqual([]);
    expect(onePatch!.oldFileName).toBe(file);
    const appliedByHand = applyPatch(original, onePatch!);
    expect(appliedByHand).not.toBe(false);

    const written = await runCli(["drift", file, "--format", "patch", "--write"], env);
    expect(written.stderr).toContain(`wrote the patch to ${file}`);
    expect(written.code).toBe(0);
    const after = readFileSync(file, "utf8");
    // The printed patch is the one --write applied.
    expect(after).toBe(appliedByHand);
    for (const comment of [
      "# Accounts of the ops team",
      "# other tests share this server",
      "# left in May (ticket 12)",
      "# keep the ID reserved",
      "# her own choice",
    ])
      expect(after).toContain(comment);

    const again = await runCli(["drift", file], env);
    expect(again.stdout).toMatch(/^No drift: .* matches the file\.$/m);
    expect(again.code).toBe(0);
    const plan = await runCli(["plan", file, "--detailed-exitcode"], env);
    expect(plan.stdout).toMatch(/^No changes: the server matches the file\./);
    expect(plan.code).toBe(0);
    // What the server has is what the file now says, read back from the server.
    expect((await client.getUser(id(carol))).displayname).toBe(hostile);
  });

  it("an erased user reactivated on the server stays erased in the file: the patch leaves it, and apply erases it again", async () => {
    const erin = uniqueLocalpart("patch-erin");
    await client.createUser(id(erin), { displayname: "Erin" });
    await client.deactivate(id(erin), { erase: true });
    const original = `version: 1\npolicy:\n  unmanaged: ignore\nusers:\n  ${erin}: erased # GDPR request\n`;
    const dir = tempFiles({ "users.yaml": original });
    const file = join(dir, "users.yaml");
    // Synapse un-erases a user it reactivates.
    await client.modifyUser(id(erin), { deactivated: false });
    expect((await client.getUser(id(erin))).state).toBe("active");

    const written = await runCli(["drift", file, "--format", "patch", "--write"], env);
    expect(written.stdout).toBe("");
    expect(written.stderr).toContain(`Left as the file says: ${id(erin)} [reactivated]: the file says erased`);
    expect(written.stderr).toContain("nothing to write");
    expect(written.code).toBe(2); // the drift is still there
    expect(readFileSync(file, "utf8")).toBe(original);
    const plan = await runCli(["plan", file], env);
    expect(plan.stdout).toMatch(new RegExp(`! ${id(erin)}\\s+erase — IRREVERSIBLE`));
  });

  it("--write refuses a users file that is a symbolic link: one message, exit 1, nothing written", async () => {
    const gus = uniqueLocalpart("patch-gus");
    await client.createUser(id(gus), {});
    const original = `version: 1\npolicy:\n  unmanaged: ignore\nusers:\n  ${gus}: deactivated\n`;
    const dir = tempFiles({ "real.yaml": original });
    symlinkSync("real.yaml", join(dir, "users.yaml"));
    const run = await runCli(["drift", join(dir, "users.yaml"), "--format", "patch", "--write"], env);
    expect(run.stderr).toContain(
      "users.yaml is a symbolic link: --write replaces only regular files; nothing was written",
    );
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(run.code).toBe(1);
    expect(readFileSync(join(dir, "real.yaml"), "utf8")).toBe(original);
    expect(lstatSync(join(dir, "users.yaml")).isSymbolicLink()).toBe(true);
  });

  it("--write goes with --format patch only", async () => {
    const dir = tempFiles({ "users.yaml": "version: 1\nusers: {}\n" });
    const run = await runCli(["drift", join(dir, "users.yaml"), "--write"], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("--write goes with --format patch");
  });
});
