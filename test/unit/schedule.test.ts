// Scheduled offboarding: the file's deactivateOn/eraseOn dates judged by an injected clock — the
// planner and drift before, on and after each date, what the reports say, and the loader's errors.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseDesiredState } from "../../src/config/load.js";
import { scheduleClock } from "../../src/core/clock.js";
import type { AccountState, ActualUser } from "../../src/domain/account.js";
import type { DesiredUser } from "../../src/domain/desired.js";
import type { Plan, PlanInput } from "../../src/domain/plan.js";
import { timeUntil } from "../../src/domain/schedule.js";
import { ToolError } from "../../src/errors.js";
import { detectDrift } from "../../src/plan/drift.js";
import { planUsers } from "../../src/plan/plan.js";
import { renderJson } from "../../src/report/json.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { renderPlanText } from "../../src/report/text.js";
import { planFromSnapshot, readSnapshot, writeSnapshot } from "../../src/snapshot/snapshot.js";
import { have, OWN, planInput, SERVER as S } from "../support/users.js";

const at = (iso: string) => Date.parse(iso);
const DAY = 24 * 60 * 60 * 1000;

/** The users as the loader reads them from `users:` lines. */
function load(users: string): Map<string, DesiredUser> {
  return parseDesiredState([{ name: "users.yaml", text: `version: 1\nusers:\n${users}` }], { serverName: S }).users;
}

const input = (
  desired: Map<string, DesiredUser>,
  actual: ActualUser[],
  now: number,
  policy: Partial<PlanInput["policy"]> = {},
): PlanInput => planInput(desired, actual, policy, { now });

/** One line per action: "deactivate active→deactivated due 2026-12-31", or "refused:CODE". */
function outcome(plan: Plan): string[] {
  if (plan.refusals.length > 0) return plan.refusals.map((r) => `refused:${r.code}`);
  return plan.actions.map((a) => `${a.kind} ${a.from}→${a.to}${a.due ? ` due ${a.due}` : ""}`);
}

const ERIN = `  erin:\n    displayname: Erin\n    deactivateOn: 2026-12-31\n    eraseOn: 2027-01-30\n`;

