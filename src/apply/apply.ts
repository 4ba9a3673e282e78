import { readFile } from "node:fs/promises";
import type { PasswordRef } from "../config/types.js";
import { ToolError } from "../errors.js";
import { actualValue, sameValue } from "../plan/attributes.js";
import type { Action, Plan } from "../plan/types.js";
import type { SynapseClient } from "../synapse/client.js";
import type { ActualUser, UserChanges } from "../synapse/types.js";
import { mapConcurrent } from "../util/concurrency.js";

export type Outcome = "done" | "failed" | "stale" | "not-started";

export interface ActionResult {
  action: Action;
  outcome: Outcome;
  /** Why it failed or was stale. */
  message?: string;
}

export interface ApplyResult {
  results: ActionResult[];
  summary: Record<Outcome, number>;
}

export interface ApplyOptions {
  concurrency: number;
  /** Called as each action ends, for progress output. */
  onResult?: (result: ActionResult) => void;
  /** Once this returns false, no further action starts (those in flight finish). */
  shouldContinue?: () => boolean;
  /** Reads a password reference; injectable for tests. */
  readPassword?: (ref: PasswordRef) => Promise<string>;
}

/** A user that is no longer as the plan saw it: the action is skipped, not forced. */
class StaleError extends Error {}

/**
 * Applies a refusal-free plan: the only code that writes to Synapse.
 *
 * Each action first re-reads its user when it changes the account's state (create, deactivate,
 * erase, reactivate): if the state is no longer the one planned, the action is skipped as stale —
 * above all, a user erased since the plan is never "reactivated" (which would un-erase it). After
 * each action the user is read back to confirm the result. One user's failure does not stop the
 * others.
 */
export async function applyPlan(client: SynapseClient, plan: Plan, options: ApplyOptions): Promise<ApplyResult> {
  if (plan.refusals.length > 0) {
    throw new ToolError(
      "the plan has refusals; nothing was applied",
      "fix the refusals listed in the plan, then plan again",
    );
  }
  const readPassword = options.readPassword ?? readPasswordRef;
  const results: ActionResult[] = plan.actions.map((action) => ({ action, outcome: "not-started" }));
  await mapConcurrent(
    results,
    options.concurrency,
    async (result) => {
      try {
        await applyOne(client, result.action, readPassword);
        result.outcome = "done";
      } catch (e) {
        result.outcome = e instanceof StaleError ? "stale" : "failed";
        result.message = e instanceof Error ? e.message : String(e);
      }
      options.onResult?.(result);
    },
    options.shouldContinue,
  );
  const summary: Record<Outcome, number> = { done: 0, failed: 0, stale: 0, "not-started": 0 };
  for (const r of results) summary[r.outcome]++;
  return { results, summary };
}

async function applyOne(client: SynapseClient, action: Action, readPassword: (ref: PasswordRef) => Promise<string>) {
  const { userId } = action;
  if (action.kind !== "update") {
    const now = await client.findUser(userId);
    const state = now?.state ?? "absent";
    if (state !== action.from) {
      throw new StaleError(`${userId} is ${state} now, but the plan saw it ${action.from}; run plan again`);
    }
  }
  const changes = toChanges(action);
  if (action.password) changes.password = await readPassword(action.password);
  switch (action.kind) {
    case "create": {
      // Creating ignores `locked` (Synapse); set it in a second call.
      const { locked, ...rest } = changes;
      const { created } = await client.createUser(userId, rest);
      if (!created) throw new StaleError(`${userId} was created by someone else while we applied; run plan again`);
      if (locked) await client.modifyUser(userId, { locked });
      if (action.to !== "active") await client.deactivate(userId, { erase: action.to === "erased" });
      break;
    }
    case "update":
      await client.modifyUser(userId, changes);
      break;
    case "reactivate":
      await client.modifyUser(userId, { ...changes, deactivated: false });
      break;
    case "deactivate":
    case "erase":
      await client.deactivate(userId, { erase: action.kind === "erase" });
      break;
  }
  verify(action, await client.getUser(userId));
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

export async function readPasswordRef(ref: PasswordRef): Promise<string> {
  if ("env" in ref) {
    const value = process.env[ref.env];
    if (!value) throw new ToolError(`the password variable ${ref.env} is not set`);
    return value;
  }
  try {
    return (await readFile(ref.file, "utf8")).replace(/\r?\n$/, "");
  } catch (cause) {
    throw new ToolError(`cannot read the password file ${ref.file}: ${(cause as NodeJS.ErrnoException).code ?? cause}`);
  }
}
