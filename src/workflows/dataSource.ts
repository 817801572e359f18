/**
 * The long-running workflow of one data source (R8.1): keeps the sync cursor
 * and counters, takes sync requests and S3 events as signals, runs each sync
 * as a child job workflow, answers the `state` query, and continues as new
 * before its history grows large, carrying every pending request.
 *
 * Deterministic workflow code: no I/O, time only from the SDK.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DataSourceDef } from '../datafiles/types';
import { jobWorkflow } from './job';
import {
  emptyCounters,
  jobProgressSignal,
  objectsCreatedSignal,
  pauseSignal,
  redeploySignal,
  resumeSignal,
  scheduleText,
  stateQuery,
  syncNowSignal,
  SA_DATA_SOURCE,
  SA_JOB_KIND,
  SA_SCHEDULE,
  type CarriedState,
  type DataSourceState,
  type DataSourceWorkflowInput,
  type JobReport,
  type ObjectVersion,
  type SyncRequest,
} from './shared';

/** Continue as new past this many events (or when the server suggests it). */
const MAX_HISTORY_EVENTS = 2000;
/** Request ids remembered for idempotent sync requests. */
const MAX_SEEN_REQUEST_IDS = 200;
/** Event objects handed to one job at most. */
const MAX_OBJECTS_PER_JOB = 1000;

