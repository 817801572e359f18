/**
 * How a job ingests the versions it found (workflows/job.ts): small files in
 * batches as large as the rate-limit tokens at hand allow, a large file alone,
 * and objects that events announced checked against S3 first.
 *
 * Deterministic workflow code: the work is done by activities.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities, BatchOutcome } from '../activities';
import { applyChecks, type CheckedObjects } from './eventObjects';
import type { JobRun } from './jobRun';
import type { TokenPool } from './tokenPool';
import { formatBytes, type JobInput, type ObjectVersion } from '../contract';
import { BATCH_LIMITS, INGEST_CONCURRENCY, SMALL_FILE_BYTES, VERIFY_BATCH } from '../contract/limits';

/** The job's activities, with its timeouts and retries. */
export function jobActivities(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '2 hours',
    // Downloads heartbeat every second and loads every 5 s: a dead worker is noticed in 30 s.
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 30 },
  });
}

/** What an ingest works with: the job's input, its activities, its run state and its tokens. */
export interface IngestContext {
  input: JobInput;
  acts: ReturnType<typeof jobActivities>;
  run: JobRun;
  tokens: TokenPool;
}

export function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

function isPermanent(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable === true;
}

/** How many small files from the head of `queue` one batch may take (files and bytes bounds). */
function smallRunLength(queue: ObjectVersion[], limits: { files: number; bytes: number }): number {
  let n = 0;
  let bytes = 0;
  for (const object of queue) {
    if (object.size > SMALL_FILE_BYTES || n >= limits.files || (n > 0 && bytes + object.size > limits.bytes)) break;
    n++;
    bytes += object.size;
  }
  return Math.max(1, n);
}

/**
 * Small files go in batches as large as the tokens at hand allow (up to
 * 1,000 files / 256 MB), so a rate-limited job starts loading with its first
 * token instead of waiting for a whole batch's worth; a large file alone.
 */
export async function ingestAll(ctx: IngestContext, objects: ObjectVersion[]): Promise<void> {
  const queue = [...objects];
  /** Takes, from the head of the queue, one large file or a run of up to `max` small ones. */
  const pick = (max: number): ObjectVersion[] => {
    const head = queue[0];
    if (!head || max <= 0) return [];
    if (head.size > SMALL_FILE_BYTES) return queue.splice(0, 1);
    return queue.splice(0, Math.min(max, smallRunLength(queue, BATCH_LIMITS)));
  };
  const lane = async (): Promise<void> => {
    for (;;) {
      const unit = await ctx.tokens.takeFor(pick, () => queue.length);
      const [first] = unit;
      if (!first) return;
      if (unit.length === 1 && first.size > SMALL_FILE_BYTES) await ingestOne(ctx, first);
      else await ingestBatch(ctx, unit);
    }
  };
  await Promise.all(Array.from({ length: Math.min(INGEST_CONCURRENCY, objects.length) }, lane));
}

/** One (large) file in an activity of its own. */
async function ingestOne({ input, acts, run }: IngestContext, object: ObjectVersion): Promise<void> {
  try {
    run.recordOk(
      await acts.ingestObject.executeWithOptions(
        { summary: `ingest s3://${object.bucket}/${object.key} (${formatBytes(object.size)})` },
        [{ dataSource: input.dataSource, object, jobId: run.report.id, sample: input.kind === 'sample' }],
      ),
    );
  } catch (err) {
    if (isCancellation(err)) throw err;
    run.recordFailure(object, failureMessage(err), isPermanent(err));
  } finally {
    run.touch();
  }
}

/** Several small files in one activity and one sink transaction (each still its own ledger entry). */
async function ingestBatch({ input, acts, run }: IngestContext, batch: ObjectVersion[]): Promise<void> {
  const bytes = batch.reduce((sum, o) => sum + o.size, 0);
  try {
    const outcomes: BatchOutcome[] = await acts.ingestObjects.executeWithOptions(
      {
        summary: `ingest ${batch.length} files (${formatBytes(bytes)}) from s3://${batch[0]?.bucket ?? ''}/${batch[0]?.key ?? ''} on`,
      },
      [{ dataSource: input.dataSource, objects: batch, jobId: run.report.id, sample: input.kind === 'sample' }],
    );
    for (const outcome of outcomes) {
      if (outcome.ok) run.recordOk(outcome);
      else run.recordFailure(outcome, outcome.error, outcome.permanent);
    }
  } catch (err) {
    if (isCancellation(err)) throw err;
    for (const object of batch) run.recordFailure(object, failureMessage(err), isPermanent(err));
  } finally {
    run.touch();
  }
}

/**
 * What S3 says of the objects events announced, in activities of at most
 * VERIFY_BATCH objects: the versions to load, with S3's ETag and size; the
 * announced objects that are gone or refused fail here, with the reason.
 */
export async function checkAnnounced(
  { input, acts, run }: IngestContext,
  objects: ObjectVersion[],
): Promise<ObjectVersion[]> {
  const checked: CheckedObjects = { ready: [], failed: [] };
  for (let i = 0; i < objects.length; i += VERIFY_BATCH) {
    const chunk = objects.slice(i, i + VERIFY_BATCH);
    try {
      const answers = await acts.verifyObjects.executeWithOptions(
        {
          summary: `check ${chunk.length} announced objects from s3://${chunk[0]?.bucket ?? ''}/${chunk[0]?.key ?? ''} on`,
        },
        [{ dataSource: input.dataSource, objects: chunk }],
      );
      applyChecks(chunk, answers, checked);
    } catch (err) {
      if (isCancellation(err)) throw err;
      for (const object of chunk)
        checked.failed.push({ object, error: failureMessage(err), permanent: isPermanent(err) });
    }
  }
  for (const f of checked.failed) run.recordFailure(f.object, f.error, f.permanent);
  run.touch();
  return checked.ready;
}
