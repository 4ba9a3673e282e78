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

/** Where a Match notes the file's users it has met: on the user itself, under its own mark. */
const MET = Symbol("met by a match");
type Marked = DesiredUser & { [MET]?: number };
let matches = 0;
/** The match that owns the marks of a file's users: the latest one started over their map. */
const owner = new WeakMap<Map<string, DesiredUser>, Match>();

/**
 * Pairs the server's users with the file's, one server user at a time, as the list arrives: the
 * server's side is never held whole (on a large server that map, not the comparing, was most of the
 * cost of a plan). `finish` then pairs the file's users the server never showed with `undefined`.
 *
 * A user created during the listing can make offset pagination show a row twice: the first is
 * kept. The file's users are marked as met on the objects themselves (a number under a private
 * symbol, distinct for each match), which costs nothing beside the lookup that finds them, where a
 * set of a million met IDs would cost as much as the lookups. So one match at a time over the same
 * users: a match that a newer one over the same map overtook throws, on its next step, rather than
 * answer wrong (and two maps that share user objects must not be matched at the same time).
 */
export class Match {
  readonly #mark = ++matches;
  /** Active users outside the file already passed on (only those are kept: they are the output). */
  readonly #unmanaged = new Set<string>();
  /** Rows seen, repeats included. */
  listed = 0;
  /** The file's users in file order, and the next one the list is expected to show (see observe). */
  readonly #inOrder: DesiredUser[];
  #cursor = 0;
  /** A newer match over the same map started: this one's marks are no longer its own. */
  #overtaken = false;

  constructor(
    private readonly desired: Map<string, DesiredUser>,
    private readonly judge: Judge,
  ) {
    const previous = owner.get(desired);
    if (previous) previous.#overtaken = true;
    owner.set(desired, this);
    this.#inOrder = [...desired.values()];
  }

  #check(): void {
    if (this.#overtaken) throw new Error("bug: another match over the same users started before this one finished");
  }

  observe(have: ActualUser): void {
    this.#check();
    this.listed++;
    // A file written in the order the server lists (an export, a generated file) is followed along
    // rather than looked up: a few string comparisons instead of hashing into a large map. Users
    // only one side has (new ones, unmanaged ones) are stepped over; any other order falls back to
    // the lookup, which is always right.
    let want: Marked | undefined;
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
      if (want[MET] === this.#mark) return;
      want[MET] = this.#mark;
      this.judge.pair(want, have);
    } else if (this.judge.unmanaged && have.state === "active" && !this.#unmanaged.has(have.userId)) {
      this.#unmanaged.add(have.userId);
      this.judge.unmanaged(have);
    }
  }

  finish(): void {
    this.#check();
    for (const want of this.desired.values()) {
      if ((want as Marked)[MET] !== this.#mark) this.judge.pair(want, undefined);
    }
  }
}

/** `a` before `b` by user ID (code unit order, as the server sorts). */
export function byUserId(a: { userId: string }, b: { userId: string }): number {
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
}
