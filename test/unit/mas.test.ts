// The MAS backend's pure parts: the planner's MAS refusals, drift's two MAS classes, the provider
// mapping, and the reports naming the backend. No server.
import { describe, expect, it } from "vitest";
import { providerResolver, withMasProviders } from "../../src/accounts/mas.js";
import type { AccountState, ActualUser } from "../../src/domain/account.js";
import type { DesiredUser } from "../../src/domain/desired.js";
import type { PlanInput } from "../../src/domain/plan.js";
import { detectDrift } from "../../src/plan/drift.js";
import { planUsers } from "../../src/plan/plan.js";
import { renderDriftJson, renderDriftMarkdown, renderDriftText } from "../../src/report/drift.js";
import { renderJson } from "../../src/report/json.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { renderPlanText } from "../../src/report/text.js";
import { have as haveUser, OWN, planInput, readInFull, SERVER as S, want } from "../support/users.js";

const P1 = "01JPROVIDER00000000000000A";
const P2 = "01JPROVIDER00000000000000B";
const P3 = "01JPROVIDER00000000000000C";

const resolve = providerResolver([
  { id: P1, issuer: "https://a.example/", humanName: "Staff SSO", disabled: false },
  { id: P2, issuer: "https://b.example/", humanName: "Twin", disabled: false },
  { id: P3, issuer: "https://c.example/", humanName: "Twin", disabled: false },
]);
const masBackend = {
  name: "mas",
  passwordLogin: true,
  providerProblem: (name: string) => {
    const r = resolve(name);
    return "problem" in r ? r.problem : undefined;
  },
};

/** Users as MAS lists them: read in full. */
const have = (localpart: string, state: AccountState, extra: Partial<ActualUser> = {}): ActualUser =>
  haveUser(localpart, state, { ...readInFull(), ...extra });

function input(
  desired: DesiredUser[],
  actual: ActualUser[],
  extra: Partial<PlanInput> = {},
  policy: Partial<PlanInput["policy"]> = {},
): PlanInput {
  return planInput(desired, actual, policy, {
    admin: have("admin", "active", { admin: true }),
    backend: masBackend,
    now: Date.UTC(2026, 0, 1),
    ...extra,
  });
}

describe("the planner under MAS", () => {
  it("refuses to write a user that lives only in Synapse, and leaves one alone when nothing would change", () => {
    const plan = planUsers(
      input(
        [want("bridge", "deactivated"), want("legacy", "active", { displayname: "New" }), want("same", "active")],
        [
          have("bridge", "active", { synapseOnly: true }),
          have("legacy", "active", { synapseOnly: true }),
          have("same", "active", { synapseOnly: true }),
        ],
      ),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.refusals.map((r) => [r.code, r.userId])).toEqual([
      ["synapse-only", `@bridge:${S}`],
      ["synapse-only", `@legacy:${S}`],
    ]);
    expect(plan.backend).toBe("mas");
  });

  it("spares Synapse-only users from `unmanaged: deactivate`, saying why", () => {
    const plan = planUsers(
      input(
        [],
        [have("ghost", "active", { synapseOnly: true, appserviceId: undefined }), have("stray", "active")],
        {},
        {
          unmanaged: "deactivate",
        },
      ),
    );
    expect(plan.unmanaged.find((u) => u.userId === `@ghost:${S}`)?.exempt).toBe("synapse-only");
    expect(plan.actions.map((a) => a.userId)).toEqual([`@stray:${S}`]);
  });

  it("refuses a password when MAS's password login is off, and only then", () => {
    const desired = [want("new", "active", { password: { env: "PW" } })];
    const off = planUsers(input(desired, [], { backend: { ...masBackend, passwordLogin: false } }));
    expect(off.refusals.map((r) => r.code)).toEqual(["password-login-disabled"]);
    expect(off.actions).toEqual([]);
    const on = planUsers(input(desired, []));
    expect(on.refusals).toEqual([]);
    expect(on.actions.map((a) => a.kind)).toEqual(["create"]);
  });

  it("refuses an external ID whose provider MAS does not know, or knows twice", () => {
    const plan = planUsers(
      input(
        [
          want("a", "active", { externalIds: [{ provider: "Nowhere", id: "1" }] }),
          want("b", "active", { externalIds: [{ provider: "Twin", id: "2" }] }),
          want("c", "active", { externalIds: [{ provider: P1, id: "3" }] }),
        ],
        [have("a", "active"), have("b", "active"), have("c", "active")],
      ),
    );
    expect(plan.refusals.map((r) => [r.code, r.userId])).toEqual([
      ["unknown-provider", `@a:${S}`],
      ["unknown-provider", `@b:${S}`],
    ]);
    expect(plan.refusals[1]!.message).toContain(P2);
    expect(plan.actions.map((a) => a.userId)).toEqual([`@c:${S}`]);
  });

  it("the lifecycle refusals are the same as on Synapse", () => {
    const plan = planUsers(
      input(
        [want("e1", "active"), want("e2", "deactivated"), want("d", "active")],
        [have("e1", "erased"), have("e2", "erased"), have("d", "deactivated")],
      ),
    );
    expect(plan.refusals.map((r) => r.code).sort()).toEqual([
      "erased-to-deactivated",
      "reactivation-not-allowed",
      "un-erase",
    ]);
  });
});

