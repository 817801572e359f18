/**
 * Queries while loading (issue 21, item 4): what `s3c sql` and
 * `GET /v0/sql` ask of the worker that owns the DuckDB file, and what it
 * answers. The CLI and the API start a `sqlQueryWorkflow`; its one activity,
 * `runSql`, runs on the worker's SQL task queue (beside the ingest queue, so
 * that a query never waits for a load's activity slot). See docs/querying.md.
 *
 * Deterministic and I/O-free: imported by workflow code.
 */
import { TerminalError } from '../util/errors';

/** Rows a query returns unless asked for another limit. */
export const SQL_DEFAULT_ROW_LIMIT = 1_000;
/** Most rows a query may return. */
export const SQL_MAX_ROW_LIMIT = 10_000;
/**
 * Most bytes of encoded rows in one answer: it travels through Temporal's
 * history twice (the activity's result, the workflow's result), whose limit
 * per payload is 2 MB.
 */
export const SQL_MAX_RESULT_BYTES = 1_000_000;
/** How long a query may run before it is interrupted. */
export const SQL_DEFAULT_TIMEOUT_MS = 30_000;
/** Longest time limit a request may ask for. */
export const SQL_MAX_TIMEOUT_MS = 300_000;
/** Longest text of a query. */
export const SQL_MAX_QUERY_CHARS = 100_000;

/** The task queue the workers that own the database serve queries on: the ingest queue's, with `-sql`. */
export function sqlTaskQueue(ingestTaskQueue: string): string {
  return `${ingestTaskQueue}-sql`;
}

/** Id of one query's workflow: `sql/<workspace>/<uuid>`, found in the Web UI. */
export function sqlWorkflowId(workspace: string, uuid: string): string {
  return `sql/${workspace}/${uuid}`;
}

/** How a query runs: at most `rowLimit` rows, at most `maxBytes` of them, interrupted after `timeoutMs`. */
export interface SqlLimits {
  rowLimit: number;
  timeoutMs: number;
  maxBytes: number;
}

/** A query as the `runSql` activity takes it. */
export interface SqlRequest extends SqlLimits {
  sql: string;
}

/**
 * A value of a result, as JSON: BIGINT, HUGEINT and DECIMAL as strings (as
 * ClickHouse quotes 64-bit integers), dates and timestamps ISO 8601, lists as
 * arrays, structs as objects; see docs/querying.md "Types".
 */
export type SqlValue = null | boolean | number | string | SqlValue[] | { [key: string]: SqlValue };

/** What a query answered: its columns, its rows (each an array, in column order), and whether they were cut. */
export interface SqlResult {
  /** The columns: names (made unique: a second `a` is `a:1`) and DuckDB types. */
  meta: { name: string; type: string }[];
  data: SqlValue[][];
  rows: number;
  /** Why not every row is here: the row limit, or the byte limit; absent when every row is. */
  truncated?: 'rows' | 'bytes';
  /** Time the query took on the worker, in milliseconds. */
  elapsedMs: number;
}

/**
 * A statement `s3c sql` does not run: not one read-only query, or it reaches
 * for files or functions outside the database. The message says why.
 */
export class SqlRefusedError extends TerminalError {
  readonly type = 'SqlRefused';
}

/** The query failed in DuckDB (a syntax error, an unknown table, a bad cast): DuckDB's message. */
export class SqlQueryError extends TerminalError {
  readonly type = 'SqlError';
}

/** The query ran longer than its time limit and was interrupted. */
export class SqlTimeoutError extends TerminalError {
  readonly type = 'SqlTimeout';
}

/** No worker answered: none serves the SQL task queue, or it did not take the query in time. */
export class SqlUnavailableError extends TerminalError {
  readonly type = 'SqlUnavailable';
}
