// Every reporter, fed plans, apply results and drift reports whose user IDs, display names, e-mail
// addresses, external IDs, password references and messages are hostile: what comes out must keep
// its shape (one table row per action, one line per value) and carry nothing that renders, mentions
// or moves the cursor. marked (the Matrix notice's renderer, a GFM implementation) is the oracle.
import { marked } from "marked";
import { describe, expect, it } from "vitest";
import { logUntrusted } from "../../src/action/log.js";
import type { ActualUser } from "../../src/domain/account.js";
import type { DesiredUser } from "../../src/domain/desired.js";
import type { Action, ApplyResult, Plan, PlanInput } from "../../src/domain/plan.js";
import { notifyRoom } from "../../src/notify/matrix.js";
import { type DriftReport, detectDrift } from "../../src/plan/drift.js";
import { planUsers } from "../../src/plan/plan.js";
import { renderDriftJson, renderDriftMarkdown, renderDriftText } from "../../src/report/drift.js";
import { renderJson } from "../../src/report/json.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import type { Report } from "../../src/report/model.js";
import { actionLines, renderApplyText, renderPlanText, resultLine } from "../../src/report/text.js";
import type { SynapseClient } from "../../src/synapse/client.js";
import { commandsRun, HOSTILE } from "../support/hostile.js";

const S = "example.org";

function action(kind: Action["kind"], userId: string, extra: Partial<Action> = {}): Action {
  const to = kind === "erase" ? "erased" : kind === "deactivate" ? "deactivated" : "active";
  return {
    kind,
    userId,
    from: kind === "create" ? "absent" : "active",
    to,
    changes: [],
    irreversible: kind === "erase",
    observed: {},
    ...extra,
  };
}

/** One plan with `s` everywhere untrusted text can be: 4 actions, 2 refusals, 1 unmanaged user. */
function hostileReport(s: string): Report {
  const id = `@${s}:${S}`;
  const actions: Action[] = [
    action("create", id, {
      changes: [
        { attribute: "displayname", to: s },
        { attribute: "emails", to: [s, `${s}@${S}`] },
        { attribute: "externalIds", to: [{ provider: s, id: s }] },
      ],
      password: { env: s },
    }),
    action("update", `@fine:${S}`, { changes: [{ attribute: "displayname", from: s, to: "Fine" }] }),
    action("erase", id),
    action("reactivate", `@back:${S}`, { password: { file: s } }),
  ];
  const plan: Plan = {
    serverName: S,
    actions,
    refusals: [
      { code: "un-erase", userId: id, message: `${id} is erased; erasure cannot be undone`, hint: s },
      { code: "protected-user", userId: id, message: s },
    ],
    unmanaged: [{ userId: id, state: "active" }],
    summary: { create: 1, update: 1, deactivate: 0, erase: 1, reactivate: 1 },
    policy: { unmanaged: "report", maxDeactivations: 10, maxErasures: 5, protected: [`@${s}:${S}`] },
  };
  const apply: ApplyResult = {
    results: actions.map((a, i) => ({ action: a, outcome: i === 0 ? "failed" : "done", message: i === 0 ? s : "" })),
    summary: { done: 3, failed: 1, stale: 0, "not-started": 0 },
  };
  return { command: "apply", plan, apply };
}

function hostileDrift(s: string): DriftReport {
  const id = `@${s}:${S}`;
  return {
    serverName: S,
    drifted: true,
    counts: {
      reactivated: 1,
      "deactivated-out-of-band": 0,
      erasure: 0,
      "synapse-only": 0,
      "backends-disagree": 0,
      due: 0,
      missing: 0,
      attributes: 1,
      unmanaged: 1,
      "member-left": 0,
      "member-invited": 0,
      "member-joined": 0,
      "power-level": 0,
    },
    items: [
      { class: "reactivated", userId: id, expected: "deactivated", actual: "active" },
      {
        class: "attributes",
        userId: `@fine:${S}`,
        expected: "active",
        actual: "active",
        changes: [{ attribute: "displayname", from: s, to: "Fine" }],
      },
      { class: "unmanaged", userId: id, expected: "absent", actual: "active" },
    ],
  };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const RAW = /(?!\n)[\p{Cc}\u2028\u2029\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]/u;
const ALLOWED = new Set(["h3", "h4", "p", "strong", "em", "table", "thead", "tbody", "tr", "th", "td"]);
for (const t of ["code", "br", "ul", "li", "details", "summary"]) ALLOWED.add(t);
const tags = (html: string) => [...html.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1]!.toLowerCase());
/** The text GitHub scans for @mentions, #references and URLs: everything outside <code>. */
const outsideCode = (html: string) =>
  html
    .replace(/<code>[\s\S]*?<\/code>/g, "")
    .replace(/<[^>]*>/g, "")
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