describe("MAS providers", () => {
  it("a provider is found by its ID, human_name or issuer; none or two is a problem", () => {
    expect(resolve(P1)).toEqual({ id: P1 });
    expect(resolve("Staff SSO")).toEqual({ id: P1 });
    expect(resolve("https://b.example/")).toEqual({ id: P2 });
    expect(resolve("Twin")).toHaveProperty("problem");
    expect(resolve("nope")).toHaveProperty("problem");
  });

  it("the file's providers are rewritten to MAS's IDs in a new map; the file's users are not written on", () => {
    const original = want("x", "active", {
      externalIds: [
        { provider: "Staff SSO", id: "s" },
        { provider: "Twin", id: "t" },
      ],
    });
    const users = new Map([[original.userId, original]]);
    const out = withMasProviders(users, (name) => {
      const r = resolve(name);
      return "id" in r ? r.id : undefined;
    });
    expect(out.get(original.userId)?.externalIds).toEqual([
      { provider: P1, id: "s" },
      { provider: "Twin", id: "t" },
    ]);
    expect(original.externalIds?.[0]?.provider).toBe("Staff SSO");
  });
});

describe("drift under MAS", () => {
  it("adds backends-disagree and synapse-only, besides today's classes", () => {
    const report = detectDrift(
      input(
        [want("split", "active"), want("legacy", "active")],
        [
          have("split", "deactivated", { disagreement: "active in MAS, deactivated in Synapse" }),
          have("legacy", "active", { synapseOnly: true }),
          have("loose", "active", { synapseOnly: true }),
          have("bridgebot", "active", { synapseOnly: true, appserviceId: "bridge" }),
        ],
        {},
        { unmanaged: "report" },
      ),
    );
    expect(report.items.map((i) => [i.class, i.userId])).toEqual([
      ["deactivated-out-of-band", `@split:${S}`],
      ["backends-disagree", `@split:${S}`],
      ["synapse-only", `@legacy:${S}`],
      ["synapse-only", `@loose:${S}`],
      ["unmanaged", OWN],
    ]);
    expect(report.backend).toBe("mas");
    expect(renderDriftText(report)).toContain("MAS and Synapse disagree [backends-disagree] (1)");
    expect(renderDriftText(report)).toContain("In Synapse but not in MAS [synapse-only] (2)");
    expect(renderDriftText(report)).toContain("Accounts backend: mas");
    expect(renderDriftMarkdown(report)).toContain("Accounts backend: mas");
    expect(JSON.parse(renderDriftJson(report)).backend).toBe("mas");
  });
});

describe("reports name the backend", () => {
  it("text, Markdown and JSON of a plan say which backend ran", () => {
    for (const backend of ["mas", "synapse"]) {
      const plan = planUsers(input([want("n", "active")], [], { backend: { name: backend } }));
      const report = { command: "plan" as const, plan };
      expect(renderPlanText(report)).toContain(`Accounts backend: ${backend}`);
      expect(renderMarkdown(report)).toContain(`Accounts backend: ${backend}`);
      expect(JSON.parse(renderJson(report)).backend).toBe(backend);
    }
  });
});
