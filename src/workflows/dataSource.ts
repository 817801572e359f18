/**
 * The long-running workflow of one data source (R8.1): keeps the sync cursor
 * and counters, takes sync requests and S3 events as signals, runs each sync
 * as a child job workflow, answers the `state` query, and continues as new
 * before its history grows large, carrying every pending request. What each
 * signal does, and the state it changes, is in dataSourceRun.ts.
 *
 * Deterministic workflow code: no I/O, time only from the SDK.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  ParentClosePolicy,
  proxyActivities,
  setDefaultSignalHandler,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { DataSourceRun } from './dataSourceRun';
import { jobWorkflow } from './job';
import { probeForWork } from './poll';
import {
  jobProgressSignal,
  objectsCreatedSignal,
  pauseSignal,
  redeploySignal,
  resumeSignal,
  scheduleText,
  settingsSignal,
  stateQuery,
  syncNowSignal,
  SA_DATA_SOURCE,
  SA_JOB_KIND,
  SA_SCHEDULE,
  type DataSourceWorkflowInput,
  type JobReport,
  type ObjectVersion,
  type SyncRequest,
} from '../contract';
import { DATA_SOURCE_MAX_HISTORY_EVENTS } from '../contract/limits';

/** When the next @auto poll lists: one poll interval after the last listing. */
class PollClock {
  private ms: number;
  nextAt: number;

  constructor(seconds: number) {
    this.ms = seconds * 1000;
    this.nextAt = Date.now() + this.ms;
  }

  /** A listing starts now. */
  listed(): void {
    this.nextAt = Date.now() + this.ms;
  }

  /** Settings from deploy: a new poll interval counts from the last listing. */
  changeInterval(seconds: number): void {
    const ms = seconds * 1000;
    this.nextAt += ms - this.ms;
    this.ms = ms;
  }
}

export async function dataSourceWorkflow(input: DataSourceWorkflowInput): Promise<void> {
  const ds = input.dataSource;
  const settings = ds.import;
  if (!settings) throw new Error(`data source ${ds.name} has no IMPORT_* settings`);
  const run = new DataSourceRun(ds, settings, input);
  wireHandlers(run);

  // Deploy creates the destination tables (R2.2): an @on-demand data source has them before its first sync.
  if (!input.carried)
    await proxyActivities<Activities>({
      taskQueue: input.ingestTaskQueue,
      startToCloseTimeout: '5 minutes',
    }).prepareDestination(ds);
  upsertMemo({ bucketUri: settings.bucketUri, schedule: scheduleText(ds), format: settings.format ?? 'by extension' });
  // Warnings stay in the memo (the Web UI) across continue-as-new.
  if (run.state.warnings) upsertMemo({ warnings: run.state.warnings.join('; ') });

  // The first run: @auto and @once load every existing file at deploy.
  if (!run.state.initialSyncDone && (run.schedule === 'auto' || run.schedule === 'once') && run.pending.length === 0) {
    run.pending.push({ origin: 'deploy' });
  }
  run.refresh();
  const clock = new PollClock(run.live.pollIntervalSeconds);

  for (;;) {
    await waitForWork(input, run, clock);
    if (run.settingsChanged) {
      run.settingsChanged = false;
      clock.changeInterval(run.live.pollIntervalSeconds);
    }
    if (run.redeployed) await continueRedeployed(input, run);
    if (run.paused) continue;
    // Woken by new settings, or a poll that found nothing: no job.
    if (run.pending.length === 0 && run.queued.size === 0) {
      await continueIfLong(input, run);
      continue;
    }
    const { request, objects } = run.takeJobWork();
    if (request !== undefined) clock.listed();
    await runJob(input, run, request, objects);
    await continueIfLong(input, run);
  }
}

/** Every signal and the query, wired to the run; set before the first await, so no signal waits. */
function wireHandlers(run: DataSourceRun): void {
  setHandler(stateQuery, () => run.state);
  setHandler(syncNowSignal, (...args: unknown[]) => run.onSyncNow(args));
  setHandler(objectsCreatedSignal, (...args: unknown[]) => run.onObjectsCreated(args));
  setHandler(redeploySignal, (...args: unknown[]) => run.onRedeploy(args));
  setHandler(settingsSignal, (...args: unknown[]) => run.onSettings(args));
  setHandler(jobProgressSignal, (...args: unknown[]) => run.onJobProgress(args));
  setHandler(pauseSignal, () => run.setPaused(true));
  setHandler(resumeSignal, () => run.setPaused(false));
  // Set after every handler: a signal of another name is recorded, not left waiting for a handler.
  setDefaultSignalHandler((name: string) => run.onUnknownSignal(name));
}

/**
 * Waits for a signal with work, or, for @auto (which polls, also after a
 * first sync that failed: issue #19 item 2), until the next poll lists.
 */
