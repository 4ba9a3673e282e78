/**
 * An error written for the person running the tool. The CLI's single error boundary prints its
 * message (and hint) on one line, without a stack; any other error is a bug and prints its stack.
 */
export class ToolError extends Error {
  override name = "ToolError";
  constructor(
    message: string,
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Exit codes: 0 success or nothing to do; 1 error, invalid input, refusal, failed action; 2 changes (plan --detailed-exitcode) or drift. */
export const EXIT = { ok: 0, error: 1, changes: 2 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
