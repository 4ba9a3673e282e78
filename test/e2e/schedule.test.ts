// Scheduled offboarding against the real Synapse: the built CLI with its clock injected through
// SYNAPSE_GITOPS_NOW. Before the dates nothing happens and the plan says when; after the deactivation
// date apply deactivates, after the erasure date it erases; drift tells a step to come from a due
// one; and a plan saved before a date does not act after it.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { AccountState } from "../../src/domain/account.js";
import type { SynapseClient } from "../../src/synapse/client.js";
import { runCli, serverEnv, tempFiles } from "../support/cli.js";
import { clientFor, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
let client: SynapseClient;
beforeAll(() => {
  client = clientFor(server);
});
afterAll(() => client.close());

const id = (localpart: string) => `@${localpart}:${server.serverName}`;
const at = (now: string) => ({ ...serverEnv(server), SYNAPSE_GITOPS_NOW: now });

async function stateOf(localpart: string): Promise<AccountState | "absent"> {
  return (await client.findUser(id(localpart)))?.state ?? "absent";
}

/** Dates far from the real clock, so that only the injected one can make them due. */
const DEACTIVATE_ON = "2031-03-10";
const ERASE_ON = "2031-04-09";

function usersFile(...localparts: string[]): string {
  const users = localparts
    .map((u) => `  ${u}:\n    displayname: Leaver\n    deactivateOn: ${DEACTIVATE_ON}\n    eraseOn: ${ERASE_ON}\n`)
    .join("");
  return `version: 1\npolicy:\n  unmanaged: ignore\nusers:\n${users}`;
}

describe("scheduled deactivation and erasure, with an injected clock", () => {
  it("does nothing before the dates and says when; deactivates once the first has passed, erases after the second", async () => {
    const u = uniqueLocalpart("leaver");
    await client.createUser(id(u), { displayname: "Leaver" });
    const file = join(tempFiles({ "users.yaml": usersFile(u) }), "users.yaml");

    // Before: the plan is empty, says what is scheduled and when, and apply changes nothing.
    const before = at("2031-03-01T12:00:00Z");
    const plan = await runCli(["plan", file, "--detailed-exitcode"], before);
    expect(plan.code).toBe(0);
    expect(plan.stderr).toContain(
      "note: scheduled dates are judged as of 2031-03-01T12:00:00.000Z (SYNAPSE_GITOPS_NOW), not the real time",
    );
    expect(plan.stdout).toContain("No changes: the server matches the file.");
    expect(plan.stdout).toContain(
      [
        "Scheduled by the file, not due yet (2, as of 2031-03-01T12:00:00.000Z):",
        `    ${id(u)}  deactivate on ${DEACTIVATE_ON} (in 9 days)`,
        `    ${id(u)}  erase on ${ERASE_ON} (in 39 days)`,
      ].join("\n"),
    );
    const json = JSON.parse((await runCli(["plan", file, "--format", "json"], before)).stdout);
    expect(json).toMatchObject({ now: "2031-03-01T12:00:00.000Z", changes: false, actions: [] });
    expect(json.scheduled).toEqual([
      { userId: id(u), kind: "deactivate", on: DEACTIVATE_ON, at: "2031-03-10T00:00:00.000Z" },
      { userId: id(u), kind: "erase", on: ERASE_ON, at: "2031-04-09T00:00:00.000Z" },
    ]);
    const md = (await runCli(["plan", file, "--format", "markdown"], before)).stdout;
    expect(md).toContain(`- \`${id(u)}\`: deactivate on \`${DEACTIVATE_ON}\` (in 9 days)`);
    const early = await runCli(["apply", file, "--yes", "--clock-from-env"], before);
    expect(early.code).toBe(0);
    expect(await stateOf(u)).toBe("active");
    // A date still to come is not drift.
    expect((await runCli(["drift", file], before)).code).toBe(0);

    // The deactivation date has passed: drift reports it due, apply carries it out.
    const deactivateDay = at("2031-03-10T00:00:00Z");
    const due = await runCli(["drift", file], deactivateDay);
    expect(due.code).toBe(2);
    expect(due.stdout).toContain(`${id(u)}: file says deactivated, server has active`);
    expect(due.stdout).toContain("[due]");
    const deactivate = await runCli(["apply", file, "--yes", "--clock-from-env"], deactivateDay);
    expect(deactivate.code).toBe(0);
    expect(deactivate.stdout).toContain(`- ${id(u)}  deactivate (scheduled for ${DEACTIVATE_ON}, due)`);
    expect(deactivate.stdout).toContain(`    ${id(u)}  erase on ${ERASE_ON} (in 30 days)`);
    expect(deactivate.stdout).toMatch(/^Apply: 1 done, 0 failed, 0 stale\.$/m);
    expect(await stateOf(u)).toBe("deactivated");
    expect((await runCli(["drift", file], deactivateDay)).code).toBe(0);

    // The erasure date has passed: apply erases, and then nothing is left to do.
    const eraseDay = at("2031-04-09T08:00:00+02:00");
    const erase = await runCli(["apply", file, "--yes", "--clock-from-env"], eraseDay);
    expect(erase.code).toBe(0);
    expect(erase.stdout).toContain(`! ${id(u)}  erase (scheduled for ${ERASE_ON}, due) — IRREVERSIBLE`);
    expect(await stateOf(u)).toBe("erased");
    const after = await runCli(["plan", file, "--detailed-exitcode"], eraseDay);
    expect(after.code).toBe(0);
    expect(after.stdout).not.toContain("Scheduled");
    expect((await runCli(["drift", file], eraseDay)).code).toBe(0);
  });

  it("a plan saved before the date does not act after it", async () => {
    const u = uniqueLocalpart("saved");
    await client.createUser(id(u), { displayname: "Leaver" });
    const dir = tempFiles({ "users.yaml": usersFile(u) });
    const file = join(dir, "users.yaml");
    const planFile = join(dir, "plan.json");

    const saved = await runCli(["plan", file, "--out", planFile, "--clock-from-env"], at("2031-03-09T23:59:59Z"));
    expect(saved.code).toBe(0);
    expect(saved.stdout).toContain("No changes");

    const applied = await runCli(
      ["apply", file, "--plan", planFile, "--yes", "--clock-from-env"],
      at("2031-04-10T00:00:00Z"),
    );
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain(
      `note: ${id(u)}'s deactivate (scheduled for ${DEACTIVATE_ON}) came due after ${planFile} was made (as of 2031-03-09T23:59:59.000Z); it is not in this plan and is not carried out: run plan again`,
    );
    expect(applied.stderr).toContain(`note: ${id(u)}'s erase (scheduled for ${ERASE_ON}) came due after`);
    expect(applied.stdout).toContain("No changes");
    expect(await stateOf(u)).toBe("active");

    // Planned again at that clock, the due erasure is in the plan, under the limits like any other.
    const limited = await runCli(
      ["apply", file, "--yes", "--clock-from-env", "--max-erasures", "0"],
      at("2031-04-10T00:00:00Z"),
    );
    expect(limited.code).toBe(1);
    expect(limited.stdout).toContain("erases 1 users, over the limit of 0");
    expect(await stateOf(u)).toBe("active");
  });

  it("apply and plan --out refuse SYNAPSE_GITOPS_NOW without --clock-from-env; apply --plan refuses a plan made at a later clock", async () => {
    const u = uniqueLocalpart("clockguard");
    await client.createUser(id(u), { displayname: "Leaver" });
    const dir = tempFiles({ "users.yaml": usersFile(u) });
    const file = join(dir, "users.yaml");
    const planFile = join(dir, "plan.json");
    const refusal = "SYNAPSE_GITOPS_NOW is set: apply does not judge scheduled dates by it without --clock-from-env";

    const live = await runCli(["apply", file, "--yes"], at("2031-04-10T00:00:00Z"));
    expect(live.code).toBe(1);
    expect(live.stderr).toContain(refusal);
    expect(live.stderr).not.toMatch(/\n\s+at /);
    expect(await stateOf(u)).toBe("active");

    const out = await runCli(["plan", file, "--out", planFile], at("2031-04-10T00:00:00Z"));
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("SYNAPSE_GITOPS_NOW is set: plan --out does not judge");
    expect(existsSync(planFile)).toBe(false);

    // A plan sealed at a future clock (with the flag), applied without it: refused, with or without the variable.
    expect((await runCli(["plan", file, "--out", planFile, "--clock-from-env"], at("2031-04-10T00:00:00Z"))).code).toBe(
      0,
    );
    const withVar = await runCli(["apply", file, "--plan", planFile, "--yes"], at("2031-04-10T00:00:00Z"));
    expect(withVar.code).toBe(1);
    expect(withVar.stderr).toContain("SYNAPSE_GITOPS_NOW is set: apply --plan does not judge");
    const real = await runCli(["apply", file, "--plan", planFile, "--yes"], serverEnv(server));
    expect(real.code).toBe(1);
    expect(real.stderr).toContain(
      `${planFile}: it was made with its scheduled dates judged as of 2031-04-10T00:00:00.000Z, later than the real time (SYNAPSE_GITOPS_NOW); pass --clock-from-env to apply it anyway. Nothing was applied.`,
    );
    expect(await stateOf(u)).toBe("active");
  });

  it("refuses a schedule that contradicts itself, at its line and column, and changes nothing", async () => {
    const u = uniqueLocalpart("contradiction");
    await client.createUser(id(u), { displayname: "Leaver" });
    const file = join(
      tempFiles({
        "users.yaml": `version: 1\nusers:\n  ${u}:\n    deactivateOn: 2031-03-10\n    eraseOn: 2031-03-09\n`,
      }),
      "users.yaml",
    );
    const valid = join(tempFiles({ "users.yaml": usersFile(u) }), "users.yaml");
    expect((await runCli(["validate", valid])).stdout).toBe(
      `${valid}: valid — 1 users (1 active, 0 deactivated, 0 erased; 1 with a deactivateOn or eraseOn date)\n`,
    );
    const run = await runCli(["apply", file, "--yes", "--clock-from-env"], at("2031-04-10T00:00:00Z"));
    expect(run.code).toBe(1);
    // After the note that the clock is injected: one line, no stack trace.
    expect(run.stderr.slice(run.stderr.indexOf("\n") + 1)).toBe(
      `error: ${file}:5:5 users.${u}.eraseOn: eraseOn 2031-03-09 is before deactivateOn 2031-03-10: an account is erased on or after its deactivation\n`,
    );
    expect(await stateOf(u)).toBe("active");
  });
});
