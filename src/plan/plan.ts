import type { ActualUser } from "../domain/account.js";
import type { AttributeChange } from "../domain/attributes.js";
import type { DesiredUser } from "../domain/desired.js";
import type { Action, Plan, PlanContext, PlanInput, Refusal, UnmanagedUser } from "../domain/plan.js";
import { dueUser, type ScheduledStep, stepsAhead } from "../domain/schedule.js";
import { attributeChanges, attributeChangesIfAny, managesDetails } from "./attributes.js";
import { CaseVariants, creationRefusal } from "./caseVariants.js";
import { hasResidue, purgeCounts, wantsCompleteErasure } from "./erasure.js";
import { LIFECYCLE, type Transition } from "./lifecycle.js";
import { byUserId, Match } from "./match.js";

/**
 * desired + actual → Plan. Pure: no network, no clock of its own (`now` is given), no output. Every decision about an account's
 * lifecycle is a lookup in LIFECYCLE; the guards below (own user, protected users, thresholds) only
 * ever add refusals. A plan with any refusal must not be applied at all.
 */
export function planUsers(input: PlanInput): Plan {
  const planner = new Planner(input);
  for (const have of input.actual.values()) planner.observe(have);
  return planner.finish();
}

/**
 * planUsers, fed the server's users one at a time as the list arrives (see Match): a plan of a
 * large server never holds the server's side whole. The same decisions, whatever the order.
 */
export class Planner {
  readonly #actions: Action[] = [];
  readonly #refusals: Refusal[] = [];
  readonly #unmanaged: UnmanagedUser[] = [];
  readonly #match: Match;
  readonly #isProtected: (userId: string) => boolean;
  /** Server users whose ID differs from a file's user's only in case (see CaseVariants). */
  readonly #variants: CaseVariants;
  /** Server users paired with one of the file's so far: one that leaves it unchanged is not in the file. */
  #paired = 0;
  /** The file's users the server does not have, planned once all are known (see #planAbsent). */
  readonly #absent: DesiredUser[] = [];
  /** The schedule's steps still to come at `context.now`. */
  readonly #scheduled: ScheduledStep[] = [];

  constructor(private readonly context: PlanContext) {
    this.#isProtected = globMatcher(context.policy.protected);
    this.#variants = new CaseVariants(context.desired);
    this.#match = new Match(context.desired, {
      pair: (want, have) => this.#pair(want, have),
      ...(context.policy.unmanaged === "ignore" ? {} : { unmanaged: (have: ActualUser) => this.#unmanagedUser(have) }),
    });
  }

  observe(have: ActualUser): void {
    const paired = this.#paired;
    this.#match.observe(have);
    if (this.#paired === paired) this.#variants.unmatched(have.userId);
  }

  /** Rows the server listed (a row repeated by pagination counts twice). */
  get listed(): number {
    return this.#match.listed;
  }

  #guard(userId: string): "own-user" | "protected-user" | undefined {
    return userId === this.context.ownUserId ? "own-user" : this.#isProtected(userId) ? "protected-user" : undefined;
  }

