import type { AccountState } from "../domain/account.js";
import type { ActionKind, RefusalCode } from "../domain/plan.js";

export type ActualState = AccountState | "absent";

/** One cell of the lifecycle table: what to do when a user is in `actual` and the file says `desired`. */
export type Transition =
  | { do: "nothing" }
  | { do: ActionKind; irreversible?: true; unlessFlag?: never }
  | { do: "refuse"; code: RefusalCode; why: string }
  /** Refused unless the entry carries the flag; then the action runs. */
  | { do: ActionKind; unlessFlag: "allowReactivation"; code: RefusalCode; why: string };

/**
 * The account lifecycle: actual state on the server × desired state in the file.
 * This table is the single source of these rules: the planner reads it and the README prints it
 * (test/unit/docs.test.ts keeps the README in step).
 *
 * Why the refusals: Synapse itself will reactivate an erased user when asked (`deactivated: false`
 * clears `erased` — seen on 1.160), making old messages visible again; we never ask. And a file that
 * says `deactivated` for an erased user is out of date: saying nothing would hide that.
 */
export const LIFECYCLE: Record<ActualState, Record<AccountState, Transition>> = {
  absent: {
    active: { do: "create" },
    // Creating then deactivating reserves the ID: Synapse never reuses a deactivated user ID.
    deactivated: { do: "create" },
    // Irreversible too: the ID is taken for good and the account can never be brought back.
    erased: { do: "create", irreversible: true },
  },
  active: {
    active: { do: "update" },
    deactivated: { do: "deactivate" },
    erased: { do: "erase", irreversible: true },
  },
  deactivated: {
    active: {
      do: "reactivate",
      unlessFlag: "allowReactivation",
      code: "reactivation-not-allowed",
      why: "is deactivated; reactivating needs `allowReactivation: true` on the entry",
    },
    deactivated: { do: "nothing" },
    erased: { do: "erase", irreversible: true },
  },
  erased: {
    active: { do: "refuse", code: "un-erase", why: "is erased; an erased account is never reactivated" },
    deactivated: {
      do: "refuse",
      code: "erased-to-deactivated",
      why: "is erased, but the file says deactivated; the file must say erased",
    },
    erased: { do: "nothing" },
  },
};

const ACTUAL_ORDER: ActualState[] = ["absent", "active", "deactivated", "erased"];
const DESIRED_ORDER: AccountState[] = ["active", "deactivated", "erased"];

function describe(actual: ActualState, desired: AccountState, t: Transition): string {
  if (t.do === "nothing") return "nothing";
  if (t.do === "refuse") return `**refused**: ${t.why.replace(/^is [a-z]+(, but the file says [a-z]+)?; /, "")}`;
  if ("unlessFlag" in t && t.unlessFlag) return `**refused** unless \`${t.unlessFlag}: true\`; then ${t.do}`;
  if (actual === "absent") {
    return desired === "active"
      ? "create"
      : desired === "deactivated"
        ? "create, then deactivate (reserves the ID)"
        : "create, then deactivate with erase";
  }
  if (t.do === "update") return "update the managed attributes that differ";
  return t.irreversible ? `${t.do} — irreversible` : t.do;
}

/** The table as Markdown, for the README. */
export function lifecycleMarkdown(): string {
  const rows = ACTUAL_ORDER.map(
    (a) => `| ${a} | ${DESIRED_ORDER.map((d) => describe(a, d, LIFECYCLE[a][d])).join(" | ")} |`,
  );
  return ["| actual \\ desired | active | deactivated | erased |", "|---|---|---|---|", ...rows].join("\n");
}
