// The renderers over one result: the same plan and apply result (a partial failure among them) as
// text, Markdown and JSON — exactly as a user reads them.
import { describe, expect, it } from "vitest";
import type { Action, ApplyResult, Plan } from "../../src/domain/plan.js";
import { renderJson } from "../../src/report/json.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import type { Report } from "../../src/report/model.js";
import { renderApplyText, renderPlanText } from "../../src/report/text.js";

const S = "example.org";
const action = (kind: Action["kind"], localpart: string, extra: Partial<Action> = {}): Action => ({
  kind,
  userId: `@${localpart}:${S}`,
  from: kind === "create" ? "absent" : kind === "reactivate" ? "deactivated" : "active",
  to: kind === "deactivate" ? "deactivated" : kind === "erase" ? "erased" : "active",
  changes: [],
  irreversible: kind === "erase",
  observed: {},
  ...extra,
});

const actions = [
  action("create", "dave", {
    changes: [{ attribute: "displayname", to: "Dave Lister" }],
    password: { env: "DAVE_PW" },
  }),
  action("update", "bob", { changes: [{ attribute: "displayname", from: "Bob", to: "Bob Ross" }] }),
  action("deactivate", "erin"),
  action("erase", "frank"),
];
const plan: Plan = {
  serverName: S,
  policy: { unmanaged: "report", maxDeactivations: 10, maxErasures: 5, protected: [`@root:${S}`] },
  actions,
  refusals: [],
  unmanaged: [{ userId: `@mallory:${S}`, state: "active" }],
  summary: { create: 1, update: 1, deactivate: 1, erase: 1, reactivate: 0 },
};
const apply: ApplyResult = {
  results: [
    { action: actions[0]!, outcome: "done", verified: "active" },
    { action: actions[1]!, outcome: "failed", message: "PUT /_synapse/admin/v2/users/… → 500: boom" },
    { action: actions[2]!, outcome: "stale", message: `@erin:${S} is deactivated now, but the plan saw it active` },
    { action: actions[3]!, outcome: "not-started" },
  ],
  summary: { done: 1, failed: 1, stale: 1, "not-started": 1 },
};
const planned: Report = { command: "plan", plan };
const applied: Report = { command: "apply", plan, apply };

describe("text", () => {
  it("the plan: summary, one entry per user with old → new, unmanaged users, the policy", () => {
    expect(renderPlanText(planned)).toBe(
      [
        "Plan: 1 to create, 1 to update, 1 to deactivate, 1 to erase, 0 to reactivate.",
        "",
        `  + @dave:${S}  create with the password from env DAVE_PW`,
        '      displayname: "Dave Lister"',
        `  ~ @bob:${S}  update`,
        '      displayname: "Bob" → "Bob Ross"',
        `  - @erin:${S}  deactivate`,
        `  ! @frank:${S}  erase — IRREVERSIBLE`,
        "",
        "On the server but not in the file (1, policy unmanaged: report):",
        `    @mallory:${S}`,
        "",
        `Policy: unmanaged report, maxDeactivations 10, maxErasures 5, protected: @root:${S}.`,
        "",
      ].join("\n"),
    );
  });

  it("a partial apply: what was not done, and why, then the counts", () => {
    expect(renderApplyText(applied)).toBe(
      [
        "",
        "Not done:",
        `  failed update @bob:${S}: PUT /_synapse/admin/v2/users/… → 500: boom`,
        `  stale  deactivate @erin:${S}: @erin:${S} is deactivated now, but the plan saw it active`,
        `  not-started erase @frank:${S}`,
        "",
        "Apply: 1 done, 1 failed, 1 stale, 1 not started.",
        "",
      ].join("\n"),
    );
  });
});

describe("Markdown", () => {
  it("a table row per action, the irreversible one in bold, failures listed after the counts", () => {
    const md = renderMarkdown(applied);
    expect(md).toContain(
      `| ➕ | \`@dave:${S}\` | create with the password from env \`DAVE_PW\` | displayname: \`"Dave Lister"\` |`,
    );
    expect(md).toContain(`| ✏️ | \`@bob:${S}\` | update | displayname: \`"Bob"\` → \`"Bob Ross"\` |`);
    expect(md).toContain(`| 🗑️ | \`@frank:${S}\` | **erase — IRREVERSIBLE** |  |`);
    expect(md).toContain("**Apply: 1 done, 1 failed, 1 stale, 1 not started.**");
    expect(md).toMatch(/^- failed: update `@bob:example\.org` — PUT .*500/m);
    expect(md).toMatch(/^- not-started: erase `@frank:example\.org`$/m);
    expect(md).toContain("<summary>On the server but not in the file: 1</summary>");
    expect(md).toContain(`Policy: unmanaged report, maxDeactivations 10, maxErasures 5, protected: \`@root:${S}\`.`);
  });
});

describe("JSON", () => {
  it("format 1: the plan, its policy, and each result's outcome", () => {
    const doc = JSON.parse(renderJson(applied));
    expect(doc).toMatchObject({
      formatVersion: 1,
      command: "apply",
      serverName: S,
      summary: plan.summary,
      policy: plan.policy,
      changes: true,
      refusals: [],
      unmanaged: [{ userId: `@mallory:${S}`, state: "active" }],
      apply: {
        summary: apply.summary,
        results: [
          { userId: `@dave:${S}`, kind: "create", outcome: "done" },
          { userId: `@bob:${S}`, kind: "update", outcome: "failed", message: expect.stringContaining("500") },
          { userId: `@erin:${S}`, kind: "deactivate", outcome: "stale", message: expect.any(String) },
          { userId: `@frank:${S}`, kind: "erase", outcome: "not-started" },
        ],
      },
    });
    expect(doc.actions[0]).toEqual({ ...actions[0], password: { env: "DAVE_PW" } });
    expect(doc.snapshot).toBeUndefined();
  });
});