  #pair(fileUser: DesiredUser, have: ActualUser | undefined): void {
    // What the file wants at this plan's clock: its state, or what a date that has passed makes it.
    const want = dueUser(fileUser, this.context.now);
    if (fileUser.schedule) this.#scheduled.push(...stepsAhead(fileUser, this.context.now));
    if (!have) {
      this.#absent.push(want);
      return;
    }
    this.#paired++;
    this.#variants.matched(want);
    this.#plan(want, have);
  }

  /**
   * The file's users the server does not have, once the whole list is read: a historical ID, or one
   * the server has in another case, is refused rather than planned as a create that Synapse would
   * refuse half-way through apply.
   */
  #planAbsent(): void {
    const absent = new Set<string>();
    for (const want of this.#absent) absent.add(want.userId);
    for (const want of this.#absent) {
      const refusal = creationRefusal(want, this.#variants.of(want.userId, absent));
      if (refusal) this.#refusals.push(refusal);
      else this.#plan(want, undefined);
    }
  }

  #plan(want: DesiredUser, have: ActualUser | undefined): void {
    const { userId } = want;
    const from = have ? have.state : "absent";
    const complete = wantsCompleteErasure(want, this.context.policy);
    let cell = LIFECYCLE[from][want.state];
    // An erased user a complete erasure has not finished with (media or messages left): the rest of
    // the purge is an erasure of its own, shown and counted like one.
    if (cell.do === "nothing" && complete && from === "erased" && hasResidue(have?.residue)) cell = FINISH_PURGE;
    if (cell.do === "nothing") return;
    if (cell.do === "refuse" || ("unlessFlag" in cell && cell.unlessFlag && !want[cell.unlessFlag])) {
      const { code, why } = cell as { code: Refusal["code"]; why: string };
      this.#refusals.push({ code, userId, message: `${userId} ${why}` });
      return;
    }
    let changes: AttributeChange[];
    if (cell.do === "update") {
      // Most users on a large server are unchanged: no list is made for them.
      const found = attributeChangesIfAny(want, have);
      if (!found) return;
      changes = found;
    } else changes = cell.do === "reactivate" || cell.do === "create" ? attributeChanges(want, have) : [];
    const action: Action = {
      kind: cell.do,
      userId,
      from,
      to: want.state,
      changes,
      irreversible: "irreversible" in cell && cell.irreversible === true,
      observed: have ? { admin: have.admin, locked: have.locked } : {},
    };
    const backendRefusal = this.#backendRefusal(want, have, action);
    if (backendRefusal) {
      this.#refusals.push(backendRefusal);
      return;
    }
    if (want.due !== undefined) action.due = want.due;
    // A new account has nothing to purge.
    if (complete && action.kind === "erase") action.purge = purgeCounts(have?.residue);
    if (want.password && want.state === "active" && (cell.do === "create" || cell.do === "reactivate")) {
      action.password = want.password;
      const problem = this.context.passwordProblem?.(want.password);
      if (problem) {
        this.#refusals.push({
          code: "password-not-allowed",
          userId,
          message: `${userId}: ${problem}`,
          hint: "allow it with --password-env-prefix, --password-env or --password-dir (the Action: password-env-prefix, password-env, password-dir)",
        });
        return;
      }
    }
    const guarded = this.#guard(userId);
    const harm = guarded && harmDone(action);
    if (guarded && harm) {
      this.#refusals.push({
        code: guarded,
        userId,
        message: `${userId} is ${guarded === "own-user" ? "the admin token's own user" : "protected by policy.protected"}; refusing to ${harm}`,
      });
      return;
    }
    this.#actions.push(action);
  }

  /**
   * What the accounts backend cannot do (MAS): write a user that lives only in Synapse, set a
   * password when password login is off, link an identity at a provider it does not know.
   */
  #backendRefusal(want: DesiredUser, have: ActualUser | undefined, action: Action): Refusal | undefined {
    const backend = this.context.backend;
    if (!backend) return undefined;
    const { userId } = want;
    if (have?.synapseOnly) {
      return {
        code: "synapse-only",
        userId,
        message: `${userId} lives only in Synapse, not in ${backend.name.toUpperCase()}; refusing to ${action.kind} it through ${backend.name.toUpperCase()}`,
        hint: "an application-service (bridge) user is its bridge's to manage; migrate other accounts to MAS (syn2mas), or remove the entry",
      };
    }
    const setsPassword =
      want.password && want.state === "active" && (action.kind === "create" || action.kind === "reactivate");
    if (setsPassword && backend.passwordLogin === false) {
      return {
        code: "password-login-disabled",
        userId,
        message: `${userId}: a password is given, but password login is off in MAS (site-config password_login_enabled: false)`,
        hint: "remove the password from the entry, or enable passwords in MAS's config (passwords.enabled: true)",
      };
    }
    const ext = action.changes.find((c) => c.attribute === "externalIds");
    for (const e of (ext?.to ?? []) as { provider: string }[]) {
      const problem = backend.providerProblem?.(e.provider);
      if (problem) {
        return {
          code: "unknown-provider",
          userId,
          message: `${userId}: externalIds: ${problem}`,
          hint: "write the MAS upstream provider's ID (a ULID; GET /api/admin/v1/upstream-oauth-providers), or its exact human_name or issuer",
        };
      }
    }
    return undefined;
  }

  #unmanagedUser(have: ActualUser): void {
    const { policy, ownUserId } = this.context;
    // Why the deactivate policy spares this user; under `report` nobody is touched, so no reason is given.
    const exempt =
      policy.unmanaged === "deactivate" ? unmanagedExemption(have, ownUserId, this.#isProtected) : undefined;
    this.#unmanaged.push(
      exempt ? { userId: have.userId, state: have.state, exempt } : { userId: have.userId, state: have.state },
    );
    if (policy.unmanaged === "deactivate" && !exempt) {
      this.#actions.push({
        kind: "deactivate",
        userId: have.userId,
        from: "active",
        to: "deactivated",
        changes: [],
        irreversible: false,
        reason: "unmanaged",
        observed: { admin: have.admin, locked: have.locked },
      });
    }
  }

  /** The plan, once every server user has been observed. */
  finish(): Plan {
    this.#match.finish();
    this.#planAbsent();
    const actions = this.#actions.sort(byUserId);
    const refusals = this.#refusals.sort((a, b) => byUserId({ userId: a.userId ?? "" }, { userId: b.userId ?? "" }));
    refusals.push(...limitRefusals(actions, this.context.policy));
    const summary = { create: 0, update: 0, deactivate: 0, erase: 0, reactivate: 0 };
    for (const a of actions) summary[a.kind]++;
    return {
      serverName: this.context.serverName,
      ...(this.context.backend ? { backend: this.context.backend.name } : {}),
      policy: this.context.policy,
      actions,
      refusals,
      unmanaged: this.#unmanaged.sort(byUserId),
      summary,
      now: new Date(this.context.now).toISOString(),
      scheduled: this.#scheduled.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : byUserId(a, b))),
    };
  }
}

