import { describe, expect, it } from "vitest";
import { planBackendMismatch, readPlanFile, writePlanFile } from "../../src/core/savedPlan.js";
import type { Plan } from "../../src/domain/plan.js";

const S = "example.org";
const TOKEN = "syt_test_token";
const NOW = Date.parse("2026-12-02T06:00:00Z");

function roundTrip(backend: string | undefined) {
  const plan = {
    serverName: S,
    ...(backend ? { backend } : {}),
    policy: { unmanaged: "ignore", maxDeactivations: 10, maxErasures: 5, protected: [] },
    actions: [],
    refusals: [],
    unmanaged: [],
    summary: { create: 0, update: 0, deactivate: 0, erase: 0, reactivate: 0 },
  } as Plan;
  const text = writePlanFile(
    {
      homeserver: "https://matrix.example.org",
      serverName: S,
      ownUserId: `@admin:${S}`,
      desired: { files: ["users.yaml"], sha256: "0".repeat(64) },
      plan,
    },
    TOKEN,
    { now: NOW },
  );
  return readPlanFile(text, "plan.json", TOKEN, NOW + 1000);
}

describe("a saved plan's accounts backend", () => {
  it("is refused through another backend than the one it was made through, with both named", () => {
    expect(planBackendMismatch(roundTrip("synapse"), "plan.json", "mas")).toBe(
      "plan.json was made through the synapse accounts backend, but this run's is mas; make the plan again (or pass the same --backend)",
    );
    expect(planBackendMismatch(roundTrip("mas"), "plan.json", "synapse")).toContain("made through the mas");
  });

  it("is applied through the same backend", () => {
    expect(planBackendMismatch(roundTrip("mas"), "plan.json", "mas")).toBeUndefined();
    expect(planBackendMismatch(roundTrip(undefined), "plan.json", "mas")).toBeUndefined();
  });
});
