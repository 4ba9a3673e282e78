import type { ActualUser } from "../domain/account.js";
import type { AttributeChange } from "../domain/attributes.js";
import type { DesiredUser } from "../domain/desired.js";
import type { PlanContext, PlanInput } from "../domain/plan.js";
import { awaitingDue, dueUser } from "../domain/schedule.js";
import { isHistoricalUserId } from "../domain/userId.js";
import { attributeChangesIfAny } from "./attributes.js";
import { CaseVariants, caseVariantHint } from "./caseVariants.js";
import { hasResidue, wantsCompleteErasure } from "./erasure.js";
import { byUserId, Match } from "./match.js";
import { globMatcher, unmanagedExemption } from "./plan.js";

/**
 * How the server differs from the file, by kind — not all drift is equal:
 * - `reactivated`: the file says deactivated or erased and the user is active. The dangerous one
 *   (a departed person can sign in again): listed first.
 * - `deactivated-out-of-band`: the file says active and the user is deactivated or erased.
 * - `erasure`: deactivated vs erased disagree (the file says erased and the user is only
 *   deactivated — e.g. a failed reactivation that un-erased it — or the other way round).
 * - `due`: a deactivation or erasure the file schedules for a date that has passed, not yet
 *   carried out (the server is still as the file says before that date). A date still to come is
 *   not drift at all.
 * - `missing`: declared in the file, absent from the server.
 * - `attributes`: an active user whose managed attributes differ (old → new).
 * - `unmanaged`: an active user that is not in the file (under `unmanaged: report`, or under
 *   `deactivate` when the policy would deactivate it).
 * Under MAS, besides:
 * - `backends-disagree`: MAS and Synapse disagree (deactivated in one, active in the other), e.g. a
 *   deactivation through Synapse's Admin API that MAS never heard of, or one MAS has not finished.
 * - `synapse-only`: in Synapse but not in MAS — a user of the file, or an active one outside it
 *   that no application service is known to own: it cannot log in through MAS, nor be managed.
 */
export type DriftClass =
  | "reactivated"
  | "deactivated-out-of-band"
  | "erasure"
  | "backends-disagree"
  | "due"
  | "missing"
  | "attributes"
  | "synapse-only"
  | "unmanaged"
  // Rooms (src/plan/rooms.ts): a declared member left, someone undeclared was invited or joined, a power level moved.
  | "member-left"
  | "member-invited"
  | "member-joined"
  | "power-level";

export const DRIFT_ORDER: readonly DriftClass[] = [
  "reactivated",
  "deactivated-out-of-band",
  "erasure",
  "backends-disagree",
  "due",
  "missing",
  "attributes",
  "synapse-only",
  "unmanaged",
  "member-left",
  "member-invited",
  "member-joined",
  "power-level",
];

export interface DriftItem {
  class: DriftClass;
  userId: string;
  /** What the file says and what the server has. */
  expected: string;
  actual: string;
  changes?: AttributeChange[];
  /** For rooms' drift: the room (alias or ID, as the file writes it). */
  room?: string;
  /**
   * More to say, for a `missing` user: the server has it under another case (name it so), or it is
   * a historical ID that apply cannot create.
   */
  hint?: string;
}

export interface DriftReport {
  serverName: string;
  /** The accounts backend that was read ("synapse", "mas"). */
  backend?: string;
  drifted: boolean;
  counts: Record<DriftClass, number>;
  items: DriftItem[];
}

/** Pure: the same inputs as the planner, compared rather than planned. */
export function detectDrift(input: PlanInput): DriftReport {
  const detector = new DriftDetector(input);
  for (const have of input.actual.values()) detector.observe(have);
  return detector.finish();
}

/** detectDrift, fed the server's users one at a time as the list arrives (see Match). */
export class DriftDetector {
  readonly #items: DriftItem[] = [];
  readonly #match: Match;
  /** Server users whose ID differs from a file's user's only in case (see CaseVariants). */
  readonly #variants: CaseVariants;
  /** Server users paired with one of the file's so far: one that leaves it unchanged is not in the file. */
  #paired = 0;
  /** The file's users the server does not have: `missing`, with a hint once all are known. */
  readonly #missing: DesiredUser[] = [];