/**
 * The plan-wide refusals: more deactivations of active users, or more erasures, than the policy
 * allows. They guard against a broken file (an emptied users: map, a bad merge) taking out a server,
 * and are checked again, under the limits of the moment, when a saved plan is applied.
 */
export function limitRefusals(actions: readonly Action[], policy: PlanContext["policy"]): Refusal[] {
  const refusals: Refusal[] = [];
  const deactivations = actions.filter(
    (a) => (a.kind === "deactivate" || a.kind === "erase") && a.from === "active",
  ).length;
  if (deactivations > policy.maxDeactivations) {
    refusals.push({
      code: "max-deactivations",
      message: `the plan deactivates ${deactivations} active users, over the limit of ${policy.maxDeactivations}`,
      hint: `if that is intended, raise policy.maxDeactivations or pass --max-deactivations ${deactivations}`,
    });
  }
  const erasures = actions.filter((a) => a.kind === "erase").length;
  if (erasures > policy.maxErasures) {
    refusals.push({
      code: "max-erasures",
      message: `the plan erases ${erasures} users, over the limit of ${policy.maxErasures}`,
      hint: `if that is intended, raise policy.maxErasures or pass --max-erasures ${erasures}`,
    });
  }
  return refusals;
}

/** Why `unmanaged: deactivate` spares an active user who is not in the file, if it does. */
export function unmanagedExemption(
  have: ActualUser,
  ownUserId: string,
  isProtected: (userId: string) => boolean,
): UnmanagedUser["exempt"] {
  if (have.userId === ownUserId) return "own-user";
  if (isProtected(have.userId)) return "protected";
  // Never written through MAS, whatever the policy says.
  if (have.synapseOnly) return "synapse-only";
  if (have.isGuest) return "guest";
  // Bridges' users: only the single-user GET says; not read means not known, and not known means spared.
  if (have.appserviceId === undefined) return "appservice-unknown";
  return have.appserviceId !== null ? "appservice" : undefined;
}

