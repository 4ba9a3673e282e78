import { describe, expect, it } from "vitest";
import type { Policy } from "../../src/domain/policy.js";
import { policyChanges } from "../../src/plan/policy.js";

const base: Policy = { unmanaged: "report", maxDeactivations: 10, maxErasures: 5, protected: ["@root:x", "@*-bot:x"] };

describe("policyChanges: what a pull request does to the safety policy", () => {
  it("an unchanged policy has no changes", () => {
    expect(policyChanges(base, { ...base, protected: [...base.protected] })).toEqual([]);
  });

  it("the loosening that used to plan as 'No changes' is three loosenings", () => {
    const head: Policy = { unmanaged: "deactivate", maxDeactivations: 100000, maxErasures: 5, protected: [] };
    const changes = policyChanges(base, head);
    expect(changes.map((c) => [c.description, c.loosens])).toEqual([
      ["unmanaged report → deactivate", true],
      ["maxDeactivations 10 → 100000", true],
      ["protected no longer lists @root:x", true],
      ["protected no longer lists @*-bot:x", true],
    ]);
  });

  it("tightening is shown, not flagged", () => {
    const head: Policy = {
      unmanaged: "report",
      maxDeactivations: 2,
      maxErasures: 0,
      protected: [...base.protected, "@ops:x"],
    };
    const changes = policyChanges(base, head);
    expect(changes.every((c) => !c.loosens)).toBe(true);
    expect(changes.map((c) => c.description)).toEqual([
      "maxDeactivations 10 → 2",
      "maxErasures 5 → 0",
      "protected now lists @ops:x",
    ]);
  });

  it("report → ignore loosens: unmanaged users vanish from every report", () => {
    expect(policyChanges(base, { ...base, unmanaged: "ignore" })).toEqual([
      { setting: "unmanaged", description: "unmanaged report → ignore", loosens: true },
    ]);
  });
});
