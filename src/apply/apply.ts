import { streamInventory } from "../accounts/inventory.js";
import { type PasswordPolicy, readPasswordRef } from "../config/passwords.js";
import type { AccountState, ActualUser } from "../domain/account.js";
import type { AccountsBackend, UserChanges } from "../domain/accounts.js";
import { DETAIL_ATTRIBUTES } from "../domain/attributes.js";
import type { PasswordRef } from "../domain/desired.js";
import type { Action, Plan } from "../domain/plan.js";
import type { RoomChangeResult } from "../domain/rooms.js";
import { ToolError } from "../errors.js";
import { actualValue, sameValue } from "../plan/attributes.js";
import { DEFAULT_PAGE_SIZE } from "../synapse/client.js";
import { SynapseError } from "../synapse/errors.js";
import { mapConcurrent } from "../util/concurrency.js";
import type { ApplyLock } from "./lock.js";
import { purgeUser } from "./purge.js";

export type Outcome = "done" | "failed" | "stale" | "not-started";

export interface ActionResult {
  action: Action;
  outcome: Outcome;
  /** Why it failed or was stale. */
  message?: string;
  /** The state read back after the action (for the report and the audit log). */
  verified?: AccountState | "absent";
}

export interface ApplyResult {
  results: ActionResult[];
  summary: Record<Outcome, number>;
  /** How each room change ended (src/apply/rooms.ts), when the plan had any. */
  rooms?: RoomChangeResult[];
}

export interface ApplyOptions {
  concurrency: number;
  /** Called as each action ends, for progress output. */
  onResult?: (result: ActionResult) => void;
  /** Once this returns false, no further action starts (those in flight finish). */
  shouldContinue?: () => boolean;
  /**
   * What password references may read (the operator's --password-* flags); absent, none may: a
   * create or reactivation with a password then fails, naming the reference.
   */
  passwordPolicy?: PasswordPolicy;
  /** Where `{ env: NAME }` references are read (the shell's environment). */
  env?: Record<string, string | undefined>;
  /** Reads a password reference; injectable for tests (then passwordPolicy and env are not used). */
  readPassword?: (ref: PasswordRef) => Promise<string>;
  /** Takes the server's apply lock (waiting for another apply to finish): held while anything is written. */
  lock: () => Promise<ApplyLock>;
  /** Users on the server, when known: decides whether read-backs go through one listing or one GET each. */
  inventorySize?: number;
  /** Called as each action's changes are sent (before a read-back left to the end), for progress. */
  onApplied?: (sent: number, total: number) => void;
  /**
   * The plan's room changes (src/apply/rooms.ts), run after the accounts' actions under the same
   * lock, while `shouldContinue` says so.
   */
  rooms?: (shouldContinue: () => boolean) => Promise<RoomChangeResult[]>;
}

/** A user that is no longer as the plan saw it: the action is skipped, not forced. */
class StaleError extends Error {}

/**
 * Applies a refusal-free plan: the only code that writes to accounts.
 *
 * Each create, update, erasure and reactivation first re-reads its user (see RECHECKED; a plain
 * deactivation does not): if the state is no longer the one planned, the action is skipped as
 * stale — above all, a user erased since the plan is never "reactivated" (which would un-erase it).
 * After each action the user is read back to confirm the result. One user's failure does not stop
 * the others.
 */
export async function applyPlan(accounts: AccountsBackend, plan: Plan, options: ApplyOptions): Promise<ApplyResult> {
  if (plan.refusals.length > 0) {
    throw new ToolError(
      "the plan has refusals; nothing was applied",
      "fix the refusals listed in the plan, then plan again",
    );
  }
  const readPassword =
    options.readPassword ??
    ((ref: PasswordRef) => readPasswordRef(ref, options.passwordPolicy ?? {}, options.env ?? {}));
  const results: ActionResult[] = plan.actions.map((action) => ({ action, outcome: "not-started" }));
  if (results.length === 0 && !options.rooms)
    return { results, summary: { done: 0, failed: 0, stale: 0, "not-started": 0 } };
  let rooms: RoomChangeResult[] | undefined;
  const lock = await options.lock();
  try {
    // No new action once the lease is lost (a renewal found it gone) or the caller says stop.
    const shouldContinue = () => lock.held() && (options.shouldContinue?.() ?? true);
    if (results.length > 0) {
      await runAll(accounts, results, { ...options, shouldContinue }, (action, readBackLater) =>
        applyOne(accounts, action, readPassword, lock, readBackLater),
      );
    }
    rooms = await options.rooms?.(shouldContinue);
  } finally {
    await lock.release();
  }
  const summary: Record<Outcome, number> = { done: 0, failed: 0, stale: 0, "not-started": 0 };
  for (const r of results) summary[r.outcome]++;
  return rooms ? { results, summary, rooms } : { results, summary };
}

