import { describe, expect, it } from "vitest";
import { workflowEnv } from "../../src/action/env.js";
import { changingClock, savedClockProblem } from "../../src/core/clock.js";

const REAL = Date.parse("2026-12-02T06:00:00Z");
const io = (env: NodeJS.ProcessEnv) => ({ env, now: () => REAL, err: () => {} });

describe("the schedule's clock override (SYNAPSE_GITOPS_NOW)", () => {
  it("a run that changes the server refuses it without --clock-from-env, and takes it with", () => {
    const set = io({ SYNAPSE_GITOPS_NOW: "2031-01-01T00:00:00Z" });
    expect(() => changingClock(set, undefined, "apply")).toThrow(
      "SYNAPSE_GITOPS_NOW is set: apply does not judge scheduled dates by it without --clock-from-env",
    );
    expect(changingClock(set, true, "apply")).toBe(Date.parse("2031-01-01T00:00:00Z"));
    expect(changingClock(io({}), undefined, "apply")).toBe(REAL);
  });

  it("refuses a saved plan made at a clock later than the real time beyond a minute, unless allowed", () => {
    expect(savedClockProblem("2031-01-01T00:00:00.000Z", REAL, undefined)).toContain("--clock-from-env");
    expect(savedClockProblem("2031-01-01T00:00:00.000Z", REAL, true)).toBeUndefined();
    expect(savedClockProblem("2026-12-02T06:00:30.000Z", REAL, undefined)).toBeUndefined();
    expect(savedClockProblem("2026-12-02T06:01:01.000Z", REAL, undefined)).toBeDefined();
    expect(savedClockProblem(undefined, REAL, undefined)).toBeUndefined();
  });

  it("the Action never passes it to the core, and warns when a workflow sets it", () => {
    const warnings: string[] = [];
    const env = workflowEnv({ SYNAPSE_GITOPS_NOW: "2031-01-01T00:00:00Z", PATH: "/bin" }, "tok", (t) =>
      warnings.push(t),
    );
    expect(env.SYNAPSE_GITOPS_NOW).toBeUndefined();
    expect(env.SYNAPSE_ADMIN_TOKEN).toBe("tok");
    expect(env.PATH).toBe("/bin");
    expect(warnings).toEqual([
      "SYNAPSE_GITOPS_NOW is set but the Action ignores it: scheduled dates are judged by the real time",
    ]);
    expect(workflowEnv({}, undefined, (t) => warnings.push(t)).SYNAPSE_GITOPS_NOW).toBeUndefined();
    expect(warnings).toHaveLength(1);
  });
});
