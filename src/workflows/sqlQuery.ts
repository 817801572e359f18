/**
 * One user query (`s3c sql`, `GET /v0/sql`; docs/querying.md): the CLI or
 * the API starts it (`sql/<workspace>/<uuid>`, so the Web UI shows who asked
 * what, with the answer) and awaits its result. Its one activity, `runSql`,
 * runs on the SQL task queue of the workers that own the database.
 */
import { ApplicationFailure, proxyActivities, setDefaultSignalHandler } from '@temporalio/workflow';
import { z } from 'zod';
import type { Activities } from '../activities';
import {
  SQL_MAX_QUERY_CHARS,
  SQL_MAX_RESULT_BYTES,
  SQL_MAX_ROW_LIMIT,
  SQL_MAX_TIMEOUT_MS,
  type SqlResult,
} from '../contract/sql';

const SqlQueryPayload = z.object({
  sql: z.string().min(1).max(SQL_MAX_QUERY_CHARS),
  rowLimit: z.number().int().min(1).max(SQL_MAX_ROW_LIMIT),
  timeoutMs: z.number().int().min(1).max(SQL_MAX_TIMEOUT_MS),
  maxBytes: z.number().int().min(1).max(SQL_MAX_RESULT_BYTES),
  sqlTaskQueue: z.string().min(1).max(1000),
});

/** The query, its limits, and the task queue of the workers that own the database. */
export type SqlQueryWorkflowInput = z.infer<typeof SqlQueryPayload>;

/**
 * How long a query may wait for a worker to take it: a worker serves a few
 * queries at once, so a busy one takes a new query within a query's time.
 */
export const SQL_PICKUP_TIMEOUT_MS = 30_000;

/**
 * Runs one query. An input that does not fit (sent by hand, or undecodable)
 * ends it at once with the reason, a failure a retry could not fix; it takes
 * no signals, and one sent by hand is ignored (a default handler, so that
 * nothing waits in its buffer), never a failed workflow task.
 */
export async function sqlQueryWorkflow(input: unknown): Promise<SqlResult> {
  setDefaultSignalHandler(() => undefined);
  const checked = SqlQueryPayload.safeParse(input);
  if (!checked.success)
    throw ApplicationFailure.nonRetryable(
      `input does not fit: ${checked.error.issues[0]?.message ?? 'invalid'}`.slice(0, 300),
      'SqlInvalidInput',
    );
  const { sqlTaskQueue, ...request } = checked.data;
  const { runSql } = proxyActivities<Activities>({
    taskQueue: sqlTaskQueue,
    scheduleToStartTimeout: SQL_PICKUP_TIMEOUT_MS,
    // The query's own limit interrupts it; this only catches a worker that died while it ran.
    startToCloseTimeout: request.timeoutMs + 30_000,
    retry: { maximumAttempts: 2, initialInterval: '1 second' },
  });
  return runSql(request);
}