describe("the planner, with an injected clock: before, on and after each date", () => {
  type Row = [clock: string, server: AccountState | "absent", expected: string[], ahead: string[]];
  const rows: Row[] = [
    // Before the deactivation date: the file's state (active, with its attributes).
    ["2026-12-30T23:59:59Z", "active", [], ["deactivate 2026-12-31", "erase 2027-01-30"]],
    ["2026-12-30T23:59:59Z", "absent", ["create absent→active"], ["deactivate 2026-12-31", "erase 2027-01-30"]],
    [
      "2026-12-30T23:59:59Z",
      "deactivated",
      ["refused:reactivation-not-allowed"],
      ["deactivate 2026-12-31", "erase 2027-01-30"],
    ],
    // On the date (from 00:00 UTC) and after it: deactivated.
    ["2026-12-31T00:00:00Z", "active", ["deactivate active→deactivated due 2026-12-31"], ["erase 2027-01-30"]],
    ["2027-01-15T12:00:00Z", "active", ["deactivate active→deactivated due 2026-12-31"], ["erase 2027-01-30"]],
    ["2027-01-15T12:00:00Z", "deactivated", [], ["erase 2027-01-30"]],
    ["2027-01-15T12:00:00Z", "absent", ["create absent→deactivated due 2026-12-31"], ["erase 2027-01-30"]],
    // Never un-erase: the lifecycle table still decides.
    ["2027-01-15T12:00:00Z", "erased", ["refused:erased-to-deactivated"], ["erase 2027-01-30"]],
    // On the erasure date and after: erased, from wherever the server is.
    ["2027-01-30T00:00:00Z", "deactivated", ["erase deactivated→erased due 2027-01-30"], []],
    ["2027-02-01T00:00:00Z", "active", ["erase active→erased due 2027-01-30"], []],
    ["2027-02-01T00:00:00Z", "erased", [], []],
  ];
  it.each(rows)("at %s, a user %s on the server → %j", (clock, server, expected, ahead) => {
    const erin = { ...have("erin", server === "absent" ? "active" : server), displayname: "Erin" };
    const plan = planUsers(input(load(ERIN), server === "absent" ? [] : [erin], at(clock)));
    expect(outcome(plan)).toEqual(expected);
    expect(plan.scheduled!.map((s) => `${s.kind} ${s.on}`)).toEqual(ahead);
    expect(plan.now).toBe(new Date(at(clock)).toISOString());
  });

  it("keeps managing the attributes until the date, and not after", () => {
    const before = planUsers(input(load(ERIN), [have("erin", "active")], at("2026-12-01T00:00:00Z")));
    // The server's display name is "erin"; the file's is "Erin".
    expect(before.actions.map((a) => [a.kind, a.changes.map((c) => c.attribute)])).toEqual([
      ["update", ["displayname"]],
    ]);
    const after = planUsers(input(load(ERIN), [have("erin", "active")], at("2027-01-01T00:00:00Z")));
    expect(after.actions.map((a) => [a.kind, a.changes])).toEqual([["deactivate", []]]);
  });

  it("a date-time with its zone comes due at that moment", () => {
    const users = load(`  gus:\n    deactivateOn: 2026-12-31T18:00:00+01:00\n`);
    const just = (iso: string) => outcome(planUsers(input(users, [have("gus", "active")], at(iso))));
    expect(just("2026-12-31T16:59:59Z")).toEqual([]);
    expect(just("2026-12-31T17:00:00Z")).toEqual(["deactivate active→deactivated due 2026-12-31T18:00:00+01:00"]);
  });

  it("the retention case: deactivated now, erased after 30 days", () => {
    const users = load(`  hal:\n    state: deactivated\n    eraseOn: 2027-01-01\n`);
    const plan = (iso: string) => planUsers(input(users, [have("hal", "active")], at(iso)));
    expect(outcome(plan("2026-12-02T00:00:00Z"))).toEqual(["deactivate active→deactivated"]);
    expect(outcome(plan("2027-01-01T00:00:00Z"))).toEqual(["erase active→erased due 2027-01-01"]);
  });

  it("what comes due counts against the limits and the guards, like any other action", () => {
    const users = load(
      ["a", "b", "c"].map((l) => `  ${l}:\n    eraseOn: 2027-01-01\n`).join("") +
        `  admin:\n    deactivateOn: 2027-01-01\n`,
    );
    const actual = ["a", "b", "c"].map((l) => have(l, "active"));
    const before = planUsers(input(users, actual, at("2026-12-31T00:00:00Z"), { maxErasures: 2 }));
    expect(before.refusals).toEqual([]);
    const after = planUsers(input(users, actual, at("2027-01-01T00:00:00Z"), { maxErasures: 2 }));
    expect(outcome(after)).toEqual(["refused:own-user", "refused:max-erasures"]);
  });

  it("lists what is scheduled by date, then user", () => {
    const users = load(`  zed:\n    deactivateOn: 2027-01-01\n  amy:\n    deactivateOn: 2027-03-01\n${ERIN}`);
    const plan = planUsers(input(users, [], at("2026-12-02T04:19:00Z")));
    expect(plan.scheduled!.map((s) => `${s.userId} ${s.kind} ${s.at}`)).toEqual([
      `@erin:${S} deactivate 2026-12-31T00:00:00.000Z`,
      `@zed:${S} deactivate 2027-01-01T00:00:00.000Z`,
      `@erin:${S} erase 2027-01-30T00:00:00.000Z`,
      `@amy:${S} deactivate 2027-03-01T00:00:00.000Z`,
    ]);
  });
});

describe("drift, with an injected clock", () => {
  const drift = (clock: string, server: AccountState) =>
    detectDrift(input(load(ERIN), [{ ...have("erin", server), displayname: "Erin" }], at(clock))).items.map(
      (i) => `${i.class} ${i.expected}/${i.actual}`,
    );

  it("a scheduled step not yet due is not drift", () => {
    expect(drift("2026-12-30T23:59:59Z", "active")).toEqual([]);
  });

  it("a due step not carried out is drift of its own class, with what makes it due", () => {
    expect(drift("2026-12-31T00:00:00Z", "active")).toEqual(["due deactivated/active"]);
    expect(drift("2027-01-30T00:00:00Z", "active")).toEqual(["due erased/active"]);
    expect(drift("2027-01-30T00:00:00Z", "deactivated")).toEqual(["due erased/deactivated"]);
    const [item] = detectDrift(input(load(ERIN), [have("erin", "active")], at("2027-01-01T00:00:00Z"))).items;
    expect(item?.hint).toBe("the file schedules it for 2026-12-31, and that date has passed; apply carries it out");
  });

  it("done is no drift; a server ahead of the schedule is", () => {
    expect(drift("2027-01-01T00:00:00Z", "deactivated")).toEqual([]);
    expect(drift("2027-02-01T00:00:00Z", "erased")).toEqual([]);
    expect(drift("2026-12-01T00:00:00Z", "deactivated")).toEqual(["deactivated-out-of-band active/deactivated"]);
    expect(drift("2027-01-01T00:00:00Z", "erased")).toEqual(["erasure deactivated/erased"]);
  });
});

