import type { AccountState, ActualState, ActualUser } from "./account.js";
import type { BackendTraits } from "./accounts.js";
import type { AttributeChange } from "./attributes.js";
import type { DesiredUser, PasswordRef } from "./desired.js";
import type { Policy } from "./policy.js";
import type { RoomChangeResult, RoomPlan } from "./rooms.js";
import type { ScheduledStep } from "./schedule.js";

/** What apply can do to an account. */
export const ACTION_KINDS = ["create", "update", "deactivate", "erase", "reactivate"] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

/** Why a plan refuses: every code a refusal can carry. */
export const REFUSAL_CODES = [
  "un-erase",
  "erased-to-deactivated",
  "reactivation-not-allowed",
  "own-user",
  "protected-user",
  "max-deactivations",
  "max-erasures",
  "password-not-allowed",
  "historical-id",
  "case-variant",
  "synapse-only",
  "password-login-disabled",
  "unknown-provider",
  // Rooms (src/plan/rooms.ts): what the admin user cannot do, and the removal threshold.
  "room-not-found",
  "room-admin-not-member",
  "room-admin-power",
  "room-creator",
  "room-member-inactive",
  "max-removals",
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

/**
 * Besides the state (`Action.from`), what the user looked like when the plan was made: part of the
 * precondition of its action that a saved plan checks again.
 */
export interface Observed {
  admin?: boolean;
  locked?: boolean;
}

export interface Action {
  kind: ActionKind;
  userId: string;
  /** The state the action starts from (its precondition) and the state it ends in. */
  from: ActualState;
  to: AccountState;
  /** Attribute values to set, old → new. */
  changes: AttributeChange[];
  /** Erasure cannot be undone (and must never be, by us). */
  irreversible: boolean;
  /** Why this action exists when it is not a line of the file, e.g. the `unmanaged: deactivate` policy. */
  reason?: "unmanaged";
  /** Where to read the password sent with a create or reactivate: a reference, never the secret. */
  password?: PasswordRef;
  observed: Observed;
  /** The file's date (deactivateOn/eraseOn, as written) that made this action due, when one did. */
  due?: string;
  /**
   * A complete erasure: the user's messages are redacted and media deleted before the erase (or,
   * from `erased`, what an earlier purge left). The counts as the plan saw them; null where not read
   * (a plan made offline against a snapshot).
   */
  purge?: PurgeCounts;
}

export interface PurgeCounts {
  rooms: number | null;
  messages: number | null;
  media: number | null;
}

export interface Refusal {
  code: RefusalCode;
  /** The user concerned; absent for plan-wide refusals (thresholds). */
  userId?: string;
  message: string;
  /** What to do about it. */
  hint?: string;
}

export interface UnmanagedUser {
  userId: string;
  state: AccountState;
  /** Why the `unmanaged: deactivate` policy leaves this user alone, when it does. */
  exempt?: "own-user" | "protected" | "appservice" | "guest" | "appservice-unknown" | "synapse-only";
}

export type PlanSummary = Record<ActionKind, number>;

/** The pure planner's output: what apply would do, what it refuses, and what the file does not cover. */
export interface Plan {
  serverName: string;
  /** The accounts backend the plan was made against ("synapse", "mas"); absent for an offline plan. */
  backend?: string;
  /** The policy the plan was made under: the file's, with this run's limits. Every report shows it. */
  policy: PlanContext["policy"];
  actions: Action[];
  refusals: Refusal[];
  unmanaged: UnmanagedUser[];
  summary: PlanSummary;
  /** The clock the plan was made with (PlanContext.now), as an ISO instant; absent in plans saved before it was recorded. */
  now?: string;
  /** What the file schedules for later than `now`, by date: not actions yet. */
  scheduled?: ScheduledStep[];
  /** Joins, removals and power-level changes in the file's rooms, when the file declares rooms. */
  rooms?: RoomPlan;
}

/** Whether applying the plan would change anything: an account or a room. */
export function planHasChanges(plan: Plan): boolean {
  return plan.actions.length > 0 || (plan.rooms?.changes.length ?? 0) > 0;
}

/** What the planner (and drift detection) know besides the server's users. */
export interface PlanContext {
  /** Desired users by full ID. */
  desired: Map<string, DesiredUser>;
  serverName: string;
  /** The admin token's own user: never deactivated, erased, locked or demoted. */
  ownUserId: string;
  policy: Policy;
  /**
   * Why a password reference may not be used, if it may not (the operator's allow-list, checked
   * without reading anything): a create or reactivation using it is refused in the plan.
   */
  passwordProblem?: (ref: PasswordRef) => string | undefined;
  /** The accounts backend that was read, and what it cannot do (see BackendTraits). */
  backend?: BackendTraits & { name: string };
  /**
   * The clock, in ms since the epoch: which of the file's scheduled dates (deactivateOn, eraseOn)
   * have come due. Injected, so that the planner stays a pure function of its inputs.
   */
  now: number;
}

export interface PlanInput extends PlanContext {
  /** Every user on the server, by ID (details fetched for those whose emails/externalIds are managed). */
  actual: Map<string, ActualUser>;
}

/** How an action ended in apply. */
export const OUTCOMES = ["done", "failed", "stale", "not-started"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface ActionResult {
  action: Action;
  outcome: Outcome;
  /** Why it failed or was stale. */
  message?: string;
  /** The state read back after the action (for the report and the audit log). */
  verified?: ActualState;
}

export interface ApplyResult {
  results: ActionResult[];
  summary: Record<Outcome, number>;
  /** How each room change ended, when the plan had any. */
  rooms?: RoomChangeResult[];
}
