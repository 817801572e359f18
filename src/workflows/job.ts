/**
 * A job: one sync run or one sample import of a data source (R6.2). Its
 * workflow id is the job id; the `jobStatus` query answers its report. How it
 * ingests is in ingestStrategies.ts, its run state in jobRun.ts, its side of
 * the limiter in tokenPool.ts.
 *
 * Deterministic workflow code: no I/O, time only from the SDK.
 */
import {
  ContinueAsNew,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  setDefaultSignalHandler,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { DiscoverResult } from '../activities';
import { checkAnnounced, failureMessage, ingestAll, jobActivities, type IngestContext } from './ingestStrategies';
import { JobRun, type JobResume } from './jobRun';
import { TokenPool } from './tokenPool';
import {
  jobErrorsQuery,
  jobProgressSignal,
  jobStatusQuery,
  limiterWorkflowId,
  type JobInput,
  type JobReport,
} from '../contract';
import { DISCOVER_BATCH, JOB_MAX_HISTORY_EVENTS } from '../contract/limits';

export type { JobResume } from './jobRun';

/** The job workflow: list (optionally), ingest every new version, report. */
export async function jobWorkflow(input: JobInput, resume?: JobResume): Promise<JobReport> {
  const run = new JobRun(input, workflowInfo().workflowId, resume);
  const ctx = wireHandlers(input, run, resume);
  try {
    if (!resume) await prepareAndIngestAnnounced(ctx);
    if (input.list) await listAndIngest(ctx, resume?.continuationToken);
    run.succeed();
  } catch (err) {
    // continueAsNew() ends this run by throwing: caught here, the job ended as an error instead.
    if (err instanceof ContinueAsNew) throw err;
    if (!isCancellation(err)) run.fail(failureMessage(err));
    // Reported as the job's result rather than a failure, so that the data
    // source records it and goes on; the cursor does not move.
    else run.cancel();
  }
  return run.finish();
}

/** The queries, the limiter's grants and unknown signals; the tokens a continued job held. */
function wireHandlers(input: JobInput, run: JobRun, resume: JobResume | undefined): IngestContext {
  setHandler(jobStatusQuery, () => run.report);
  setHandler(jobErrorsQuery, (offset: unknown, limit: unknown) => run.errorsPage(offset, limit));
  const parent = workflowInfo().parent;
  const limiterId = input.rateLimited === false ? undefined : limiterWorkflowId(input.workspace);
  const tokens = new TokenPool(
    limiterId,
    () => {
      const changed = run.showTokens(tokens.held, tokens.waiting);
      // The data source shows the tokens in its state query; tell it when waiting starts or ends.
      if (changed && parent) {
        void getExternalWorkflowHandle(parent.workflowId)
          .signal(jobProgressSignal, { jobId: run.report.id, tokens: run.report.tokens })
          .catch(() => undefined);
      }
    },
    (reason) => run.rejectSignal('tokenGrant', reason),
  );
  // Set after every handler: a signal of another name is recorded, not left waiting for a handler.
  setDefaultSignalHandler((name: string) => run.rejectSignal(name, 'unknown signal: a job takes tokenGrant'));
  tokens.held = resume?.report.tokens.held ?? 0;
  return { input, acts: jobActivities(input.ingestTaskQueue), run, tokens };
}

/** The first run: the destination (or the sample table) made ready, then the objects events announced. */
async function prepareAndIngestAnnounced(ctx: IngestContext): Promise<void> {
  const { input, acts, run } = ctx;
  if (input.kind === 'sample') await acts.prepareSampleTables(input.dataSource);
  else await acts.prepareDestination(input.dataSource);
  if (input.objects && input.objects.length > 0) {
    run.report.statistics.found_files += input.objects.length;
    // Event metadata is a hint: size, ETag and existence come from S3 (issue 18, item 5).
    await ingestAll(ctx, await checkAnnounced(ctx, input.objects));
  }
}

/** Lists page by page from `token`, ingesting each page; continues as new before the history grows large. */
async function listAndIngest(ctx: IngestContext, token: string | undefined): Promise<void> {
  const { input, acts, run } = ctx;
  let remaining = input.maxFiles ?? Number.POSITIVE_INFINITY;
  do {
    const page: DiscoverResult = await acts.discoverObjects.executeWithOptions(
      { summary: `list ${input.dataSource.import?.bucketUri ?? ''}` },
      [
        {
          dataSource: input.dataSource,
          cursor: run.listingCursor(),
          continuationToken: token,
          maxObjects: Math.min(DISCOVER_BATCH, remaining),
          ignoreLedger: input.kind === 'sample',
        },
      ],
    );
    const objects = page.objects.slice(0, Number.isFinite(remaining) ? remaining : undefined);
    run.recordListing(page, objects.length);
    await ingestAll(ctx, objects);
    remaining -= objects.length;
    token = remaining > 0 ? page.nextToken : undefined;
    if (token !== undefined && workflowInfo().historyLength > JOB_MAX_HISTORY_EVENTS) {
      await continueAsNew<typeof jobWorkflow>(input, run.carry(token));
    }
  } while (token !== undefined);
}
