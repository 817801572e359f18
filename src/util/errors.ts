/** Reading errors of any origin (DuckDB, the SDKs) for one-line messages. */

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
