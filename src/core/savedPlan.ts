import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import * as z from "zod";
import { ACCOUNT_STATES, type ActualUser } from "../domain/account.js";
import { ATTRIBUTES, type Attribute } from "../domain/attributes.js";
import { ACTION_KINDS, type Action, type ActionKind, type Plan, REFUSAL_CODES } from "../domain/plan.js";
import { DEFAULT_MAX_REMOVALS, type Policy, policySchema } from "../domain/policy.js";
import { isRoomId, isRoomKey, MEMBERSHIPS, ROOM_CHANGE_KINDS } from "../domain/rooms.js";
import { serverNameOf } from "../domain/userId.js";
import { ToolError } from "../errors.js";
import { hasResidue } from "../plan/erasure.js";
import { isDemotion, removalLimitRefusal } from "../plan/rooms.js";
import { VERSION } from "../version.js";

/**
 * A saved plan (`plan --out`), applied later with `apply --plan` exactly as it was reviewed.
 *
 * It holds no token and no password (passwords are references), and is sealed: `mac` is an
 * HMAC-SHA256 of the content under a key derived from the admin token with HKDF (and a random salt
 * of its own), so a plan edited after it was made, or made with another token, is refused — and that
 * is checked before anything is sent anywhere. It expires (`expiresAt`), names the homeserver it was
 * made for (which must be the operator's: a plan file never chooses where the token goes), and is
 * bound to the users file it was made from (`desired.sha256`, compared with the file at apply
 * time) and, in CI, to the commit (`commit`).
 */
export const PLAN_FILE_FORMAT = 2;

/** How long a saved plan stays valid unless `plan --out-ttl` says otherwise. */
export const DEFAULT_PLAN_TTL_MS = 24 * 60 * 60 * 1000;

/** A plan file is small: a million actions would still be far below this. */
export const MAX_PLAN_FILE_BYTES = 512 * 1024 * 1024;

const state = z.enum(ACCOUNT_STATES);
const attributeValue = z.union([
  z.string(),
  z.boolean(),
  z.null(),
  z.array(z.string()),
  z.array(z.strictObject({ provider: z.string(), id: z.string() })),
]);
const actionSchema = z.strictObject({
  kind: z.enum(ACTION_KINDS),
  userId: z.string(),
  from: z.union([state, z.literal("absent")]),
  to: state,
  changes: z.array(
    z.strictObject({
      attribute: z.enum(ATTRIBUTES as [Attribute, ...Attribute[]]),
      from: attributeValue.optional(),
      to: attributeValue,
    }),
  ),
  irreversible: z.boolean(),
  reason: z.literal("unmanaged").optional(),
  password: z.union([z.strictObject({ env: z.string() }), z.strictObject({ file: z.string() })]).optional(),
  observed: z.strictObject({
    admin: z.boolean().optional(),
    locked: z.boolean().optional(),
  }),
  due: z.string().optional(),
  purge: z
    .strictObject({ rooms: z.number().nullable(), messages: z.number().nullable(), media: z.number().nullable() })
    .optional(),
});
// The rooms part (a plan of a file that declares rooms): each change with the precondition apply
// checks again (`from`), the room as the file names it and the ID it resolved to. Every ID is held
// to the Matrix grammar: apply puts them in URL paths (to the operator's homeserver only).
const userIdSchema = z.string().refine((s) => serverNameOf(s) !== undefined, "is not a Matrix user ID");
const roomIdSchema = z.string().refine(isRoomId, "is not a Matrix room ID");
const roomKeySchema = z.string().refine(isRoomKey, "is not a room alias or room ID");
const membership = z.enum(MEMBERSHIPS);
// Any integer (rooms before version 6 may hold levels beyond the safe range).
const powerLevel = z.number().refine(Number.isInteger, "is not an integer");
const roomChangeSchema = z
  .strictObject({
    kind: z.enum(ROOM_CHANGE_KINDS),
    room: roomKeySchema,
    roomId: roomIdSchema,
    userId: userIdSchema,
    from: z.union([membership, powerLevel]),
    to: z.union([membership, powerLevel]),
    reason: z.string(),
  })
  .refine(
    (c) =>
      c.kind === "power"
        ? typeof c.from === "number" && typeof c.to === "number"
        : c.kind === "join"
          ? typeof c.from === "string" && c.to === "join"
          : (c.from === "join" || c.from === "invite") && c.to === "leave",
    "is not a change apply makes (a join ends in join, a removal from join or invite in leave, a power change between levels)",
  );
const roomPlanSchema = z.strictObject({
  changes: z.array(roomChangeSchema),
  rooms: z.array(
    z.strictObject({
      key: roomKeySchema,
      roomId: roomIdSchema.optional(),
      name: z.string().optional(),
      type: z.string().optional(),
    }),
  ),
  summary: z.strictObject({ join: z.number(), remove: z.number(), power: z.number() }),
});