describe("the reports say what is scheduled and when", () => {
  const now = at("2026-12-02T04:19:00Z");
  const users = load(
    `${ERIN}  hal:\n    state: deactivated\n    eraseOn: 2026-12-14\n  ivy:\n    deactivateOn: 2026-12-01\n`,
  );
  const erin = { ...have("erin", "active"), displayname: "Erin" };
  const plan = planUsers(input(users, [erin, have("hal", "deactivated"), have("ivy", "active")], now));

  it("as text", () => {
    const text = renderPlanText({ command: "plan", plan });
    expect(text).toContain(`  - @ivy:${S}  deactivate (scheduled for 2026-12-01, due)\n`);
    expect(text).toContain(
      [
        "Scheduled by the file, not due yet (3, as of 2026-12-02T04:19:00.000Z):",
        `    @hal:${S}  erase on 2026-12-14 (in 12 days)`,
        `    @erin:${S}  deactivate on 2026-12-31 (in 29 days)`,
        `    @erin:${S}  erase on 2027-01-30 (in 59 days)`,
      ].join("\n"),
    );
  });

  it("as Markdown", () => {
    const md = renderMarkdown({ command: "plan", plan });
    expect(md).toContain(`| ⛔ | \`@ivy:${S}\` | deactivate (scheduled for \`2026-12-01\`, due) |  |`);
    expect(md).toContain("#### 📅 Scheduled by the file, not due yet (3, as of `2026-12-02T04:19:00.000Z`)");
    expect(md).toContain(`- \`@hal:${S}\`: erase on \`2026-12-14\` (in 12 days)`);
  });

  it("as JSON: the clock, the due date of an action, and the steps to come", () => {
    const json = JSON.parse(renderJson({ command: "plan", plan }));
    expect(json.now).toBe("2026-12-02T04:19:00.000Z");
    expect(json.actions).toMatchObject([{ kind: "deactivate", userId: `@ivy:${S}`, due: "2026-12-01" }]);
    expect(json.scheduled).toEqual([
      { userId: `@hal:${S}`, kind: "erase", on: "2026-12-14", at: "2026-12-14T00:00:00.000Z" },
      { userId: `@erin:${S}`, kind: "deactivate", on: "2026-12-31", at: "2026-12-31T00:00:00.000Z" },
      { userId: `@erin:${S}`, kind: "erase", on: "2027-01-30", at: "2027-01-30T00:00:00.000Z" },
    ]);
  });

  it("counts time left in days, or hours and minutes on the last day", () => {
    const t0 = at("2026-12-30T00:00:00Z");
    expect(timeUntil(t0 + DAY, t0)).toBe("in 1 day");
    expect(timeUntil(t0 + DAY + 1, t0)).toBe("in 2 days");
    expect(timeUntil(t0 + 5 * 60 * 60 * 1000, t0)).toBe("in 5 hours");
    expect(timeUntil(t0 + 61_000, t0)).toBe("in 2 minutes");
    expect(timeUntil(t0 + 1, t0)).toBe("in 1 minute");
  });
});

describe("the users file: dates and their contradictions", () => {
  function issues(users: string): string[] {
    try {
      load(users);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    }
    throw new Error("expected a ConfigError");
  }

  it("reads a date as due from 00:00 UTC, and a date-time at its moment", () => {
    const users = load(`  a:\n    deactivateOn: 2026-12-31\n    eraseOn: "2027-01-30T18:00:00+01:00"\n  b: active\n`);
    expect(users.get(`@a:${S}`)!.schedule).toEqual({
      deactivate: { on: "2026-12-31", at: at("2026-12-31T00:00:00Z") },
      erase: { on: "2027-01-30T18:00:00+01:00", at: at("2027-01-30T17:00:00Z") },
    });
    expect(users.get(`@b:${S}`)!.schedule).toBeUndefined();
  });

  it("refuses an erasure before the deactivation, at the erasure's key", () => {
    expect(issues(`  a:\n    deactivateOn: 2026-12-31\n    eraseOn: 2026-12-30\n`)).toEqual([
      "5:5 users.a.eraseOn: eraseOn 2026-12-30 is before deactivateOn 2026-12-31: an account is erased on or after its deactivation",
    ]);
  });

  it("refuses a date that the state has already passed", () => {
    expect(issues(`  a:\n    state: deactivated\n    deactivateOn: 2026-12-31\n`)).toEqual([
      "5:5 users.a.deactivateOn: a is deactivated already: remove deactivateOn, or write state: active to deactivate it on that date",
    ]);
    expect(issues(`  a:\n    state: erased\n    deactivateOn: 2026-12-31\n    eraseOn: 2027-01-01\n`)).toEqual([
      "5:5 users.a.deactivateOn: a is erased already: nothing is left to schedule (remove deactivateOn)",
      "6:5 users.a.eraseOn: a is erased already: nothing is left to schedule (remove eraseOn)",
    ]);
  });

  it("refuses what is not a date, or a date-time without its zone, at the value", () => {
    expect(
      issues(`  a:\n    deactivateOn: 2026-02-30\n  b:\n    eraseOn: 2026-12-31T10:00:00\n  c:\n    eraseOn: 5\n`),
    ).toEqual([
      '4:19 users.a.deactivateOn: expected a date (2026-12-31, due at 00:00 UTC) or a date-time with its zone (2026-12-31T18:00:00+01:00), got "2026-02-30"',
      '6:14 users.b.eraseOn: expected a date (2026-12-31, due at 00:00 UTC) or a date-time with its zone (2026-12-31T18:00:00+01:00), got "2026-12-31T10:00:00"',
      "8:14 users.c.eraseOn: expected a date (2026-12-31, due at 00:00 UTC) or a date-time with its zone (2026-12-31T18:00:00+01:00), got number",
    ]);
  });
});

