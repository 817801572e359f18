/**
 * The project's error model, and reading errors of any origin (DuckDB, the
 * SDKs) for one-line messages. Pure (no Node module): workflow code imports it
 * through `src/s3uri`.
 */

/** How an {@link S3cError} is made: whether retrying can fix it, and the error it wraps. */
export interface S3cErrorOptions {
  /** True when retrying the call that threw cannot succeed. @default false (TerminalError: true) */
  terminal?: boolean;
  cause?: unknown;
}

/**
 * The base of every error the project throws on purpose: its `name` is its
 * class's, and `terminal` says whether retrying can fix it. An activity that
 * throws a terminal error fails for good (a non-retryable ApplicationFailure,
 * see activities/failures.ts); any other is retried by Temporal. The API maps
 * classes to statuses in one table (api/errors.ts).
 */
export class S3cError extends Error {
  /** Retrying the call that threw cannot succeed (a bad file, a refused request, a wrong setting). */
  readonly terminal: boolean;
  constructor(message?: string, options: S3cErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.terminal = options.terminal ?? false;
  }
}

/** An error retrying cannot fix: what a person must change (a file, a setting, a request) is in its message. */
export class TerminalError extends S3cError {
  constructor(message?: string, options: S3cErrorOptions = {}) {
    super(message, { terminal: true, ...options });
  }
}

/** Whether `err` is one of ours that retrying cannot fix. */
export function isTerminal(err: unknown): boolean {
  return err instanceof S3cError && err.terminal;
}

/** The first non-blank line of an error's message, trimmed (DuckDB appends SQL and a stack trace below it). */
export function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (message.split('\n').find((l) => l.trim() !== '') ?? message).trim();
}

/**
 * DuckDB's own bug on a file's content ("INTERNAL Error: …", as on
 * parquet-cpp's example file) said for a user, or undefined for any other
 * error. The same file raises it again: the loader fails the file, inference
 * gives up on it, both in these words.
 */
export function duckdbInternalReason(line: string): string | undefined {
  const m = /^INTERNAL Error:\s*(.*)$/.exec(line);
  return m ? `DuckDB cannot read this file (${m[1]})` : undefined;
}