const planFileSchema = z.strictObject({
  kind: z.literal("synapse-gitops-plan"),
  formatVersion: z.literal(PLAN_FILE_FORMAT),
  toolVersion: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  homeserver: z.string(),
  serverName: z.string(),
  ownUserId: z.string(),
  commit: z.string().optional(),
  desired: z.strictObject({ files: z.array(z.string()), sha256: z.string() }),
  plan: z.strictObject({
    serverName: z.string(),
    backend: z.string().optional(),
    policy: policySchema,
    actions: z.array(actionSchema),
    refusals: z.array(
      z.strictObject({
        code: z.enum(REFUSAL_CODES),
        userId: z.string().optional(),
        message: z.string(),
        hint: z.string().optional(),
      }),
    ),
    unmanaged: z.array(z.strictObject({ userId: z.string(), state, exempt: z.string().optional() })),
    rooms: roomPlanSchema.optional(),
    summary: z.strictObject(
      Object.fromEntries(ACTION_KINDS.map((kind) => [kind, z.number()])) as Record<ActionKind, z.ZodNumber>,
    ),
    // The clock the plan was made with, and what it saw scheduled for later: apply --plan carries
    // out none of that, only `actions` (see notePassedSinceSaved in commands.ts).
    now: z.string().optional(),
    scheduled: z
      .array(
        z.strictObject({
          userId: z.string(),
          kind: z.enum(["deactivate", "erase"]),
          on: z.string(),
          at: z.string(),
        }),
      )
      .optional(),
  }),
  salt: z.string(),
  mac: z.string(),
});

export type PlanFile = z.output<typeof planFileSchema> & { plan: Plan };

