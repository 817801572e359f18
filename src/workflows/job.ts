/**
 * A job: one sync run or one sample import of a data source (R6.2). Its
 * workflow id is the job id; the `jobStatus` query answers its report.
 *
 * Deterministic workflow code: no I/O, time only from the SDK.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setDefaultSignalHandler,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, BatchOutcome, DiscoverResult, IngestOutcome } from '../activities';
import { boundFailedBytes, errorsPage, keepError } from './bounds';
import { cursorAfterSync } from './cursor';
import { applyChecks, type CheckedObjects } from './eventObjects';
import { checkPayload, SignalLog, TokenGrantPayload } from './payloads';
import {
  formatBytes,
  jobErrorsQuery,
  jobProgressSignal,
  jobStatusQuery,
  limiterWorkflowId,
  newJobReport,
  tokenGrantSignal,
  tokenRequestSignal,
  type FileError,
  type JobInput,
  type JobReport,
  type ObjectVersion,
  type SyncCursor,
  type TokenGrant,
} from '../contract';
import { BATCH_LIMITS, VERIFY_BATCH, DISCOVER_BATCH, INGEST_CONCURRENCY, JOB_MAX_HISTORY_EVENTS, SMALL_FILE_BYTES } from '../contract/limits';

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

/** State carried across a job's continue-as-new. */
export interface JobResume {
  report: JobReport;
  continuationToken?: string;
  listedAt?: string;
  oldestUploadInProgress?: string;
  /** The uploads in progress could not be seen: the watermark holds. */
  uploadsUnseen?: boolean;
}

/**
 * Tokens of the workspace limiter, taken one per file (R5.5). Concurrent
 * lanes share one outstanding request; grants come back as signals.
 */
class TokenPool {
  held = 0;
  waiting = false;
  private readonly grants = new Map<string, number>();
  private pending: Promise<void> | undefined;

  constructor(
    private readonly limiterId: string | undefined,
    private readonly onChange: () => void,
    /** Called for a grant whose payload does not fit (it is ignored). */
    private readonly refuse: (reason: string) => void,
  ) {
    setHandler(tokenGrantSignal, (...args: unknown[]) => {
      const checked = checkPayload<TokenGrant>(TokenGrantPayload, args);
      if (!checked.ok) return this.refuse(checked.reason);
      this.grants.set(checked.value.requestId, checked.value.count);
    });
  }

  /**
   * Waits for tokens, then lets `pick` take up to as many items as tokens are
   * held — synchronously, so that no other lane can ask for the same items —
   * and spends one token per item picked. Without a limiter, `pick` may take
   * any number. Returns [] without asking when `wanted()` says nothing needs
   * a token.
   */
  async takeFor<T>(pick: (max: number) => T[], wanted: () => number): Promise<T[]> {
    if (!this.limiterId) return pick(Number.MAX_SAFE_INTEGER);
    for (;;) {
      if (this.held > 0) {
        const picked = pick(this.held);
        this.held -= picked.length;
        if (picked.length > 0) this.onChange();
        return picked;
      }
      const want = wanted();
      if (want <= 0) return [];
      this.pending ??= this.request(want).finally(() => {
        this.pending = undefined;
      });
      await this.pending;
    }
  }

  private async request(count: number): Promise<void> {
    const requestId = uuid4();
    this.waiting = true;
    this.onChange();
    await getExternalWorkflowHandle(this.limiterId!).signal(tokenRequestSignal, {
      requester: workflowInfo().workflowId,
      requestId,
      count,
    });
    await condition(() => this.grants.has(requestId));
    this.held += this.grants.get(requestId) ?? 0;
    this.grants.delete(requestId);
    this.waiting = false;
    this.onChange();
  }
}

function activitiesFor(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '2 hours',
    // Downloads heartbeat every second and loads every 5 s: a dead worker is noticed in 30 s.
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 30 },
  });
}

function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

function isPermanent(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable === true;
}