async function runAll(
  accounts: AccountsBackend,
  results: ActionResult[],
  options: ApplyOptions,
  perform: (action: Action, readBackLater: boolean) => Promise<ActualUser | undefined>,
): Promise<void> {
  // One listing costs about as much as ten single-user reads per page of 5,000 users: read many
  // results back that way, a few one by one.
  const pages = Math.ceil((options.inventorySize ?? Number.POSITIVE_INFINITY) / DEFAULT_PAGE_SIZE);
  const readBackLater = results.filter((r) => !needsDetailRead(r.action)).length > pages * 10;
  const deferred: ActionResult[] = [];
  let sent = 0;
  await mapConcurrent(
    results,
    options.concurrency,
    async (result) => {
      try {
        const after = await perform(result.action, readBackLater);
        options.onApplied?.(++sent, results.length);
        if (!after) return void deferred.push(result);
        result.verified = after.state;
        result.outcome = "done";
      } catch (e) {
        result.outcome = e instanceof StaleError ? "stale" : "failed";
        result.message = e instanceof Error ? e.message : String(e);
      }
      options.onResult?.(result);
    },
    options.shouldContinue,
  );
  if (deferred.length === 0) return;
  // Only the users read back are kept from the listing.
  const actual = new Map<string, ActualUser | undefined>(deferred.map((r) => [r.action.userId, undefined]));
  try {
    await streamInventory(accounts, (user) => {
      if (actual.has(user.userId)) actual.set(user.userId, user);
    });
  } catch (e) {
    for (const r of deferred) {
      r.outcome = "failed";
      r.message = `changed, but could not be read back: ${e instanceof Error ? e.message : String(e)}`;
      options.onResult?.(r);
    }
    return;
  }
  for (const r of deferred) {
    const after = actual.get(r.action.userId);
    try {
      if (!after) throw new Error(`${r.action.userId} is absent after ${r.action.kind}`);
      verify(r.action, after);
      r.verified = after.state;
      r.outcome = "done";
    } catch (e) {
      r.outcome = "failed";
      r.message = e instanceof Error ? e.message : String(e);
    }
    options.onResult?.(r);
  }
}

/**
 * Re-read right before they run: create (a PUT on a user that appeared meanwhile would modify it),
 * update (on a user erased meanwhile it would write personal data back), erase (irreversible) and
 * reactivate (on a user erased meanwhile it would un-erase). A plain deactivation writes nothing
 * and is harmless on a user changed meanwhile, so it skips the extra request; no other
 * synapse-gitops apply can interleave (the lock).
 */
const RECHECKED = new Set<Action["kind"]>(["create", "update", "erase", "reactivate"]);

/** Whether the read-back needs the single-user GET (emails and external IDs are not in the list). */
function needsDetailRead(action: Action): boolean {
  return action.changes.some((c) => DETAIL_ATTRIBUTES.includes(c.attribute));
}

