#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  VERSION
} from "./chunk-CUFBJBJW.js";
import "./chunk-4CJPJK2Z.js";

// src/report/json.ts
function renderJson(report) {
  const { plan } = report;
  const doc = {
    formatVersion: 1,
    tool: { name: "synapse-gitops", version: VERSION },
    command: report.command,
    serverName: plan.serverName,
    summary: plan.summary,
    policy: plan.policy,
    ...report.snapshot ? { snapshot: report.snapshot } : {},
    changes: plan.actions.length > 0,
    actions: plan.actions,
    refusals: plan.refusals,
    unmanaged: report.plan.policy.unmanaged === "ignore" ? [] : plan.unmanaged,
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
