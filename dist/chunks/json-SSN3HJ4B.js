#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  VERSION
} from "./chunk-CUFBJBJW.js";
import {
  roomJson
} from "./chunk-RRRXE2QY.js";
import "./chunk-SAG34VUY.js";
import {
  planHasChanges
} from "./chunk-AD742QSL.js";
import "./chunk-SVN2WMBC.js";
import "./chunk-I7MR6UWU.js";
import "./chunk-5J3ZCMMJ.js";
import "./chunk-4CJPJK2Z.js";

// src/report/json.ts
function renderJson(report) {
  const { plan } = report;
  const doc = {
    formatVersion: 1,
    tool: { name: "synapse-gitops", version: VERSION },
    command: report.command,
    serverName: plan.serverName,
    ...plan.backend ? { backend: plan.backend } : {},
    summary: plan.summary,
    policy: plan.policy,
    ...report.snapshot ? { snapshot: report.snapshot } : {},
    changes: planHasChanges(plan),
    actions: plan.actions,
    refusals: plan.refusals,
    unmanaged: report.plan.policy.unmanaged === "ignore" ? [] : plan.unmanaged,
    // The clock the plan was made with, and what the file schedules after it (not actions yet).
    ...plan.now === void 0 ? {} : { now: plan.now },
    scheduled: plan.scheduled ?? [],
    ...roomJson(plan, report.apply),
    ...report.apply ? {
      apply: {
        summary: report.apply.summary,
        results: report.apply.results.map((r) => ({
          userId: r.action.userId,
          kind: r.action.kind,
          outcome: r.outcome,
          ...r.message ? { message: r.message } : {}
        }))
      }
    } : {}
  };
  return `${JSON.stringify(doc, null, 2)}
`;
}
export {
  renderJson
};