export async function dataSourceWorkflow(input: DataSourceWorkflowInput): Promise<void> {
  const ds = input.dataSource;
  const settings = ds.import;
  if (!settings) throw new Error(`data source ${ds.name} has no IMPORT_* settings`);
  const schedule = settings.schedule.kind;
  const carried: CarriedState = input.carried ?? {
    cursor: { failed: {} },
    counters: emptyCounters(),
    initialSyncDone: false,
    paused: false,
    pendingSyncs: [],
    seenRequestIds: [],
  };
  const pending: SyncRequest[] = [...carried.pendingSyncs];
  const seenRequestIds = [...carried.seenRequestIds];
  /** Event objects waiting for a job, keyed by key + ETag so duplicates collapse. */
  const queued = new Map<string, ObjectVersion>();
  const state: DataSourceState = {
    dataSource: ds.name,
    bucketUri: settings.bucketUri,
    schedule: scheduleText(ds),
    status: carried.paused ? 'paused' : 'idle',
    paused: carried.paused,
    cursor: carried.cursor,
    counters: carried.counters,
    pendingSyncs: pending.length,
    queuedObjects: 0,
    initialSyncDone: carried.initialSyncDone,
    tokens: { held: 0, waiting: false },
    lastSyncAt: carried.lastSyncAt,
    lastJobId: carried.lastJobId,
    lastError: carried.lastError,
  };
  let paused = carried.paused;

  const refresh = (): void => {
    state.paused = paused;
    state.pendingSyncs = pending.length;
    state.queuedObjects = queued.size;
    if (state.status !== 'syncing') state.status = paused ? 'paused' : schedule === 'once' && state.initialSyncDone ? 'resting' : 'idle';
  };

  setHandler(stateQuery, () => state);
  setHandler(syncNowSignal, (request) => {
    if (request.requestId) {
      if (seenRequestIds.includes(request.requestId)) return;
      seenRequestIds.push(request.requestId);
      if (seenRequestIds.length > MAX_SEEN_REQUEST_IDS) seenRequestIds.shift();
    }
    // Requests that arrive while one is waiting are served by that one run.
    if (pending.length === 0) pending.push(request);
    refresh();
  });
  setHandler(objectsCreatedSignal, (objects) => {
    // Events are only for data sources that follow the bucket (@auto).
    if (schedule !== 'auto') return;
    for (const object of objects) queued.set(`${object.key}\u0000${object.etag}`, object);
    refresh();
  });
  let redeployed: DataSourceDef | undefined;
  setHandler(redeploySignal, (def) => {
    redeployed = def;
  });
  setHandler(jobProgressSignal, (progress) => {
    if (progress.jobId === state.currentJobId) state.tokens = progress.tokens;
  });
  setHandler(pauseSignal, () => {
    paused = true;
    refresh();
  });
  setHandler(resumeSignal, () => {
    paused = false;
    refresh();
  });

  // Deploy creates the destination tables (R2.2): an @on-demand data source has them before its first sync.
  if (!input.carried) await proxyActivities<Activities>({ taskQueue: input.ingestTaskQueue, startToCloseTimeout: '5 minutes' }).prepareDestination(ds);

  upsertMemo({ bucketUri: settings.bucketUri, schedule: scheduleText(ds), format: settings.format ?? 'by extension' });

  // The first run: @auto and @once load every existing file at deploy.
  if (!state.initialSyncDone && (schedule === 'auto' || schedule === 'once') && pending.length === 0) {
    pending.push({ origin: 'deploy' });
  }
  refresh();

  const carry = (): CarriedState => ({
    cursor: state.cursor,
    counters: state.counters,
    initialSyncDone: state.initialSyncDone,
    paused,
    pendingSyncs: pending,
    seenRequestIds,
    lastSyncAt: state.lastSyncAt,
    lastJobId: state.lastJobId,
    lastError: state.lastError,
  });

  const pollMs = input.pollIntervalSeconds * 1000;
  let nextPollAt = Date.now() + pollMs;

  for (;;) {
    const hasWork = (): boolean => redeployed !== undefined || (!paused && (pending.length > 0 || queued.size > 0));
    if (schedule === 'auto' && state.initialSyncDone) {
      // Local mode and reconciliation (R5.1, R5.7): list again every poll interval.
      const woke = await condition(hasWork, Math.max(1, nextPollAt - Date.now()));
      if (!woke && !paused && pending.length === 0) pending.push({ origin: 'poll' });
    } else {
      await condition(hasWork);
    }
    if (redeployed) {
      // @once → @auto: ingest every matching file since the last sync, then follow the bucket.
      const def = redeployed;
      if (def.import?.schedule.kind === 'auto' && schedule !== 'auto' && pending.length === 0) pending.push({ origin: 'schedule change' });
      upsertSearchAttributes([{ key: SA_SCHEDULE, value: scheduleText(def) }]);
      await condition(allHandlersFinished);
      await continueAsNew<typeof dataSourceWorkflow>({ ...input, dataSource: def, carried: carry() });
    }
    if (paused) continue;

    const request = pending.shift();
    const objects = [...queued.values()].slice(0, MAX_OBJECTS_PER_JOB);
    for (const object of objects) queued.delete(`${object.key}\u0000${object.etag}`);
    const list = request !== undefined;
    if (list) nextPollAt = Date.now() + pollMs;

    const jobId = `${ds.name}-sync-${uuid4()}`;
    state.status = 'syncing';
    state.currentJobId = jobId;
    refresh();
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
            origin: request?.origin ?? 'event',
            rateLimited: input.rateLimited,
          },
        ],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        typedSearchAttributes: [
          { key: SA_DATA_SOURCE, value: ds.name },
          { key: SA_JOB_KIND, value: 'sync' },
        ],
        staticSummary: `${list ? 'sync' : 'ingest events'} ${settings.bucketUri} (${request?.origin ?? 'event'})`,
      });
    } catch (err) {
      state.lastError = `job ${jobId}: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (report) {
      state.cursor = report.cursor;
      const c = state.counters;
      c.syncs++;
      c.filesLoaded += report.statistics.files_done;
      c.filesFailed += report.statistics.files_failed;
      c.filesSkipped += report.statistics.files_skipped;
      c.rows += report.statistics.row_count;
      c.quarantined += report.statistics.quarantined_rows;
      c.bytes += report.statistics.bytes;
      const lastError = report.errors[report.errors.length - 1];
      if (lastError) state.lastError = lastError.error;
      if (list && report.status === 'done') state.initialSyncDone = true;
    }
    state.lastSyncAt = new Date().toISOString();
    state.lastJobId = jobId;
    state.currentJobId = undefined;
    state.tokens = { held: 0, waiting: false };
    state.status = 'idle';
    refresh();

    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > (input.maxHistoryEvents ?? MAX_HISTORY_EVENTS)) {
      await condition(allHandlersFinished);
      // Event objects not yet handed to a job become one listing request: the
      // listing finds them (they are not in the ledger), so nothing is lost.
      if (queued.size > 0 && pending.length === 0) pending.push({ origin: 'events carried over' });
      await continueAsNew<typeof dataSourceWorkflow>({ ...input, carried: carry() });
    }
  }
}
