import { planHasChanges } from "../domain/plan.js";
import { VERSION } from "../version.js";
import type { Report } from "./model.js";
import { roomJson } from "./rooms.js";

/**
 * The machine-readable report, `formatVersion: 1`. Documented in the README ("JSON output");
 * fields are only ever added within a format version.
 */
export function renderJson(report: Report): string {
  const { plan } = report;
  const doc = {
    formatVersion: 1,
    tool: { name: "synapse-gitops", version: VERSION },
    command: report.command,
    serverName: plan.serverName,
    ...(plan.backend ? { backend: plan.backend } : {}),
    summary: plan.summary,
    policy: plan.policy,
    ...(report.snapshot ? { snapshot: report.snapshot } : {}),
    changes: planHasChanges(plan),
    actions: plan.actions,
    refusals: plan.refusals,
    unmanaged: report.plan.policy.unmanaged === "ignore" ? [] : plan.unmanaged,
    // The clock the plan was made with, and what the file schedules after it (not actions yet).
    ...(plan.now === undefined ? {} : { now: plan.now }),
    scheduled: plan.scheduled ?? [],
    ...roomJson(plan, report.apply),
    ...(report.apply
      ? {
          apply: {
            summary: report.apply.summary,
            results: report.apply.results.map((r) => ({
              userId: r.action.userId,
              kind: r.action.kind,
              outcome: r.outcome,
              ...(r.message ? { message: r.message } : {}),
            })),
          },
        }
      : {}),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
