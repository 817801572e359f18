/**
 * A user's query from the CLI (`s3c sql`) or the API (`GET /v0/sql`): starts
 * a `sqlQueryWorkflow` and awaits its answer, turning its failure back into
 * the error that says why (refused, DuckDB's error, timeout, no worker).
 * See docs/querying.md.
 */
import { randomUUID } from 'node:crypto';
import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  WorkflowFailedError,
  type Client,
} from '@temporalio/client';
import {
  SQL_DEFAULT_ROW_LIMIT,
  SQL_DEFAULT_TIMEOUT_MS,
  SQL_MAX_QUERY_CHARS,
  SQL_MAX_RESULT_BYTES,
  SQL_MAX_ROW_LIMIT,
  SqlQueryError,
  SqlRefusedError,
  SqlTimeoutError,
  SqlUnavailableError,
  sqlTaskQueue,
  sqlWorkflowId,
  type SqlResult,
} from '../contract/sql';
import type { TemporalConfig, WorkspaceConfig } from '../config';

/** Where the query goes (the project's Temporal configuration and workspace), and its limits. */
export interface SqlCallOptions {
  temporal: TemporalConfig;
  workspace: WorkspaceConfig;
  /** Rows at most (default {@link SQL_DEFAULT_ROW_LIMIT}, at most {@link SQL_MAX_ROW_LIMIT}). */
  rowLimit?: number;
  /** Time limit on the worker (default {@link SQL_DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** Temporal's TASK_QUEUE_TYPE_ACTIVITY (temporal.api.enums.v1.TaskQueueType). */
const ACTIVITY_TASK_QUEUE = 2;

/** Runs `sql` on the worker that owns the database; throws the Sql*Error that says why not. */
export async function runSqlQuery(client: Client, sql: string, options: SqlCallOptions): Promise<SqlResult> {
  const rowLimit = options.rowLimit ?? SQL_DEFAULT_ROW_LIMIT;
  if (!Number.isInteger(rowLimit) || rowLimit < 1 || rowLimit > SQL_MAX_ROW_LIMIT)
    throw new RangeError(`limit must be an integer from 1 to ${SQL_MAX_ROW_LIMIT}, found ${String(rowLimit)}`);
  if (sql.trim() === '') throw new SqlRefusedError('refused: no statement; send one read-only query');
  if (sql.length > SQL_MAX_QUERY_CHARS)
    throw new SqlRefusedError(`refused: the query is longer than ${SQL_MAX_QUERY_CHARS} characters`);
  const { taskQueues, temporal } = options.temporal;
  const queue = sqlTaskQueue(taskQueues.ingest);
  await ensureServed(client, temporal.namespace, queue);
  const timeoutMs = options.timeoutMs ?? SQL_DEFAULT_TIMEOUT_MS;
  try {
    return await client.workflow.execute('sqlQueryWorkflow', {
      workflowId: sqlWorkflowId(options.workspace.workspace, randomUUID()),
      taskQueue: taskQueues.control,
      args: [{ sql, rowLimit, timeoutMs, maxBytes: SQL_MAX_RESULT_BYTES, sqlTaskQueue: queue }],
      // Bounded, so that a query no worker ever takes does not wait forever.
      workflowExecutionTimeout: 2 * timeoutMs + 120_000,
      staticSummary: `sql: ${sql.replace(/\s+/g, ' ').slice(0, 200)}`,
    });
  } catch (err) {
    throw sqlFailure(err);
  }
}

/** Throws SqlUnavailableError when no worker polls the SQL task queue (none runs, or an older one without it). */
async function ensureServed(client: Client, namespace: string, taskQueue: string): Promise<void> {
  const answer = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: ACTIVITY_TASK_QUEUE,
  });
  if ((answer.pollers ?? []).length > 0) return;
  throw new SqlUnavailableError(
    `no worker serves queries (task queue ${taskQueue}): start \`s3c worker\` or \`s3c local start\` in the project folder`,
  );
}

/** The error a failed query workflow stands for: ours by the failure's type, else as it came. */
export function sqlFailure(err: unknown): unknown {
  if (!(err instanceof WorkflowFailedError)) return err;
  const cause = err.cause instanceof ActivityFailure ? err.cause.cause : err.cause;
  if (cause instanceof TimeoutFailure || err.cause instanceof TimeoutFailure) {
    return new SqlUnavailableError(
      'no worker answered the query in time: is `s3c worker` (or `s3c local start`) running?',
    );
  }
  if (!(cause instanceof ApplicationFailure)) return err;
  const Known = {
    SqlRefused: SqlRefusedError,
    SqlError: SqlQueryError,
    SqlTimeout: SqlTimeoutError,
    SqlInvalidInput: SqlRefusedError,
  }[cause.type ?? ''];
  return Known ? new Known(cause.message) : err;
}
