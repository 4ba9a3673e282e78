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
