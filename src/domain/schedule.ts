import * as z from "zod";
import type { AccountState } from "./account.js";
import type { DesiredUser } from "./desired.js";

/**
 * Scheduled offboarding: a user of the file may say when it is to be deactivated (`deactivateOn`)
 * and erased (`eraseOn`). What the file wants of a user is then a function of the file and the
 * clock: its `state` until the first date, deactivated from `deactivateOn`, erased from `eraseOn`.
 *
 * "On a date": a date alone (`2026-12-31`) comes due at the start of that day in UTC
 * (2026-12-31T00:00:00Z) — the first run on or after that day carries it out. For another moment,
 * write a date-time with its zone (`2026-12-31T18:00:00+01:00`); one without a zone is refused,
 * since its meaning would depend on the machine that runs the tool.
 */

/** A date or date-time as written in the file, and the moment it comes due (ms since the epoch). */
export interface ScheduledDate {
  /** As written: shown in plans. */
  on: string;
  at: number;
}

/** What the file schedules for one user. At least one of the two; `erase` is never before `deactivate`. */
export interface Schedule {
  deactivate?: ScheduledDate;
  erase?: ScheduledDate;
}

export const scheduleDateSchema = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })], {
    error: (iss) =>
      `expected a date (2026-12-31, due at 00:00 UTC) or a date-time with its zone (2026-12-31T18:00:00+01:00), got ${
        typeof iss.input === "string" ? JSON.stringify(iss.input) : typeof iss.input
      }`,
  })
  .meta({
    description:
      "A date (YYYY-MM-DD: due from 00:00 UTC that day) or a date-time with its zone (YYYY-MM-DDTHH:MM:SS+01:00 or …Z).",
  });

/** The moment a valid schedule date (see scheduleDateSchema) comes due. */
export function scheduledDate(on: string): ScheduledDate {
  // A date alone is read as UTC by Date.parse (ECMAScript: date-only forms are UTC); a date-time
  // always carries its zone (the schema refuses one without).
  return { on, at: Date.parse(on) };
}

/** A step the file schedules for later: not due yet at the plan's `now`. */
export interface ScheduledStep {
  userId: string;
  kind: "deactivate" | "erase";
  /** The date as written in the file. */
  on: string;
  /** When it comes due, as an ISO instant (UTC). */
  at: string;
}

/**
 * The user as the file wants it at `now`. A user with nothing due is returned as it is (nearly
 * every user: no object is made); one whose date has passed is the state that date makes it,
 * without the attributes and password that only an active user carries, and with `due`: the date
 * that made it so.
 */
export function dueUser(want: DesiredUser, now: number): DesiredUser {
  const { schedule } = want;
  if (!schedule) return want;
  const step =
    schedule.erase && schedule.erase.at <= now
      ? ({ state: "erased", date: schedule.erase } as const)
      : schedule.deactivate && schedule.deactivate.at <= now
        ? ({ state: "deactivated", date: schedule.deactivate } as const)
        : undefined;
  if (!step || step.state === want.state) return want;
  const due: DesiredUser = {
    userId: want.userId,
    index: want.index,
    state: step.state,
    allowReactivation: false,
    source: want.source,
    schedule,
    due: step.date.on,
  };
  if (want.historical) due.historical = true;
  if (want.erasure !== undefined) due.erasure = want.erasure;
  return due;
}

/** The steps of a user's schedule still to come at `now`, in order. */
export function stepsAhead(want: DesiredUser, now: number): ScheduledStep[] {
  const steps: ScheduledStep[] = [];
  const { schedule } = want;
  if (!schedule) return steps;
  for (const kind of ["deactivate", "erase"] as const) {
    const date = schedule[kind];
    if (date && date.at > now)
      steps.push({ userId: want.userId, kind, on: date.on, at: new Date(date.at).toISOString() });
  }
  return steps;
}

const ORDER: Record<AccountState, number> = { active: 0, deactivated: 1, erased: 2 };

/**
 * Whether the server's state is one the schedule passes through on its way to what is due: the
 * file's own state, or a later one short of the due state (deactivated, when erasure is due).
 * Such a user is not drifted: apply has yet to carry out what came due.
 */
export function awaitingDue(want: DesiredUser, wanted: DesiredUser, have: AccountState): boolean {
  if (wanted.due === undefined) return false;
  return ORDER[have] >= ORDER[want.state] && ORDER[have] < ORDER[wanted.state];
}

/** "in 12 days", "in 5 hours", "in 3 minutes": how long until `at` from `now` (both ms). */
export function timeUntil(at: number, now: number): string {
  const minutes = Math.ceil((at - now) / 60_000);
  const plural = (n: number, unit: string) => `in ${n} ${unit}${n === 1 ? "" : "s"}`;
  if (minutes < 60) return plural(Math.max(minutes, 1), "minute");
  const hours = Math.ceil(minutes / 60);
  if (hours < 24) return plural(hours, "hour");
  return plural(Math.ceil(hours / 24), "day");
}