/** What `plan --out` knows when it saves a plan. */
export interface PlanFileContent {
  homeserver: string;
  serverName: string;
  ownUserId: string;
  /** The commit the users file was read at, in CI (GITHUB_SHA). */
  commit?: string;
  desired: { files: string[]; sha256: string };
  plan: Plan;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The MAC key: never the token itself (HKDF-SHA256 over it, with the plan's own salt). */
function macKey(token: string, salt: string): Buffer {
  return Buffer.from(hkdfSync("sha256", token, Buffer.from(salt, "hex"), "synapse-gitops saved plan v2", 32));
}

function mac(body: unknown, token: string, salt: string): string {
  return createHmac("sha256", macKey(token, salt)).update(JSON.stringify(body)).digest("hex");
}

export function writePlanFile(
  content: PlanFileContent,
  token: string,
  options: { now: number; ttlMs?: number },
): string {
  const salt = randomBytes(32).toString("hex");
  const body = {
    kind: "synapse-gitops-plan",
    formatVersion: PLAN_FILE_FORMAT,
    toolVersion: VERSION,
    createdAt: new Date(options.now).toISOString(),
    expiresAt: new Date(options.now + (options.ttlMs ?? DEFAULT_PLAN_TTL_MS)).toISOString(),
    ...content,
    salt,
  };
  return `${JSON.stringify({ ...body, mac: mac(body, token, salt) }, null, 2)}\n`;
}

export class PlanFileError extends ToolError {
  override name = "PlanFileError";
}

/**
 * Parses and authenticates a plan file, offline: its MAC is checked before anything else is
 * believed (and before any request is made), then its shape, then its expiry. Any doubt is a
 * refusal, never a partial apply.
 */
export function readPlanFile(text: string, source: string, token: string, now: number): PlanFile {
  if (text.length > MAX_PLAN_FILE_BYTES) throw new PlanFileError(`${source} is too large to be a plan file`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PlanFileError(`${source} is not a plan file: it is not JSON`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new PlanFileError(`${source} is not a plan file: it is not a JSON object`);
  }
  const { mac: given, ...body } = json as Record<string, unknown>;
  const version = body.formatVersion;
  if (body.kind !== "synapse-gitops-plan") throw new PlanFileError(`${source} is not a synapse-gitops plan file`);
  if (version !== PLAN_FILE_FORMAT) {
    throw new PlanFileError(
      `${source} has plan format version ${JSON.stringify(version)}; this synapse-gitops (${VERSION}) reads version ${PLAN_FILE_FORMAT}`,
      "make the plan again with this version",
    );
  }
  const salt = body.salt;
  if (typeof given !== "string" || !HEX64.test(given) || typeof salt !== "string" || !HEX64.test(salt)) {
    throw new PlanFileError(`${source} is not sealed: its mac or salt is missing or malformed`);
  }
  const wanted = mac(body, token, salt);
  if (!timingSafeEqual(Buffer.from(given, "hex"), Buffer.from(wanted, "hex"))) {
    throw new PlanFileError(
      `${source} was changed after it was made, or made with another admin token`,
      "make the plan again; a saved plan is applied only exactly as it was reviewed",
    );
  }
  const parsed = planFileSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new PlanFileError(`${source} is not a valid plan file: ${first.path.join(".") || "(top)"}: ${first.message}`);
  }
  const file = parsed.data as PlanFile;
  const expires = Date.parse(file.expiresAt);
  if (!(expires > now)) {
    throw new PlanFileError(
      `${source} expired at ${file.expiresAt}`,
      "make the plan again; a saved plan is only valid for a while (plan --out-ttl)",
    );
  }
  if (file.plan.refusals.length > 0) throw new PlanFileError(`${source} holds refusals; it cannot be applied`);
  return file;
}

/**
 * Why this run may not apply the saved plan, checked offline against what the operator gave: the
 * homeserver, the users file's hash, the commit. One message, or undefined.
 */
export function planFileMismatch(
  file: PlanFile,
  source: string,
  now: { homeserver: string; sha256: string; files: string[]; commit?: string | undefined },
): string | undefined {
  if (file.homeserver !== now.homeserver) {
    return `${source} was made for ${file.homeserver}, but this run's homeserver is ${now.homeserver}; the admin token is only sent to the homeserver you give`;
  }
  if (file.desired.sha256 !== now.sha256) {
    return `${now.files.join(", ")} changed since ${source} was made (or is not the file it was made from); make the plan again`;
  }
  if (file.commit !== undefined && now.commit !== undefined && file.commit !== now.commit) {
    return `${source} was made at commit ${file.commit.slice(0, 12)}, but this run is at ${now.commit.slice(0, 12)}; make the plan again`;
  }
  return undefined;
}

/**
 * A plan made through one accounts backend (Synapse's own, MAS) is not applied through another:
 * its actions and preconditions are in that backend's terms. Plans that recorded none are let be.
 */
export function planBackendMismatch(file: PlanFile, source: string, backend: string): string | undefined {
  const made = file.plan.backend;
  if (made === undefined || made === backend) return undefined;
  return `${source} was made through the ${made} accounts backend, but this run's is ${backend}; make the plan again (or pass the same --backend)`;
}

/** Why a user no longer matches what the plan observed, in words: "was reactivated since the plan". */
function change(action: Action, now: ActualUser | undefined): string | undefined {
  const { from, observed } = action;
  const state = now?.state ?? "absent";
  if (state !== from) {
    if (from === "absent") return "was created";
    if (state === "absent") return "no longer exists";
    if (state === "active") return "was reactivated";
    if (state === "erased") return "was erased";
    return from === "erased" ? "was un-erased" : "was deactivated";
  }
  if (now && observed.admin !== undefined && now.admin !== observed.admin) {
    return now.admin ? "was made an admin" : "lost its admin rights";
  }
  if (now && observed.locked !== undefined && now.locked !== observed.locked)
    return now.locked ? "was locked" : "was unlocked";
  // Finishing a purge that is finished: nothing the plan showed is left to remove.
  if (now?.residue && action.purge && action.from === "erased" && !hasResidue(now.residue)) return "was purged";
  return undefined;
}

/** One line per user whose live state differs from the precondition its action was planned from. */
export function stalePreconditions(plan: Plan, actual: Map<string, ActualUser>): string[] {
  const lines: string[] = [];
  for (const action of plan.actions) {
    const what = change(action, actual.get(action.userId));
    if (what) lines.push(`plan is stale: ${action.userId} ${what} since the plan; run plan again`);
  }
  return lines;
}

/**
 * What this run refuses in a saved plan's room changes, offline: more removals than this run's limit
 * (`--max-removals` or the file's maxRemovals, as when planning), or a change in a room the users
 * file does not declare.
 */
export function savedRoomProblems(
  plan: Plan,
  declared: ReadonlySet<string>,
  policy: Pick<Policy, "maxRemovals">,
): { message: string; hint?: string }[] {
  const changes = plan.rooms?.changes ?? [];
  const problems: { message: string; hint?: string }[] = [];
  const undeclared = [...new Set(changes.map((c) => c.room).filter((room) => !declared.has(room)))];
  if (undeclared.length > 0) {
    problems.push({ message: `changes rooms the users file does not declare: ${undeclared.join(", ")}` });
  }
  const removals = changes.filter((c) => c.kind === "remove").length;
  const demotions = changes.filter(isDemotion).length;
  const max = policy.maxRemovals ?? DEFAULT_MAX_REMOVALS;
  if (removals + demotions > max) problems.push(removalLimitRefusal(removals, max, demotions));
  return problems;
}
