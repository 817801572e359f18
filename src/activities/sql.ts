/**
 * `runSql`: a user's read-only query on the worker that owns the database
 * (`s3c sql`, `GET /v0/sql`; docs/querying.md). It runs on the SQL task
 * queue (contract/sql.ts), beside the loads. A refused statement, DuckDB's
 * error on it and a timeout are terminal: the same query fails the same way.
 */
import {
  SQL_MAX_RESULT_BYTES,
  SQL_MAX_ROW_LIMIT,
  SQL_MAX_TIMEOUT_MS,
  type SqlRequest,
  type SqlResult,
} from '../contract/sql';
import type { ActivityScope } from './scope';

/** Runs the query within the request's limits, each capped by the product's own. */
export function runSql(scope: ActivityScope, request: SqlRequest): Promise<SqlResult> {
  return scope.deps.sink.runSql({
    sql: request.sql,
    rowLimit: Math.min(request.rowLimit, SQL_MAX_ROW_LIMIT),
    maxBytes: Math.min(request.maxBytes, SQL_MAX_RESULT_BYTES),
    timeoutMs: Math.min(request.timeoutMs, SQL_MAX_TIMEOUT_MS),
  });
}