/** Performs the action; returns the user read back, or undefined when the read-back is left to one listing. */
async function applyOne(
  accounts: AccountsBackend,
  action: Action,
  readPassword: (ref: PasswordRef) => Promise<string>,
  lock: ApplyLock,
  readBackLater: boolean,
): Promise<ActualUser | undefined> {
  const { userId } = action;
  if (RECHECKED.has(action.kind)) {
    const now = await accounts.findUser(userId);
    const state = now?.state ?? "absent";
    if (state !== action.from) {
      throw new StaleError(`${userId} is ${state} now, but the plan saw it ${action.from}; run plan again`);
    }
  }
  // Irreversible steps only while this run still holds the server's apply lock.
  if (action.to === "erased" || action.kind === "reactivate") await lock.confirm();
  const changes = toChanges(action);
  const matches = (u: ActualUser | undefined) =>
    u !== undefined && action.changes.every((c) => sameValue(c.attribute, actualValue(u, c.attribute), c.to));
  const step = (
    run: () => Promise<unknown>,
    done: (u: ActualUser | undefined) => boolean,
    before: AccountState | "absent",
  ) => recoverable(accounts, userId, run, done, before);
  if (action.password) changes.password = await readPassword(action.password);
  switch (action.kind) {
    case "create": {
      // Creating ignores `locked` (Synapse); set it in a second call.
      const { locked, ...rest } = changes;
      await step(
        async () => {
          const { created } = await accounts.createUser(userId, rest);
          if (!created) throw new StaleError(`${userId} was created by someone else while we applied; run plan again`);
        },
        (u) => u !== undefined,
        "absent",
      );
      if (locked)
        await step(
          () => accounts.setLocked(userId, locked),
          (u) => u?.locked === true,
          "active",
        );
      if (action.to !== "active") {
        const erase = action.to === "erased";
        await step(
          () => (erase ? accounts.erase(userId) : accounts.deactivate(userId)),
          (u) => u?.state === action.to,
          "active",
        );
      }
      break;
    }
    case "update":
      await step(() => accounts.updateUser(userId, changes), matches, "active");
      break;
    case "reactivate":
      // Repeated only while the user is still deactivated: never towards an erased user.
      await step(
        () => accounts.reactivate(userId, changes),
        (u) => u?.state === "active" && matches(u),
        "deactivated",
      );
      break;
    case "deactivate":
    case "erase":
      // A complete erasure: messages and media go first, while the user is still in their rooms.
      if (action.purge) await purgeUser(accounts, userId);
      // From `erased`, the purge was all that was left to do.
      if (action.from === "erased") break;
      await step(
        () => (action.kind === "erase" ? accounts.erase(userId) : accounts.deactivate(userId)),
        (u) => u?.state === action.to,
        action.from,
      );
      break;
  }
  if (readBackLater && !needsDetailRead(action)) return undefined;
  const after = await accounts.findUser(userId);
  if (!after) throw new Error(`${userId} is absent after ${action.kind}`);
  verify(action, after);
  return after;
}

/** Failures after which the request may or may not have been carried out. */
function outcomeUnknown(e: unknown): boolean {
  return (
    e instanceof SynapseError &&
    (e.kind === "network" || e.kind === "invalid-response" || (e.status !== undefined && e.status >= 500))
  );
}

/**
 * Runs one mutation. If its outcome is unknown (the connection broke after sending, a 5xx), it is
 * never blindly repeated: the user is re-read; if the step's effect is there, it is done; if the
 * user is still as it was before the step, the step is repeated (twice at most); otherwise the
 * action is stale.
 */
async function recoverable(
  accounts: AccountsBackend,
  userId: string,
  run: () => Promise<unknown>,
  done: (u: ActualUser | undefined) => boolean,
  before: AccountState | "absent",
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await run();
      return;
    } catch (e) {
      if (!outcomeUnknown(e) || attempt >= 2) throw e;
      const now = await accounts.findUser(userId);
      if (done(now)) return;
      const state = now?.state ?? "absent";
      if (state !== before) throw new StaleError(`${userId} became ${state} while we applied; run plan again`);
    }
  }
}

function toChanges(action: Action): UserChanges {
  const changes: UserChanges = {};
  for (const c of action.changes) (changes as Record<string, unknown>)[c.attribute] = c.to;
  return changes;
}

/** The user as read back must be in the planned state with the planned attribute values. */
function verify(action: Action, user: ActualUser) {
  if (user.state !== action.to) {
    throw new Error(`${action.userId} is ${user.state} after ${action.kind}; expected ${action.to}`);
  }
  for (const c of action.changes) {
    const got = actualValue(user, c.attribute);
    if (!sameValue(c.attribute, got, c.to)) {
      throw new Error(
        `${action.userId}: ${c.attribute} is ${JSON.stringify(got)} after ${action.kind}; expected ${JSON.stringify(c.to)}`,
      );
    }
  }
}
