// Scheduled offboarding as properties, over random schedules, server states and clocks: a scheduled
// user is planned exactly as the same user written with the state its dates give it at that clock;
// what is listed as scheduled is exactly the dates still to come; and nothing is ever planned from
// an erased account.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AccountState } from "../../src/domain/account.js";
import type { DesiredUser } from "../../src/domain/desired.js";
import type { Plan, PlanInput } from "../../src/domain/plan.js";
import { scheduledDate } from "../../src/domain/schedule.js";
import { detectDrift } from "../../src/plan/drift.js";
import { planUsers } from "../../src/plan/plan.js";
import { actualUser } from "../support/users.js";

const S = "example.org";
const OWN = `@admin:${S}`;
const RUNS = { numRuns: 400, seed: 0x5eed_0015 } as const;
const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse("2027-01-01T00:00:00Z");

const isoDay = (day: number) => new Date(T0 + day * DAY).toISOString().slice(0, 10);

function input(want: DesiredUser, server: AccountState | "absent", now: number): PlanInput {
  const admin = actualUser(OWN, "active", { admin: true });
  const actual = [admin];
  if (server !== "absent") actual.push({ ...admin, userId: want.userId, state: server, admin: false });
  return {
    desired: new Map([[want.userId, want]]),
    actual: new Map(actual.map((a) => [a.userId, a])),
    serverName: S,
    ownUserId: OWN,
    policy: { unmanaged: "ignore", maxDeactivations: 10, maxErasures: 5, protected: [] },
    now,
  };
}

/** The plan without what only a schedule adds (the clock, the list, each action's due date). */
function core(plan: Plan) {
  const { now: _n, scheduled: _s, ...rest } = plan;
  return { ...rest, actions: rest.actions.map(({ due: _d, ...a }) => a) };
}

const world = fc
  .record({
    state: fc.constantFrom<AccountState>("active", "deactivated"),
    server: fc.constantFrom<AccountState | "absent">("absent", "active", "deactivated", "erased"),
    deactivate: fc.option(fc.integer({ min: -5, max: 5 }), { nil: undefined }),
    eraseAfter: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    // The clock, in hours from T0: before, on and after each date.
    hour: fc.integer({ min: -7 * 24, max: 12 * 24 }),
  })
  .filter((w) => !(w.state === "deactivated" && w.deactivate !== undefined))
  .filter((w) => w.deactivate !== undefined || w.eraseAfter !== undefined);

describe("scheduled offboarding, as properties", () => {
  it("plans a scheduled user as the state its dates give it at the clock; lists exactly the dates to come", () => {
    fc.assert(
      fc.property(world, (w) => {
        const now = T0 + w.hour * 60 * 60 * 1000;
        const deactivate = w.deactivate === undefined ? undefined : scheduledDate(isoDay(w.deactivate));
        const eraseDay = w.eraseAfter === undefined ? undefined : (w.deactivate ?? 0) + w.eraseAfter;
        const erase = eraseDay === undefined ? undefined : scheduledDate(isoDay(eraseDay));
        const base: DesiredUser = {
          userId: `@u:${S}`,
          index: 0,
          state: w.state,
          allowReactivation: false,
          source: { file: "users.yaml", line: 3, column: 3 },
        };
        const scheduled: DesiredUser = {
          ...base,
          schedule: { ...(deactivate && { deactivate }), ...(erase && { erase }) },
        };
        // The oracle: the state written out by hand.
        const expected: AccountState =
          erase && erase.at <= now ? "erased" : deactivate && deactivate.at <= now ? "deactivated" : w.state;
        const plan = planUsers(input(scheduled, w.server, now));
        expect(core(plan)).toEqual(core(planUsers(input({ ...base, state: expected }, w.server, now))));
        // Drift agrees the same way: a date to come is no drift, a passed one is.
        const drift = detectDrift(input(scheduled, w.server, now));
        const plain = detectDrift(input({ ...base, state: expected }, w.server, now));
        expect(drift.drifted).toBe(plain.drifted);
        const ahead: string[] = [];
        if (deactivate && deactivate.at > now) ahead.push(`deactivate ${deactivate.on}`);
        if (erase && erase.at > now) ahead.push(`erase ${erase.on}`);
        expect(plan.scheduled!.map((s) => `${s.kind} ${s.on}`)).toEqual(ahead);
        for (const action of plan.actions) {
          expect(action.from).not.toBe("erased");
          expect(action.due !== undefined).toBe(expected !== w.state);
        }
      }),
      RUNS,
    );
  });
});
