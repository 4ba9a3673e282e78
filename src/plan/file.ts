import { createHmac, timingSafeEqual } from "node:crypto";
import * as z from "zod";
import { ToolError } from "../errors.js";
import type { ActualUser } from "../synapse/types.js";
import { VERSION } from "../version.js";
import type { Observed, Plan } from "./types.js";

/**
 * A saved plan (`plan --out`), applied later with `apply --plan` exactly as it was reviewed.
 * It holds no token and no password: passwords are references ({ env } / { file }), and the
 * `mac` is an HMAC of the content keyed by the admin token, so a plan edited after it was made,
 * or made for another server or with another token, is refused.
 */
export const PLAN_FILE_FORMAT = 1;

export interface PlanFile {
  kind: "synapse-gitops-plan";
  formatVersion: typeof PLAN_FILE_FORMAT;
  toolVersion: string;
  homeserver: string;
  serverName: string;
  /** The desired-state files the plan was made from, and a sha256 over them. */
  desired: { files: string[]; sha256: string };
  unmanagedPolicy: "ignore" | "report" | "deactivate";
  plan: Plan;
  mac: string;
}

const state = z.enum(["active", "deactivated", "erased"]);
const attributeValue = z.union([
  z.string(),
  z.boolean(),
  z.null(),
  z.array(z.string()),
  z.array(z.strictObject({ provider: z.string(), id: z.string() })),
]);
const actionSchema = z.strictObject({
  kind: z.enum(["create", "update", "deactivate", "erase", "reactivate"]),
  userId: z.string(),
  from: z.union([state, z.literal("absent")]),
  to: state,
  changes: z.array(
    z.strictObject({
      attribute: z.enum(["displayname", "admin", "locked", "emails", "externalIds"]),
      from: attributeValue.optional(),
      to: attributeValue,
    }),
  ),
  irreversible: z.boolean(),
  reason: z.literal("unmanaged").optional(),
  password: z.union([z.strictObject({ env: z.string() }), z.strictObject({ file: z.string() })]).optional(),
  observed: z.strictObject({
    state: z.union([state, z.literal("absent")]),
    admin: z.boolean().optional(),
    locked: z.boolean().optional(),
  }),
});
const planFileSchema = z.strictObject({
  kind: z.literal("synapse-gitops-plan"),
  formatVersion: z.number(),
  toolVersion: z.string(),
  homeserver: z.string(),
  serverName: z.string(),
  desired: z.strictObject({ files: z.array(z.string()), sha256: z.string() }),
  unmanagedPolicy: z.enum(["ignore", "report", "deactivate"]),
  plan: z.strictObject({
    serverName: z.string(),
    actions: z.array(actionSchema),
    refusals: z.array(
      z.strictObject({
        code: z.string(),
        userId: z.string().optional(),
        message: z.string(),
        hint: z.string().optional(),
      }),
    ),
    unmanaged: z.array(z.strictObject({ userId: z.string(), state, exempt: z.string().optional() })),
    summary: z.strictObject({
      create: z.number(),
      update: z.number(),
      deactivate: z.number(),
      erase: z.number(),
      reactivate: z.number(),
    }),
  }),
  mac: z.string(),
});

function mac(content: Omit<PlanFile, "mac">, token: string): string {
  return createHmac("sha256", token).update(JSON.stringify(content)).digest("hex");
}

export function writePlanFile(
  content: Omit<PlanFile, "kind" | "formatVersion" | "toolVersion" | "mac">,
  token: string,
): string {
  const body: Omit<PlanFile, "mac"> = {
    kind: "synapse-gitops-plan",
    formatVersion: PLAN_FILE_FORMAT,
    toolVersion: VERSION,
    ...content,
  };
  return `${JSON.stringify({ ...body, mac: mac(body, token) }, null, 2)}\n`;
}

export class PlanFileError extends ToolError {
  override name = "PlanFileError";
}

/** Parses and authenticates a plan file; any doubt is a refusal, never a partial apply. */
export function readPlanFile(
  text: string,
  source: string,
  token: string,
  expect: { homeserver: string; serverName: string },
): PlanFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PlanFileError(`${source} is not a plan file: it is not JSON`);
  }
  const version = (json as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === "number" && version !== PLAN_FILE_FORMAT) {
    throw new PlanFileError(
      `${source} has plan format version ${version}; this synapse-gitops (${VERSION}) reads version ${PLAN_FILE_FORMAT}`,
      "make the plan again with this version",
    );
  }
  const parsed = planFileSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new PlanFileError(`${source} is not a valid plan file: ${first.path.join(".") || "(top)"}: ${first.message}`);
  }
  const file = parsed.data as PlanFile;
  // The MAC covers the JSON as written (its key order), not zod's re-ordered copy of it.
  const { mac: given, ...body } = json as PlanFile;
  if (file.serverName !== expect.serverName || file.homeserver !== expect.homeserver) {
    throw new PlanFileError(
      `${source} was made for ${file.serverName} at ${file.homeserver}, not for ${expect.serverName} at ${expect.homeserver}`,
    );
  }
  const wanted = mac(body, token);
  if (given.length !== wanted.length || !timingSafeEqual(Buffer.from(given), Buffer.from(wanted))) {
    throw new PlanFileError(
      `${source} was changed after it was made, or made with another admin token`,
      "make the plan again; a saved plan is applied only exactly as it was reviewed",
    );
  }
  if (file.plan.refusals.length > 0) throw new PlanFileError(`${source} holds refusals; it cannot be applied`);
  return file;
}

/** Why a user no longer matches what the plan observed, in words: "was reactivated since the plan". */
function change(observed: Observed, now: ActualUser | undefined): string | undefined {
  const state = now?.state ?? "absent";
  if (state !== observed.state) {
    if (observed.state === "absent") return "was created";
    if (state === "absent") return "no longer exists";
    if (state === "active") return "was reactivated";
    if (state === "erased") return "was erased";
    return observed.state === "erased" ? "was un-erased" : "was deactivated";
  }
  if (now && observed.admin !== undefined && now.admin !== observed.admin) {
    return now.admin ? "was made an admin" : "lost its admin rights";
  }
  if (now && observed.locked !== undefined && now.locked !== observed.locked)
    return now.locked ? "was locked" : "was unlocked";
  return undefined;
}

/** One line per user whose live state differs from the precondition its action was planned from. */
export function stalePreconditions(plan: Plan, actual: Map<string, ActualUser>): string[] {
  const lines: string[] = [];
  for (const action of plan.actions) {
    const what = change(action.observed, actual.get(action.userId));
    if (what) lines.push(`plan is stale: ${action.userId} ${what} since the plan; run plan again`);
  }
  return lines;
}
