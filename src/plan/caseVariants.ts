import type { DesiredUser } from "../domain/desired.js";
import type { Refusal } from "../domain/plan.js";
import { isHistoricalUserId, NEW_LOCALPART_CHARACTERS } from "../domain/userId.js";

/**
 * Server users whose ID differs from one of the file's only in case: `@Old.Admin` when the file
 * names `@old.admin`, or the other way round. IDs compare exactly (those are two accounts), but
 * Synapse refuses to create an ID that differs from an existing one only in case (`M_USER_IN_USE`),
 * and a file naming one while the server has the other most likely means the existing account.
 *
 * It does not hold the server, and costs nothing per user the file and the server share unless
 * the file marks it historical. The planner and drift detection pass it the server users the file
 * does not name (one toLowerCase each); it keeps those whose ID holds upper case (historical IDs:
 * few on any server) or is the lower-cased form of one of the file's users that holds upper case.
 * Of the file's users on the server it keeps the historical ones. Once the list is read, `of`
 * answers for the file's users the server does not have.
 */
export class CaseVariants {
  /** The lower-cased IDs of the file's users that hold upper case; gathered on first need. */
  #fileUpper: Set<string> | undefined;
  /** Server users that may be a variant, by the lower-cased ID. */
  readonly #server = new Map<string, string[]>();

  constructor(private readonly desired: Map<string, DesiredUser>) {}

  /** A server user the file does not name. */
  unmatched(userId: string): void {
    const lower = userId.toLowerCase();
    if (lower === userId && !this.#upperInFile().has(lower)) return;
    this.#keep(lower, userId);
  }

  /** A file's user the server has: one the file may also name in another case. */
  matched(want: DesiredUser): void {
    if (want.historical) this.#keep(want.userId.toLowerCase(), want.userId);
  }

  /**
   * The server's users whose ID differs from `userId` (a file's user the server does not have) only
   * in case, once the server's list is read; `absent` holds every file user the server does not
   * have. In code unit order, as the server sorts: the same answer whatever order the list came in.
   */
  of(userId: string, absent: ReadonlySet<string>): string[] {
    const lower = userId.toLowerCase();
    const ids = (this.#server.get(lower) ?? []).filter((id) => id !== userId);
    // The file names the lower-cased form too, and the server has that one (matched: not kept above).
    if (lower !== userId && this.desired.has(lower) && !absent.has(lower) && !ids.includes(lower)) ids.push(lower);
    return ids.sort();
  }

  #keep(lower: string, userId: string): void {
    const ids = this.#server.get(lower);
    if (!ids) this.#server.set(lower, [userId]);
    else if (!ids.includes(userId)) ids.push(userId);
  }

  #upperInFile(): Set<string> {
    if (this.#fileUpper) return this.#fileUpper;
    const upper = new Set<string>();
    for (const want of this.desired.values()) {
      // Only an ID outside today's grammar can hold upper case; the loader marks those.
      if (!want.historical) continue;
      const lower = want.userId.toLowerCase();
      if (lower !== want.userId) upper.add(lower);
    }
    this.#fileUpper = upper;
    return upper;
  }
}

/**
 * Why the file's user, absent from the server, cannot be created, if it cannot: the server has it
 * in another case (`case-variant`, `existing` from CaseVariants.of), or its ID is a historical one
 * that Synapse refuses to create (`historical-id`). Either is a refusal in the plan, never a 400
 * half-way through apply.
 */
export function creationRefusal(want: DesiredUser, existing: string[]): Refusal | undefined {
  const { userId } = want;
  if (existing.length > 0) {
    return {
      code: "case-variant",
      userId,
      message: `${userId} is not on the server, but ${existing.join(" and ")} ${existing.length > 1 ? "are" : "is"}: user IDs are case-sensitive, and Synapse refuses to create one that differs from an existing one only in case`,
      hint: caseVariantHint(existing),
    };
  }
  if (want.historical || isHistoricalUserId(userId)) {
    return {
      code: "historical-id",
      userId,
      message: `${userId} is not on the server, and Synapse refuses to create it: a new user ID may only hold ${NEW_LOCALPART_CHARACTERS} (no upper case, no other character)`,
      hint: "a historical ID can only be managed where the account exists: check its spelling (user IDs are case-sensitive), or choose an ID in today's grammar",
    };
  }
  return undefined;
}

/** What to do when the server has the file's user in another case: name it as the server does. */
export function caseVariantHint(existing: string[]): string {
  return `to manage the existing account, name it exactly as the server does: ${existing.join(" or ")}`;
}