  constructor(private readonly context: PlanContext) {
    const isProtected = globMatcher(context.policy.protected);
    this.#variants = new CaseVariants(context.desired);
    const { unmanaged } = context.policy;
    this.#match = new Match(context.desired, {
      pair: (want, have) => this.#pair(want, have),
      ...(unmanaged === "ignore"
        ? {}
        : {
            unmanaged: (have: ActualUser) => {
              if (have.synapseOnly) {
                // Bridges' users live only in Synapse by design: drift only when not known to be one.
                if (have.state === "active" && !have.appserviceId && !have.isGuest)
                  this.#synapseOnly(have, "not in the file");
                return;
              }
              // Under `deactivate`, users the policy spares (bridges, guests, own, protected) are not
              // drift: apply would leave them as they are.
              if (unmanaged === "deactivate" && unmanagedExemption(have, context.ownUserId, isProtected)) return;
              this.#items.push({
                class: "unmanaged",
                userId: have.userId,
                expected: "not in the file",
                actual: "active",
              });
            },
          }),
    });
  }

  observe(have: ActualUser): void {
    if (have.disagreement) {
      this.#items.push({
        class: "backends-disagree",
        userId: have.userId,
        expected: "MAS and Synapse agree",
        actual: have.disagreement,
      });
    }
    const paired = this.#paired;
    this.#match.observe(have);
    if (this.#paired === paired) this.#variants.unmatched(have.userId);
  }

  /** Rows the server listed (a row repeated by pagination counts twice). */
  get listed(): number {
    return this.#match.listed;
  }

  #pair(fileUser: DesiredUser, have: ActualUser | undefined): void {
    // What the file wants at this run's clock: a date still to come is not drift; one passed is.
    const want = dueUser(fileUser, this.context.now);
    const { userId } = want;
    if (!have) {
      this.#missing.push(want);
      return;
    }
    this.#paired++;
    this.#variants.matched(want);
    if (have.synapseOnly) this.#synapseOnly(have, want.state);
    if (have.state === want.state) {
      if (have.state === "erased" && wantsCompleteErasure(want, this.context.policy) && hasResidue(have.residue)) {
        const { messages, media } = have.residue!;
        const actual = `erased, but ${messages} messages and ${media} media are left`;
        this.#items.push({ class: "erasure", userId, expected: "erased (complete)", actual });
      }
      if (have.state !== "active") return;
      const changes = attributeChangesIfAny(want, have);
      if (changes) this.#items.push({ class: "attributes", userId, expected: "active", actual: "active", changes });
      return;
    }
    if (awaitingDue(fileUser, want, have.state)) {
      const hint = `the file schedules it for ${want.due}, and that date has passed; apply carries it out`;
      this.#items.push({ class: "due", userId, expected: want.state, actual: have.state, hint });
      return;
    }
    const cls: DriftClass =
      have.state === "active" ? "reactivated" : want.state === "active" ? "deactivated-out-of-band" : "erasure";
    this.#items.push({ class: cls, userId, expected: want.state, actual: have.state });
  }

  #synapseOnly(have: ActualUser, expected: string): void {
    this.#items.push({
      class: "synapse-only",
      userId: have.userId,
      expected,
      actual: `${have.state}, in Synapse only`,
      hint: "MAS does not know this user: it cannot log in through MAS, and is never written through it",
    });
  }

  finish(): DriftReport {
    this.#match.finish();
    const absent = new Set<string>();
    for (const want of this.#missing) absent.add(want.userId);
    for (const want of this.#missing) {
      const { userId } = want;
      const item: DriftItem = { class: "missing", userId, expected: want.state, actual: "absent" };
      // Synapse would not create it again: the file most likely means the account it has in another case.
      const existing = this.#variants.of(userId, absent);
      if (existing.length > 0) item.hint = `the server has ${existing.join(" and ")}; ${caseVariantHint(existing)}`;
      else if (want.historical || isHistoricalUserId(userId))
        item.hint = "apply cannot create it: Synapse refuses new user IDs outside today's grammar";
      this.#items.push(item);
    }
    const rank = new Map(DRIFT_ORDER.map((c, i) => [c, i]));
    const items = this.#items.sort((a, b) => rank.get(a.class)! - rank.get(b.class)! || byUserId(a, b));
    const counts = Object.fromEntries(DRIFT_ORDER.map((c) => [c, 0])) as Record<DriftClass, number>;
    for (const item of items) counts[item.class]++;
    return {
      serverName: this.context.serverName,
      ...(this.context.backend ? { backend: this.context.backend.name } : {}),
      drifted: items.length > 0,
      counts,
      items,
    };
  }
}
