/** What a CLI command may touch: its streams and environment. Tests pass fakes. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** A subcommand: parses its own argv (without the verb), returns the exit code. Never calls process.exit. */
export type Command = (argv: string[], io: CliIO) => Promise<number>;

/** Exit codes, documented in the README. */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  DEGRADED: 3,
  DATA_LOSS: 4,
} as const;