describe("Markdown reports (PR comment, job summary, drift issue, Matrix notice)", () => {
  it.each(HOSTILE)("the plan keeps one table row per action and injects nothing: %j", (s) => {
    const report = hostileReport(s);
    const html = marked.parse(renderMarkdown(report), { gfm: true }) as string;
    const body = html.match(/<tbody>([\s\S]*?)<\/tbody>/)?.[1] ?? "";
    const rows = [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]!);
    expect(rows).toHaveLength(report.plan.actions.length);
    for (const row of rows) expect([...row.matchAll(/<td>/g)]).toHaveLength(4);
    expect(tags(html).filter((t) => !ALLOWED.has(t))).toEqual([]);
    expect(html.match(/<table>/g)).toHaveLength(1);
    expect(html.match(/<h3>/g)).toHaveLength(1);
    expect(outsideCode(html)).not.toMatch(/@[\w-]|#\d|:\/\/|www\./);
    // The refusals stay one list item each; the irreversible action stays bold, whole.
    expect(html).toContain("— IRREVERSIBLE</strong>");
  });

  it.each(HOSTILE)("drift keeps one list item per user and injects nothing: %j", (s) => {
    const html = marked.parse(renderDriftMarkdown(hostileDrift(s)), { gfm: true }) as string;
    expect(html.match(/<li>/g)).toHaveLength(3);
    expect(tags(html).filter((t) => !ALLOWED.has(t))).toEqual([]);
    expect(outsideCode(html)).not.toMatch(/@[\w-]|#\d|:\/\/|www\./);
  });

  it("shows the password reference it names, as code", () => {
    const md = renderMarkdown(hostileReport("x"));
    expect(md).toContain("create with the password from env `x`");
    expect(md).toContain("reactivate with the password from file `x`");
  });
});

describe("terminal reports (plan before the confirmation prompt, apply, drift, notice body)", () => {
  it.each(HOSTILE)("no raw control character; each value stays on its line: %j", (s) => {
    const report = hostileReport(s);
    const benign = hostileReport("x");
    for (const [render, shape] of [
      [renderPlanText(report), renderPlanText(benign)],
      [renderApplyText(report), renderApplyText(benign)],
      [renderDriftText(hostileDrift(s)), renderDriftText(hostileDrift("x"))],
      [report.apply!.results.map(resultLine).join("\n"), benign.apply!.results.map(resultLine).join("\n")],
    ] as const) {
      expect(render).not.toMatch(RAW);
      expect(render.split("\n")).toHaveLength(shape.split("\n").length);
    }
    // The erasure's warning is a line of its own, which nothing in the values can erase or rewrite.
    expect(actionLines(report.plan.actions[2]!)[0]).toMatch(/^ {2}! .* {2}erase — IRREVERSIBLE$/);
    expect(renderPlanText(report)).toContain("  ! ");
  });
});

describe("workflow log", () => {
  it.each(HOSTILE)("a report logged by the Action starts no workflow command: %j", (s) => {
    const lines: string[] = [];
    const write = (line: string) => lines.push(line);
    const report = hostileReport(s);
    logUntrusted(renderPlanText(report), write);
    logUntrusted(renderApplyText(report), write);
    logUntrusted(renderDriftText(hostileDrift(s)), write);
    expect(commandsRun(lines.join("\n"))).toEqual([]);
  });
});

describe("the Matrix notice", () => {
  it.each(HOSTILE)("posts sanitised HTML and a body that mentions no one: %j", async (s) => {
    const sent: { body: string; html: string }[] = [];
    const client = {
      resolveRoom: async (room: string) => room,
      sendNotice: async (_room: string, body: string, html: string) => {
        sent.push({ body, html });
        return "$event";
      },
    } as unknown as SynapseClient;
    const report = hostileReport(s);
    await notifyRoom(client, "!room:example.org", {
      text: renderPlanText(report) + renderApplyText(report),
      markdown: renderMarkdown(report),
    });
    const [{ body, html }] = sent as [{ body: string; html: string }];
    expect(body).not.toMatch(/@room/i);
    expect(body.replace(/@\u2060/g, "@")).not.toMatch(RAW);
    expect(tags(html).filter((t) => !ALLOWED.has(t))).toEqual([]);
    expect(html).not.toMatch(/@room/i);
    expect(html).not.toMatch(/<(img|a|h1|script)\b|<[^>]*\son\w+=/i);
  });
});

describe("historical user IDs (any printable ASCII but `:`) in every report", () => {
  const LOCALPARTS = [
    "Old.Admin",
    "a`b|c*d<e%f/g",
    "x|y",
    "**bold**",
    "<img>",
    "[l](//evil.example)",
    "#1",
    "@room",
    "``",
    "a\\|b",
    "_under_",
    "&amp;",
  ];
  const id = (localpart: string) => `@${localpart}:${S}`;
  const ids = LOCALPARTS.map(id);
  const user = (localpart: string, state: ActualUser["state"]): ActualUser => ({
    userId: id(localpart),
    state,
    locked: false,
    admin: false,
    displayname: "Before",
    avatarUrl: null,
    userType: null,
    isGuest: false,
    shadowBanned: false,
    creationTs: 0,
  });
  const desired = (localpart: string, state: DesiredUser["state"], extra: Partial<DesiredUser> = {}): DesiredUser => ({
    userId: id(localpart),
    index: 0,
    state,
    allowReactivation: false,
    source: { file: "users.yaml", line: 1, column: 1 },
    historical: true,
    ...extra,
  });
  // Every kind of line a user ID is in: an update, a deactivation, an erasure, both refusals, an
  // unmanaged user, and in drift a missing user with its hint.
  const input: PlanInput = {
    desired: new Map(
      [
        ...LOCALPARTS.map((l, i) =>
          desired(
            l,
            i % 3 === 0 ? "active" : i % 3 === 1 ? "deactivated" : "erased",
            i % 3 === 0 ? { displayname: "After" } : {},
          ),
        ),
        desired("Never.There", "active"),
        desired("old.admin", "active", { historical: undefined }),
      ].map((d, index) => [d.userId, { ...d, index }]),
    ),
    actual: new Map(
      [...LOCALPARTS.map((l) => user(l, "active")), user("Stray|<b>", "active")].map((a) => [a.userId, a]),
    ),
    serverName: S,
    ownUserId: `@admin:${S}`,
    policy: { unmanaged: "report", maxDeactivations: 100, maxErasures: 100, protected: [] },
    now: 0,
  };
  const plan = planUsers(input);
  const report: Report = { command: "plan", plan };

  it("the plan has them all: every action, both refusals, the unmanaged user", () => {
    expect(plan.actions.map((a) => a.userId).sort()).toEqual([...ids].sort());
    expect(plan.refusals.map((r) => [r.code, r.userId])).toEqual([
      ["historical-id", id("Never.There")],
      ["case-variant", id("old.admin")],
    ]);
    expect(plan.unmanaged.map((u) => u.userId)).toEqual([id("Stray|<b>")]);
  });

  it("text: each ID exactly as it is (printable ASCII needs no escape), one line each", () => {
    const text = renderPlanText(report);
    for (const userId of ids) expect(text).toMatch(new RegExp(`^ {2}[~!-] ${escapeRegExp(userId)} {2}\\w`, "m"));
    expect(text).toContain(`\n    ${id("Stray|<b>")}\n`);
    expect(text).toContain(`x ${id("old.admin")} is not on the server, but ${id("Old.Admin")} is:`);
    expect(text).not.toMatch(RAW);
    const drift = renderDriftText(detectDrift(input));
    expect(drift).toContain(
      `  ${id("old.admin")}: file says active, server has absent\n      the server has ${id("Old.Admin")};`,
    );
  });

  it("Markdown: each ID as code that shows exactly it, in its own row, and nothing renders or mentions", () => {
    const html = marked.parse(renderMarkdown(report), { gfm: true }) as string;
    const body = html.match(/<tbody>([\s\S]*?)<\/tbody>/)?.[1] ?? "";
    const rows = [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]!);
    expect(rows).toHaveLength(plan.actions.length);
    const decode = (s: string) =>
      s
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, "&");
    for (const [n, row] of rows.entries()) {
      const cells = [...row.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1]!);
      expect(cells).toHaveLength(4);
      // The user cell: code spans (split at each `|`, written as an escaped pipe between them).
      const shown = decode(cells[1]!.replace(/<\/?code>/g, "")).trim();
      expect(shown.replace(/ ?\| ?/g, "|")).toBe(plan.actions[n]!.userId);
    }
    expect(tags(html).filter((t) => !ALLOWED.has(t))).toEqual([]);
    expect(outsideCode(html)).not.toMatch(/@[\w-]|#\d|:\/\/|www\./);
    const drift = marked.parse(renderDriftMarkdown(detectDrift(input)), { gfm: true }) as string;
    expect(tags(drift).filter((t) => !ALLOWED.has(t))).toEqual([]);
    expect(outsideCode(drift)).not.toMatch(/@[\w-]|#\d|:\/\/|www\./);
    expect(outsideCode(drift)).toContain("name it exactly as the server does");
  });

  it("JSON: each ID exactly, as a string", () => {
    const doc = JSON.parse(renderJson(report)) as { actions: { userId: string }[]; refusals: { userId: string }[] };
    expect(doc.actions.map((a) => a.userId)).toEqual(plan.actions.map((a) => a.userId));
    expect(doc.refusals.map((r) => r.userId)).toEqual([id("Never.There"), id("old.admin")]);
    const drift = JSON.parse(renderDriftJson(detectDrift(input))) as { items: { userId: string; hint?: string }[] };
    expect(drift.items.find((i) => i.userId === id("old.admin"))?.hint).toContain(id("Old.Admin"));
  });
});
