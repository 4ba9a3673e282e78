// Every reporter, fed plans, apply results and drift reports whose user IDs, display names, e-mail
// addresses, external IDs, password references and messages are hostile: what comes out must keep
// its shape (one table row per action, one line per value) and carry nothing that renders, mentions
// or moves the cursor. marked (the Matrix notice's renderer, a GFM implementation) is the oracle.
import { marked } from "marked";
import { describe, expect, it } from "vitest";
import { logUntrusted } from "../../src/action/log.js";
import type { Action, ApplyResult, Plan } from "../../src/domain/plan.js";
import { notifyRoom } from "../../src/notify/matrix.js";
import type { DriftReport } from "../../src/plan/drift.js";
import { renderDriftMarkdown, renderDriftText } from "../../src/report/drift.js";
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
    counts: { reactivated: 1, "deactivated-out-of-band": 0, erasure: 0, missing: 0, attributes: 1, unmanaged: 1 },
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