/** The job workflow: list (optionally), ingest every new version, report. */
export async function jobWorkflow(input: JobInput, resume?: JobResume): Promise<JobReport> {
  const info = workflowInfo();
  const now = (): string => new Date().toISOString();
  const report: JobReport =
    resume?.report ??
    newJobReport({ id: info.workflowId, kind: input.kind, status: 'working', datasource: input.dataSource.name, created_at: now(), cursor: input.cursor });
  setHandler(jobStatusQuery, () => report);
  /** Every file error of this run; the report keeps the first ones (see bounds.ts). */
  const allErrors: FileError[] = [];
  setHandler(jobErrorsQuery, (offset: unknown, limit: unknown) => errorsPage(allErrors, offset, limit));
  const parent = info.parent;
  // A payload that does not fit is ignored and recorded, never thrown (see payloads.ts).
  const signals = new SignalLog(resume?.report.rejectedSignals);
  const reject = (signal: string, reason: string): void => {
    signals.reject(signal, reason);
    report.rejectedSignals = signals.snapshot();
  };
  const refuseGrant = (reason: string): void => reject('tokenGrant', reason);
  const tokens = new TokenPool(input.rateLimited === false ? undefined : limiterWorkflowId(input.workspace), () => {
    const changed = report.tokens.waiting !== tokens.waiting;
    report.tokens = { held: tokens.held, waiting: tokens.waiting };
    if (tokens.waiting) report.status = 'waiting';
    else if (report.status === 'waiting') report.status = 'working';
    // The data source shows the tokens in its state query; tell it when waiting starts or ends.
    if (changed && parent) {
      void getExternalWorkflowHandle(parent.workflowId).signal(jobProgressSignal, { jobId: report.id, tokens: report.tokens }).catch(() => undefined);
    }
  }, refuseGrant);
  // Set after every handler: a signal of another name is recorded, not left waiting for a handler.
  setDefaultSignalHandler((name: string) => reject(name, 'unknown signal: a job takes tokenGrant'));
  tokens.held = resume?.report.tokens.held ?? 0;
  const acts = activitiesFor(input.ingestTaskQueue);
  const failed: Record<string, string> = { ...input.cursor.failed };
  let listedAt = resume?.listedAt;
  let oldestUpload = resume?.oldestUploadInProgress;
  let uploadsUnseen = resume?.uploadsUnseen ?? false;
  /** Records what a listing could not guard; never thrown, so the job goes on and says so. */
  const noteGuard = (page: DiscoverResult): void => {
    report.warnings ??= [];
    if (page.uploadGuardWarning === undefined) return;
    uploadsUnseen = true;
    if (!report.warnings.includes(page.uploadGuardWarning)) report.warnings.push(page.uploadGuardWarning);
  };
  const touch = (): void => {
    report.updated_at = now();
  };

  const recordOk = (outcome: IngestOutcome): void => {
    // A version an earlier job loaded (a duplicate event, a listing that raced it) loads nothing.
    if (outcome.alreadyLoaded) {
      report.statistics.files_already_loaded = (report.statistics.files_already_loaded ?? 0) + 1;
      return;
    }
    report.statistics.files_done++;
    report.statistics.row_count += outcome.rows;
    report.statistics.quarantined_rows += outcome.quarantined;
    report.statistics.bytes += outcome.bytes;
  };
  const recordFailure = (object: { key: string; etag: string }, message: string, permanent: boolean): void => {
    report.statistics.files_failed++;
    const error: FileError = { key: object.key, etag: object.etag, error: message };
    // The first errors and a count of the rest: a report is a payload (see bounds.ts).
    keepError(report, allErrors, error);
    // A version that cannot be loaded is not retried by every poll; an
    // overwrite (new ETag) is a new version and is tried again.
    if (permanent) failed[object.key] = object.etag;
  };

  const ingestOne = async (object: ObjectVersion): Promise<void> => {
    try {
      recordOk(
        await acts.ingestObject.executeWithOptions(
          { summary: `ingest s3://${object.bucket}/${object.key} (${formatBytes(object.size)})` },
          [{ dataSource: input.dataSource, object, jobId: report.id, sample: input.kind === 'sample' }],
        ),
      );
    } catch (err) {
      if (isCancellation(err)) throw err;
      recordFailure(object, failureMessage(err), isPermanent(err));
    } finally {
      touch();
    }
  };

  /** Several small files in one activity and one sink transaction (each still its own ledger entry). */
  const ingestBatch = async (batch: ObjectVersion[]): Promise<void> => {
    const bytes = batch.reduce((sum, o) => sum + o.size, 0);
    try {
      const outcomes: BatchOutcome[] = await acts.ingestObjects.executeWithOptions(
        { summary: `ingest ${batch.length} files (${formatBytes(bytes)}) from s3://${batch[0]?.bucket ?? ''}/${batch[0]?.key ?? ''} on` },
        [{ dataSource: input.dataSource, objects: batch, jobId: report.id, sample: input.kind === 'sample' }],
      );
      for (const outcome of outcomes) {
        if (outcome.ok) recordOk(outcome);
        else recordFailure(outcome, outcome.error, outcome.permanent);
      }
    } catch (err) {
      if (isCancellation(err)) throw err;
      for (const object of batch) recordFailure(object, failureMessage(err), isPermanent(err));
    } finally {
      touch();
    }
  };

  /**
   * Small files go in batches as large as the tokens at hand allow (up to
   * 1,000 files / 256 MB), so a rate-limited job starts loading with its first
   * token instead of waiting for a whole batch's worth; a large file alone.
   */
  const ingestAll = async (objects: ObjectVersion[]): Promise<void> => {
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
        const unit = await tokens.takeFor(pick, () => queue.length);
        const [first] = unit;
        if (!first) return;
        if (unit.length === 1 && first.size > SMALL_FILE_BYTES) await ingestOne(first);
        else await ingestBatch(unit);
      }
    };
    await Promise.all(Array.from({ length: Math.min(INGEST_CONCURRENCY, objects.length) }, lane));
  };

  /**
   * What S3 says of the objects events announced, in activities of at most
   * VERIFY_BATCH objects: the versions to load, with S3's ETag and size; the
   * announced objects that are gone or refused fail here, with the reason.
   */
  const checkAnnounced = async (objects: ObjectVersion[]): Promise<ObjectVersion[]> => {
    const checked: CheckedObjects = { ready: [], failed: [] };
    for (let i = 0; i < objects.length; i += VERIFY_BATCH) {
      const chunk = objects.slice(i, i + VERIFY_BATCH);
      try {
        const answers = await acts.verifyObjects.executeWithOptions(
          { summary: `check ${chunk.length} announced objects from s3://${chunk[0]?.bucket ?? ''}/${chunk[0]?.key ?? ''} on` },
          [{ dataSource: input.dataSource, objects: chunk }],
        );
        applyChecks(chunk, answers, checked);
      } catch (err) {
        if (isCancellation(err)) throw err;
        for (const object of chunk) checked.failed.push({ object, error: failureMessage(err), permanent: isPermanent(err) });
      }
    }
    for (const f of checked.failed) recordFailure(f.object, f.error, f.permanent);
    touch();
    return checked.ready;
  };

  try {
    if (!resume) {
      if (input.kind === 'sample') await acts.prepareSampleTables(input.dataSource);
      else await acts.prepareDestination(input.dataSource);
      if (input.objects && input.objects.length > 0) {
        report.statistics.found_files += input.objects.length;
        // Event metadata is a hint: size, ETag and existence come from S3 (issue 18, item 5).
        await ingestAll(await checkAnnounced(input.objects));
      }
    }
    if (input.list) {
      let token = resume?.continuationToken;
      let remaining = input.maxFiles ?? Number.POSITIVE_INFINITY;
      do {
        const page: DiscoverResult = await acts.discoverObjects.executeWithOptions(
          { summary: `list ${input.dataSource.import?.bucketUri ?? ''}` },
          [
            {
              dataSource: input.dataSource,
              cursor: { ...input.cursor, failed },
              continuationToken: token,
              maxObjects: Math.min(DISCOVER_BATCH, remaining),
              ignoreLedger: input.kind === 'sample',
            },
          ],
        );
        listedAt ??= page.listedAt;
        if (page.oldestUploadInProgress) oldestUpload = page.oldestUploadInProgress;
        if (page.nextToken === undefined && input.kind === 'sync') noteGuard(page);
        const objects = page.objects.slice(0, Number.isFinite(remaining) ? remaining : undefined);
        report.statistics.found_files += objects.length;
        report.statistics.files_skipped += page.skippedUnsupported;
        touch();
        await ingestAll(objects);
        remaining -= objects.length;
        token = remaining > 0 ? page.nextToken : undefined;
        if (token !== undefined && workflowInfo().historyLength > JOB_MAX_HISTORY_EVENTS) {
          await continueAsNew<typeof jobWorkflow>(input, { report, continuationToken: token, listedAt, oldestUploadInProgress: oldestUpload, uploadsUnseen });
        }
      } while (token !== undefined);
    }
    report.status = report.statistics.files_failed > 0 && report.statistics.files_done === 0 ? 'error' : 'done';
  } catch (err) {
    if (isCancellation(err)) {
      report.status = 'cancelled';
      // The reason stays in the data source's last error (a state change only: replay-safe).
      const s = report.statistics;
      report.errors.push({
        key: '',
        etag: '',
        error: `job cancelled before it finished (${s.files_done} of ${s.found_files} files done, ${s.files_failed} failed)`,
      });
      // Reported as the job's result rather than a failure, so that the data
      // source records it and goes on; the cursor does not move.
      return finish(report, input, failed, listedAt, oldestUpload, uploadsUnseen);
    }
    report.status = 'error';
    report.errors.push({ key: '', etag: '', error: failureMessage(err) });
  }
  return finish(report, input, failed, listedAt, oldestUpload, uploadsUnseen);
}

/**
 * Computes the cursor the data source continues from. The watermark moves to
 * the start of this listing, but never past the start of an upload still in
 * progress (R5.4): such a file, once complete, is newer than the watermark.
 */
function finish(
  report: JobReport,
  input: JobInput,
  failed: Record<string, string>,
  listedAt: string | undefined,
  oldestUpload: string | undefined,
  uploadsUnseen: boolean,
): JobReport {
  // The failed map travels in every job's input and the data source's state: bounded in bytes too.
  const failedKept = boundFailedBytes(failed);
  const cursor: SyncCursor =
    input.kind === 'sync'
      ? cursorAfterSync(input.cursor, failedKept, {
          complete: input.list && report.status === 'done',
          listedAt,
          oldestUploadInProgress: oldestUpload,
          uploadsUnseen,
        })
      : input.cursor;
  report.cursor = cursor;
  report.updated_at = new Date().toISOString();
  return report;
}
