import { ToolError } from "../errors.js";
import type { Io } from "./io.js";

/**
 * The clock a plan judges the file's scheduled dates (deactivateOn, eraseOn) by: the real time,
 * or, for end-to-end tests and dry runs of a schedule, an ISO date-time with its zone in
 * SYNAPSE_GITOPS_NOW (`2027-01-31T00:00:00Z`).
 *
 * Why this is safe to honour: the clock only chooses which of the file's own dated steps are due.
 * It cannot make an action the file does not schedule; what comes due counts against the limits
 * and passes every refusal and live re-check like any other action; and whoever can set the
 * variable where apply runs can already edit the dates (or hold the token). A saved plan records
 * the clock it was made with, and `apply --plan` applies only the plan's own actions, whatever
 * has come due since. Only the schedule reads it: saved plans' expiry and snapshots' age keep the
 * real time. Every run that uses it says so on standard error.
 *
 * A run that changes the server (`apply`) or seals a plan for one (`plan --out`) refuses it unless
 * the operator also passes --clock-from-env: a variable left set where the nightly apply runs would
 * otherwise make every future deactivation and erasure due at once. The Action never honours it.
 */
export const CLOCK_VARIABLE = "SYNAPSE_GITOPS_NOW";

const WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** The schedule's clock in ms; says on `io.err` when it is not the real time. */
export function scheduleClock(io: Pick<Io, "env" | "now" | "err">): number {
  const raw = io.env[CLOCK_VARIABLE];
  if (raw === undefined || raw === "") return io.now();
  const at = WITH_ZONE.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new ToolError(
      `${CLOCK_VARIABLE} is not a date-time with its zone: ${JSON.stringify(raw.slice(0, 40))}`,
      "write e.g. 2027-01-31T00:00:00Z, or unset it to use the real time",
    );
  }
  io.err(
    `note: scheduled dates are judged as of ${new Date(at).toISOString()} (${CLOCK_VARIABLE}), not the real time\n`,
  );
  return at;
}

/** The flag that lets `apply` and `plan --out` judge scheduled dates by CLOCK_VARIABLE. */
export const CLOCK_FLAG = "--clock-from-env";

/** How far a saved plan's clock may run ahead of the real time (clocks of two machines). */
const SKEW_MS = 60_000;

/**
 * scheduleClock for a run that changes the server or seals a plan for one: refuses the override
 * unless the operator confirmed it with CLOCK_FLAG.
 */
export function changingClock(io: Pick<Io, "env" | "now" | "err">, allowed: boolean | undefined, what: string): number {
  const raw = io.env[CLOCK_VARIABLE];
  if (raw !== undefined && raw !== "" && !allowed) {
    throw new ToolError(
      `${CLOCK_VARIABLE} is set: ${what} does not judge scheduled dates by it without ${CLOCK_FLAG}. Nothing was done.`,
      `unset ${CLOCK_VARIABLE} to use the real time, or pass ${CLOCK_FLAG} if the clock is meant`,
    );
  }
  return scheduleClock(io);
}

/** A saved plan made at a clock later than the real time (beyond skew): refused unless CLOCK_FLAG. */
export function savedClockProblem(
  savedNow: string | undefined,
  realNow: number,
  allowed: boolean | undefined,
): string | undefined {
  if (allowed || savedNow === undefined) return undefined;
  const at = Date.parse(savedNow);
  if (Number.isNaN(at) || at <= realNow + SKEW_MS) return undefined;
  return `it was made with its scheduled dates judged as of ${savedNow}, later than the real time (${CLOCK_VARIABLE}); pass ${CLOCK_FLAG} to apply it anyway`;
}