describe("the schedule's clock (core)", () => {
  const io = (value: string | undefined) => {
    const err: string[] = [];
    return { io: { env: { SYNAPSE_GITOPS_NOW: value }, now: () => 1_000, err: (t: string) => err.push(t) }, err };
  };

  it("is the real time unless SYNAPSE_GITOPS_NOW sets it, which it then says", () => {
    const real = io(undefined);
    expect(scheduleClock(real.io)).toBe(1_000);
    expect(real.err).toEqual([]);
    const set = io("2027-01-31T00:00:00+01:00");
    expect(scheduleClock(set.io)).toBe(at("2027-01-30T23:00:00Z"));
    expect(set.err.join("")).toMatch(/as of 2027-01-30T23:00:00.000Z \(SYNAPSE_GITOPS_NOW\), not the real time/);
  });

  it("refuses a value without a zone or that is no date", () => {
    for (const value of ["2027-01-31", "2027-01-31T00:00:00", "tomorrow"]) {
      expect(() => scheduleClock(io(value).io)).toThrow(ToolError);
    }
  });
});

describe("the README's retention example", () => {
  it("is a valid file whose dates do what the README says", () => {
    const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
    const yaml = readme.match(
      /<!-- schedule-example:start -->\n```yaml\n([\s\S]*?)```\n<!-- schedule-example:end -->/,
    )?.[1];
    expect(yaml, "README.md lost its schedule-example markers").toBeDefined();
    const users = parseDesiredState([{ name: "README.md", text: `version: 1\n${yaml}` }], { serverName: S }).users;
    const actual = ["erin", "frank", "grace"].map((l) => ({ ...have(l, "active"), displayname: "Erin Example" }));
    const plan = (iso: string) => outcome(planUsers(input(users, actual, at(iso))));
    expect(plan("2026-12-02T00:00:00Z")).toEqual(["deactivate active→deactivated"]); // frank, now
    expect(plan("2026-12-31T17:00:00Z")).toEqual([
      "deactivate active→deactivated due 2026-12-31",
      "deactivate active→deactivated",
      "deactivate active→deactivated due 2026-12-31T18:00:00+01:00",
    ]);
    expect(plan("2027-01-30T00:00:00Z")).toEqual([
      "erase active→erased due 2027-01-30",
      "erase active→erased due 2027-01-01",
      "deactivate active→deactivated due 2026-12-31T18:00:00+01:00",
    ]);
  });
});

describe("a pull request's plan, against an inventory snapshot", () => {
  it("judges the dates by the clock it is given, as a live plan does", () => {
    const users = [
      { ...have("erin", "active"), displayname: "Erin" },
      { ...have("admin", "active"), admin: true },
    ];
    const meta = {
      serverName: S,
      homeserver: "https://matrix.example.org",
      ownUserId: OWN,
      takenAt: "2026-12-01T00:00:00Z",
    };
    const snapshot = readSnapshot(writeSnapshot(users, { ...meta, salt: "ab".repeat(32) }), "inventory.json");
    const policy = { unmanaged: "ignore", maxDeactivations: 10, maxErasures: 5, protected: [] } as const;
    const before = planFromSnapshot(
      snapshot,
      load(ERIN),
      { ...policy, protected: [] },
      at("2026-12-02T00:00:00Z"),
    ).plan;
    expect(outcome(before)).toEqual([]);
    expect(before.scheduled!.map((s) => s.kind)).toEqual(["deactivate", "erase"]);
    const after = planFromSnapshot(snapshot, load(ERIN), { ...policy, protected: [] }, at("2027-01-30T00:00:00Z")).plan;
    expect(outcome(after)).toEqual(["erase active→erased due 2027-01-30"]);
  });
});