const FINISH_PURGE: Transition = { do: "erase", irreversible: true };

/** What an action would do that own and protected users must be spared, if anything. */
function harmDone(action: Action): string | undefined {
  if (action.to === "erased") return "erase it";
  if (action.to === "deactivated") return "deactivate it";
  const lock = action.changes.some((c) => c.attribute === "locked" && c.to === true && c.from !== true);
  if (lock) return "lock it";
  const suspend = action.changes.some((c) => c.attribute === "suspended" && c.to === true && c.from !== true);
  if (suspend) return "suspend it";
  const demote = action.changes.some((c) => c.attribute === "admin" && c.to === false && c.from === true);
  if (demote) return "remove its admin rights";
  return undefined;
}

/**
 * `*` matches any run of characters; everything else is literal. In time linear in the user ID
 * for each pattern: a pattern comes from the file (a pull request), and a regular expression of
 * it (`.*a.*a.*…`) backtracks exponentially — `@*a*a*a*a*a*a*a*a*:x` took 8.5 s per user ID.
 */
export function globMatcher(patterns: string[]): (userId: string) => boolean {
  const exact = new Set<string>();
  const globs: Glob[] = [];
  for (const pattern of patterns) {
    if (pattern.includes("*")) globs.push(compileGlob(pattern));
    else exact.add(pattern);
  }
  if (globs.length === 0) return exact.size === 0 ? () => false : (userId) => exact.has(userId);
  return (userId) => {
    if (exact.has(userId)) return true;
    for (const glob of globs) if (globMatches(glob, userId)) return true;
    return false;
  };
}

/** A pattern with at least one `*`: the text before the first, after the last, and between them. */
interface Glob {
  prefix: string;
  suffix: string;
  /** The non-empty parts between stars, in order. */
  middle: string[];
  /** The shortest text it matches. */
  minLength: number;
}

function compileGlob(pattern: string): Glob {
  const parts = pattern.split("*");
  const prefix = parts[0]!;
  const suffix = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1).filter((part) => part !== "");
  const minLength = prefix.length + suffix.length + middle.reduce((sum, part) => sum + part.length, 0);
  return { prefix, suffix, middle, minLength };
}

/**
 * Prefix and suffix are anchored; the middle parts are found left to right, each at its first
 * occurrence after the one before. Taking the leftmost occurrence never loses a match: whatever
 * follows can only have more room.
 */
function globMatches(glob: Glob, text: string): boolean {
  if (text.length < glob.minLength || !text.startsWith(glob.prefix) || !text.endsWith(glob.suffix)) return false;
  const end = text.length - glob.suffix.length;
  let at = glob.prefix.length;
  for (const part of glob.middle) {
    const found = text.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

/** Existing users whose `suspended` the file manages: only the single-user GET says (under MAS too). */
export function needsSuspended(desired: Map<string, DesiredUser>): (user: ActualUser) => boolean {
  return (user) => user.state !== "erased" && desired.get(user.userId)?.suspended !== undefined;
}

/**
 * Which users the plan needs read in full (single-user GET) because the list does not answer:
 * existing users whose emails or external IDs the file manages, and, under `unmanaged: deactivate`,
 * active users outside the file (to know whether an application service owns them).
 */
export function needsDetails(
  desired: Map<string, DesiredUser>,
  unmanagedPolicy: PlanInput["policy"]["unmanaged"],
): (user: ActualUser) => boolean {
  // Asked of every user on the server: the few the file manages emails or external IDs of are
  // gathered once, so that most answers cost no lookup in the (large) desired map.
  const withDetails = new Set<string>();
  for (const want of desired.values()) {
    if (managesDetails(want)) withDetails.add(want.userId);
  }
  if (unmanagedPolicy !== "deactivate") {
    if (withDetails.size === 0) return () => false;
    return (user) => user.state !== "erased" && withDetails.has(user.userId);
  }
  return (user) =>
    withDetails.has(user.userId)
      ? user.state !== "erased"
      : user.state === "active" && !user.isGuest && !desired.has(user.userId);
}
