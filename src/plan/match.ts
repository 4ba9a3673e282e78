import type { ActualUser } from "../domain/account.js";
import type { DesiredUser } from "../domain/desired.js";

/** What the planner and drift detection each do with a pair of the file's and the server's user. */
export interface Judge {
  /** Once per user of the file, with the server's user (undefined: absent from the server). */
  pair(want: DesiredUser, have: ActualUser | undefined): void;
  /** Once per active user on the server that the file does not name; left out when they do not matter. */
  unmanaged?(have: ActualUser): void;
}

/** How many of the file's next users are compared with each listed user before looking it up. */
const LOOK_AHEAD = 4;

/**
 * Pairs the server's users with the file's, one server user at a time, as the list arrives: the
 * server's side is never held whole (on a large server that map, not the comparing, was most of the
 * cost of a plan). `finish` then pairs the file's users the server never showed with `undefined`.
 *
 * A user created during the listing can make offset pagination show a row twice: the first is
 * kept. Which of the file's users were met is kept here, one flag per user by its `index` (a set of
 * a million met IDs would cost as much as the lookups that find them); nothing is written on the
 * users, so any number of matches may run over the same users at once.
 */
export class Match {
  /** Active users outside the file already passed on (only those are kept: they are the output). */
  readonly #unmanaged = new Set<string>();
  /** Rows seen, repeats included. */
  listed = 0;
  /** The file's users in file order, and the next one the list is expected to show (see observe). */
  readonly #inOrder: DesiredUser[];
  #cursor = 0;
  /** 1 at a user's index once the list has shown it. */
  readonly #met: Uint8Array;

  constructor(
    private readonly desired: ReadonlyMap<string, DesiredUser>,
    private readonly judge: Judge,
  ) {
    this.#inOrder = [...desired.values()];
    let size = 0;
    for (const want of this.#inOrder) if (want.index >= size) size = want.index + 1;
    this.#met = new Uint8Array(size);
    // Each index once: two users sharing one would be taken for each other (a bug in whoever numbered them).
    for (const want of this.#inOrder) {
      if (!(Number.isInteger(want.index) && want.index >= 0) || this.#met[want.index] === 1) {
        throw new Error(`bug: the desired users' indexes are not distinct whole numbers (${want.userId})`);
      }
      this.#met[want.index] = 1;
    }
    this.#met.fill(0);
  }

  observe(have: ActualUser): void {
    this.listed++;
    // A file written in the order the server lists (an export, a generated file) is followed along
    // rather than looked up: a few string comparisons instead of hashing into a large map. Users
    // only one side has (new ones, unmanaged ones) are stepped over; any other order falls back to
    // the lookup, which is always right.
    let want: DesiredUser | undefined;
    const inOrder = this.#inOrder;
    const end = Math.min(this.#cursor + LOOK_AHEAD, inOrder.length);
    for (let i = this.#cursor; i < end; i++) {
      if (inOrder[i]!.userId === have.userId) {
        want = inOrder[i];
        this.#cursor = i + 1;
        break;
      }
    }
    want ??= this.desired.get(have.userId);
    if (want) {
      if (this.#met[want.index] === 1) return;
      this.#met[want.index] = 1;
      this.judge.pair(want, have);
    } else if (this.judge.unmanaged && have.state === "active" && !this.#unmanaged.has(have.userId)) {
      this.#unmanaged.add(have.userId);
      this.judge.unmanaged(have);
    }
  }

  finish(): void {
    for (const want of this.#inOrder) {
      if (this.#met[want.index] === 0) this.judge.pair(want, undefined);
    }
  }
}

/** `a` before `b` by user ID (code unit order, as the server sorts). */
export function byUserId(a: { userId: string }, b: { userId: string }): number {
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
}
