import { CLOCK_VARIABLE } from "../core/clock.js";

/**
 * The environment the core sees in a workflow: the admin token from its input, and never the
 * schedule's clock override (CLOCK_VARIABLE): the Action judges scheduled dates by the real time,
 * whatever a workflow sets, and says so when one is set.
 */
export function workflowEnv(
  env: NodeJS.ProcessEnv,
  adminToken: string | undefined,
  warn: (text: string) => void,
): NodeJS.ProcessEnv {
  if (env[CLOCK_VARIABLE]) {
    warn(`${CLOCK_VARIABLE} is set but the Action ignores it: scheduled dates are judged by the real time`);
  }
  return { ...env, SYNAPSE_ADMIN_TOKEN: adminToken || undefined, [CLOCK_VARIABLE]: undefined };
}