async function waitForWork(input: DataSourceWorkflowInput, run: DataSourceRun, clock: PollClock): Promise<void> {
  if (run.schedule !== 'auto') {
    await condition(() => run.hasWork());
    return;
  }
  // Local mode and reconciliation (R5.1, R5.7): list again every poll interval.
  const woke = await condition(() => run.hasWork(), Math.max(1, clock.nextAt - Date.now()));
  // A poll lists first and starts a job only when there is work (issue #18 item 13);
  // a request that came in during the listing serves it (one run, as for syncNow).
  if (
    !woke &&
    !run.paused &&
    run.pending.length === 0 &&
    (await pollFindsWork(input, run, clock)) &&
    run.pending.length === 0
  ) {
    run.pending.push({ origin: 'poll' });
  }
}

/**
 * Whether this poll has work for a job. Without, the cursor moves as after
 * a job that found nothing; a listing that fails is retried by the next poll.
 */
async function pollFindsWork(input: DataSourceWorkflowInput, run: DataSourceRun, clock: PollClock): Promise<boolean> {
  clock.listed();
  try {
    const probe = await probeForWork(input.dataSource, run.state.cursor, input.ingestTaskQueue);
    run.state.cursor = probe.cursor;
    if (probe.uploadGuardWarning !== undefined) run.showWarnings([probe.uploadGuardWarning]);
    return probe.work;
  } catch (err) {
    run.state.lastError = `poll: ${err instanceof ActivityFailure && err.cause ? err.cause.message : String(err)}`;
    return false;
  }
}

/** Continues as new with the definition deploy sent. */
async function continueRedeployed(input: DataSourceWorkflowInput, run: DataSourceRun): Promise<never> {
  const def = run.redeployed!;
  // @once or @on-demand → @auto: ingest every matching file since the last sync, then follow the bucket.
  if (def.import?.schedule.kind === 'auto' && run.schedule !== 'auto' && run.pending.length === 0)
    run.pending.push({ origin: 'schedule change' });
  upsertSearchAttributes([{ key: SA_SCHEDULE, value: scheduleText(def) }]);
  await condition(allHandlersFinished);
  return continueAsNew<typeof dataSourceWorkflow>({ ...input, ...run.live, dataSource: def, carried: run.carry() });
}

/** Continues as new before the history grows large (polls without a job grow it too). */
async function continueIfLong(input: DataSourceWorkflowInput, run: DataSourceRun): Promise<void> {
  const info = workflowInfo();
  if (
    !info.continueAsNewSuggested &&
    info.historyLength <= (run.live.maxHistoryEvents ?? DATA_SOURCE_MAX_HISTORY_EVENTS)
  )
    return;
  await condition(allHandlersFinished);
  // Event objects not yet handed to a job become one listing request: the
  // listing finds them (they are not in the ledger), so nothing is lost.
  if (run.queued.size > 0 && run.pending.length === 0) run.pending.push({ origin: 'events carried over' });
  await continueAsNew<typeof dataSourceWorkflow>({ ...input, ...run.live, carried: run.carry() });
}

/** One sync as a child job: a listing when `request` is set, and the event objects given. */
async function runJob(
  input: DataSourceWorkflowInput,
  run: DataSourceRun,
  request: SyncRequest | undefined,
  objects: ObjectVersion[],
): Promise<void> {
  const { dataSource: ds } = input;
  const { state } = run;
  const list = request !== undefined;
  const origin = request?.origin ?? 'event';
  const jobId = `${ds.name}-sync-${uuid4()}`;
  state.status = 'syncing';
  state.currentJobId = jobId;
  run.refresh();
  let report: JobReport | undefined;
  try {
    report = await executeChild(jobWorkflow, {
      workflowId: jobId,
      taskQueue: workflowInfo().taskQueue,
      args: [
        {
          kind: 'sync',
          workspace: input.workspace,
          dataSource: ds,
          ingestTaskQueue: input.ingestTaskQueue,
          cursor: state.cursor,
          objects,
          list,
          origin,
          rateLimited: run.live.rateLimited,
        },
      ],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      typedSearchAttributes: [
        { key: SA_DATA_SOURCE, value: ds.name },
        { key: SA_JOB_KIND, value: 'sync' },
      ],
      staticSummary: `${list ? 'sync' : 'ingest events'} ${ds.import?.bucketUri ?? ''} (${origin})`,
    });
  } catch (err) {
    state.lastError = `job ${jobId}: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (report) run.recordJob(report, list);
  state.lastSyncAt = new Date().toISOString();
  state.lastJobId = jobId;
  state.currentJobId = undefined;
  state.tokens = { held: 0, waiting: false };
  state.status = 'idle';
  run.refresh();
}
