/**
 * What the application core needs from the world, injected by its shells (src/cli.ts and
 * src/action/): where reports and messages go, how to ask the operator, the environment, and
 * interrupts. Nothing under src/core touches `process`; the shells do, and only they.
 */
export interface Io {
  /** The report itself (standard output on a terminal, the log in the Action). */
  out(text: string): void;
  /** Messages to the operator: notices, what was saved where, "waiting for the lock" (standard error). */
  err(text: string): void;
  /** A transient progress line; `done` clears it (both no-ops where there is no terminal). */
  progress: { update(text: string): void; done(): void };
  /** Asks a yes/no question; undefined where nobody can answer (then `--yes` is required). */
  confirm?: (question: string) => Promise<boolean>;
  /** The environment: where the token, SYNAPSE_URL and password variables are read. */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Subscribes to interrupts (SIGINT/SIGTERM, a cancelled workflow): the first one stops new
   * changes and lets those in flight finish. Returns the unsubscribe function.
   */
  onInterrupt(handler: () => void): () => void;
  /** The current time in milliseconds (injected so that expiry is testable). */
  now(): number;
  /** This process, as the apply lock names its holder for force-unlock. */
  runner: { host: string; pid: number };
}
