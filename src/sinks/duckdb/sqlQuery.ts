/**
 * Runs one read-only query for `s3c sql` on a connection of its own: the
 * sink's load connection is not waited for, and the query sees only rows
 * already committed (DuckDB's MVCC), never a load in progress. The statement
 * is checked first (sqlCheck.ts), then run in a read-only transaction,
 * interrupted after its time limit, and its rows read only as far as the
 * limits (rows, bytes) need.
 */
import type { DuckDBConnection, DuckDBResultReader } from '@duckdb/node-api';
import { firstLine } from '../../util/errors';
import {
  SqlQueryError,
  SqlRefusedError,
  SqlTimeoutError,
  type SqlRequest,
  type SqlResult,
  type SqlValue,
} from '../../contract/sql';
import { checkReadOnlyQuery } from './sqlCheck';
import { sqlValue } from './sqlValues';

/**
 * Runs `request.sql` on a new connection from `connect` (closed after), as
 * {@link checkReadOnlyQuery} allows. Throws SqlRefusedError, SqlQueryError
 * (DuckDB's message) or SqlTimeoutError; terminal all three.
 */
export async function runReadOnlyQuery(
  connect: () => Promise<DuckDBConnection>,
  request: SqlRequest,
): Promise<SqlResult> {
  const started = Date.now();
  const conn = await connect();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.interrupt();
  }, request.timeoutMs);
  try {
    // The session's zone renders TIMESTAMPTZ arithmetic; the load connection's is UTC too.
    await conn.run("SET TimeZone = 'UTC'");
    await checkReadOnlyQuery(conn, request.sql);
    await conn.run('BEGIN TRANSACTION READ ONLY');
    const reader = await conn.streamAndReadUntil(request.sql, request.rowLimit + 1);
    return { ...boundedRows(reader, request), elapsedMs: Date.now() - started };
  } catch (e) {
    throw queryFailure(e, timedOut, request.timeoutMs);
  } finally {
    clearTimeout(timer);
    conn.closeSync();
  }
}

/** The error a failed query throws: ours as they are, an interrupt as a timeout, DuckDB's as SqlQueryError. */
function queryFailure(e: unknown, timedOut: boolean, timeoutMs: number): unknown {
  if (e instanceof SqlRefusedError || e instanceof SqlQueryError) return e;
  const line = firstLine(e);
  if (timedOut || /^INTERRUPT Error/i.test(line))
    return new SqlTimeoutError(
      `the query ran longer than ${timeoutMs / 1000} s and was stopped; narrow it (WHERE, LIMIT) or pass a longer timeout`,
    );
  // DuckDB's own failure (INTERNAL, FATAL) may be the worker's state: retried, possibly elsewhere.
  if (/^(INTERNAL|FATAL) Error/i.test(line)) return e;
  if (/^Permission Error/i.test(line)) return new SqlRefusedError(`refused: ${line}`);
  if (/read-only mode/i.test(line)) return new SqlRefusedError(`refused: the query would write (${line})`);
  return new SqlQueryError(line);
}

/** The reader's rows as JSON values, at most `rowLimit` of them and `maxBytes` of their encoding. */
function boundedRows(reader: DuckDBResultReader, limits: SqlRequest): Omit<SqlResult, 'elapsedMs'> {
  const types = reader.columnTypes();
  const meta = reader.deduplicatedColumnNames().map((name, i) => ({ name, type: String(types[i]) }));
  const data: SqlValue[][] = [];
  let bytes = 0;
  const available = reader.currentRowCount;
  for (let row = 0; row < Math.min(available, limits.rowLimit); row++) {
    const values = types.map((type, column) => sqlValue(reader.value(column, row), type));
    bytes += Buffer.byteLength(JSON.stringify(values));
    if (bytes > limits.maxBytes) return { meta, data, rows: data.length, truncated: 'bytes' };
    data.push(values);
  }
  return { meta, data, rows: data.length, ...(available > limits.rowLimit ? { truncated: 'rows' as const } : {}) };
}
