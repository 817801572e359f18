/**
 * The action of a data source's ENGINE_TTL schedule (issue 19, item 6):
 * DuckDB has no TTL, so this deletes the expired rows on the worker that owns
 * the database file, and returns the count (the Web UI shows it as the
 * result; `datasource ls` prints the last one).
 *
 * Its input comes from the schedule, which anyone with access to Temporal can
 * edit: an input that does not fit is reported in the result, never thrown.
 */
import { proxyActivities } from '@temporalio/workflow';
import { z } from 'zod';
import type { Activities } from '../activities';
import { TTL_UNITS } from '../datafiles/types';

const ExpireRowsPayload = z.object({
  workspace: z.string().max(200),
  dataSource: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .max(200),
  ttl: z.object({
    column: z.string().min(1).max(1000),
    amount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    unit: z.enum(TTL_UNITS),
  }),
  ingestTaskQueue: z.string().min(1).max(1000),
});

/** What the schedule passes: the data source, its parsed ENGINE_TTL, and the queue of the worker owning the database. */
export type ExpireRowsWorkflowInput = z.infer<typeof ExpireRowsPayload>;

/** One run's outcome: rows deleted, or why nothing was done. */
export type ExpireRowsWorkflowResult =
  { dataSource: string; deleted: number; at: string } | { dataSource: string; refused: string };

export async function expireRowsWorkflow(input: unknown): Promise<ExpireRowsWorkflowResult> {
  const checked = ExpireRowsPayload.safeParse(input);
  if (!checked.success) {
    const name = (input as { dataSource?: unknown } | null)?.dataSource;
    return {
      dataSource: typeof name === 'string' ? name.slice(0, 200) : '',
      refused: `input does not fit: ${checked.error.issues[0]?.message ?? 'invalid'}`.slice(0, 300),
    };
  }
  const { dataSource, ttl, ingestTaskQueue } = checked.data;
  const { expireRows } = proxyActivities<Activities>({
    taskQueue: ingestTaskQueue,
    // A large DELETE takes a while; one that keeps failing shows its error in the Web UI and the next run starts fresh.
    startToCloseTimeout: '30 minutes',
    retry: { maximumAttempts: 5, initialInterval: '5 seconds' },
  });
  return expireRows({ dataSource, ttl });
}
