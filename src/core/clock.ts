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
