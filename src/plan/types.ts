import type { DesiredUser, PasswordRef } from "../config/types.js";
import type { AccountState, ActualUser, ExternalId } from "../synapse/types.js";

export type ActionKind = "create" | "update" | "deactivate" | "erase" | "reactivate";

/** The managed attributes; `password` is only ever sent on create and reactivate, never compared. */
export type Attribute = "displayname" | "admin" | "locked" | "emails" | "externalIds";

export type AttributeValue = string | boolean | string[] | ExternalId[] | null;

export interface AttributeChange {
  attribute: Attribute;
  /** `undefined` when the user does not exist yet. */
  from?: AttributeValue;
  to: AttributeValue;
}

/** What the user looked like on the server when the plan was made: the precondition of its action. */
export interface Observed {
  state: AccountState | "absent";
  admin?: boolean;
  locked?: boolean;
}

export interface Action {
  kind: ActionKind;
  userId: string;
  /** The state the action starts from (its precondition) and the state it ends in. */
  from: AccountState | "absent";
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
}

export type RefusalCode =
  | "un-erase"
  | "erased-to-deactivated"
  | "reactivation-not-allowed"
  | "own-user"
  | "protected-user"
  | "max-deactivations"
  | "max-erasures"
  | "password-not-allowed";

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
  exempt?: "own-user" | "protected" | "appservice" | "guest" | "appservice-unknown";
}

export interface PlanSummary {
  create: number;
  update: number;
  deactivate: number;
  erase: number;
  reactivate: number;
}

/** The pure planner's output: what apply would do, what it refuses, and what the file does not cover. */
export interface Plan {
  serverName: string;
  /** The policy the plan was made under: the file's, with this run's limits. Every report shows it. */
  policy: PlanContext["policy"];
  actions: Action[];
  refusals: Refusal[];
  unmanaged: UnmanagedUser[];
  summary: PlanSummary;
}

/** What the planner (and drift detection) know besides the server's users. */
export interface PlanContext {
  /** Desired users by full ID. */
  desired: Map<string, DesiredUser>;
  serverName: string;
  /** The admin token's own user: never deactivated, erased, locked or demoted. */
  ownUserId: string;
  policy: {
    unmanaged: "ignore" | "report" | "deactivate";
    maxDeactivations: number;
    maxErasures: number;
    protected: string[];
  };
  /**
   * Why a password reference may not be used, if it may not (the operator's allow-list, checked
   * without reading anything): a create or reactivation using it is refused in the plan.
   */
  passwordProblem?: (ref: PasswordRef) => string | undefined;
}

export interface PlanInput extends PlanContext {
  /** Every user on the server, by ID (details fetched for those whose emails/externalIds are managed). */
  actual: Map<string, ActualUser>;
}
