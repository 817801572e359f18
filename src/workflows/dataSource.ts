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
  patched,
  proxyActivities,
  setDefaultSignalHandler,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DataSourceDef } from '../datafiles/types';
import { matchKey, parseBucketUri } from '../s3uri';
import { BOUNDED_PAYLOADS_PATCH, objectsForOneJob } from './bounds';
import { jobWorkflow } from './job';
import {
  checkPayload,
  DataSourceDefPayload,
  JobProgressPayload,
  ObjectsCreatedPayload,
  SignalLog,
  SIGNAL_CHECKS_PATCH,
  SyncRequestPayload,
} from './payloads';
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
  type JobProgress,
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
const DATA_SOURCE_SIGNALS = ['syncNow', 'objectsCreated', 'redeploy', 'jobProgress', 'pause', 'resume'];

/** The bucket of a bucket URI, or undefined when it does not parse (no object is then selected). */
function bucketOf(uri: string): string | undefined {
  try {
    return parseBucketUri(uri).bucket;
  } catch {
    return undefined;
  }
}

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

  // Signals come from anyone with access to Temporal: a payload that does not
  // fit is ignored and recorded, never thrown (a throw fails the workflow task
  // forever). Histories recorded before the checks replay as they ran then.
  const signals = new SignalLog(carried.rejectedSignals);
  state.rejectedSignals = signals.snapshot();
  /** Records `signal` as ignored for `reason` (then runs `rest`), or, in a history from before the checks, runs `asBefore`. */
  const refuse = (signal: string, reason: string, asBefore: () => void, rest?: () => void): void => {
    if (!patched(SIGNAL_CHECKS_PATCH)) return asBefore();
    signals.reject(signal, reason);
    state.rejectedSignals = signals.snapshot();
    rest?.();
  };

  setHandler(stateQuery, () => state);
  const syncNow = (request: SyncRequest): void => {
    if (request.requestId) {
      if (seenRequestIds.includes(request.requestId)) return;
      seenRequestIds.push(request.requestId);
      if (seenRequestIds.length > MAX_SEEN_REQUEST_IDS) seenRequestIds.shift();
    }
    // Requests that arrive while one is waiting are served by that one run.
    if (pending.length === 0) pending.push(request);
    refresh();
  };
  setHandler(syncNowSignal, (...args: unknown[]) => {
    // No payload (\`temporal workflow signal --name syncNow\`) is a plain request.
    if (args[0] === undefined || args[0] === null) return syncNow({ origin: 'signal' });
    const checked = checkPayload<SyncRequest>(SyncRequestPayload, args);
    if (checked.ok) syncNow(checked.value);
    else refuse('syncNow', checked.reason, () => syncNow(args[0] as SyncRequest));
  });
  const bucket = bucketOf(settings.bucketUri);
  const queue = (objects: ObjectVersion[]): void => {
    // Events are only for data sources that follow the bucket (@auto).
    if (schedule !== 'auto') return;
    for (const object of objects) queued.set(`${object.key}\u0000${object.etag}`, object);
    refresh();
  };
  setHandler(objectsCreatedSignal, (...args: unknown[]) => {
    const checked = checkPayload<ObjectVersion[]>(ObjectsCreatedPayload, args);
    if (!checked.ok) return refuse('objectsCreated', checked.reason, () => queue(args[0] as ObjectVersion[]));
    // Only objects this data source's URI selects: never another bucket's.
    const selected = checked.value.filter((o) => o.bucket === bucket && matchKey(settings.bucketUri, o.key));
    if (selected.length === checked.value.length) return queue(checked.value);
    refuse(
      'objectsCreated',
      `${checked.value.length - selected.length} of ${checked.value.length} objects are not selected by IMPORT_BUCKET_URI (another bucket, or a key the pattern does not match)`,
      () => queue(checked.value),
      () => queue(selected),
    );
  });
  let redeployed: DataSourceDef | undefined;
  setHandler(redeploySignal, (...args: unknown[]) => {
    const checked = checkPayload<DataSourceDef>(DataSourceDefPayload, args);
    const reason = !checked.ok ? checked.reason : checked.value.name !== ds.name ? `name: the definition of ${checked.value.name}, not of ${ds.name}` : undefined;
    if (checked.ok && reason === undefined) redeployed = checked.value;
    else refuse('redeploy', reason ?? '', () => (redeployed = args[0] as DataSourceDef));
  });
  setHandler(jobProgressSignal, (...args: unknown[]) => {
    const checked = checkPayload<JobProgress>(JobProgressPayload, args);
    const progress = checked.ok ? checked.value : (args[0] as JobProgress);
    const apply = (): void => {
      if (progress.jobId === state.currentJobId) state.tokens = progress.tokens;
    };
    if (checked.ok) apply();
    else refuse('jobProgress', checked.reason, apply);
  });
  // Pause and resume carry nothing: any payload is ignored.
  setHandler(pauseSignal, () => {
    paused = true;
    refresh();
  });
  setHandler(resumeSignal, () => {
    paused = false;
    refresh();
  });
  // Set after every handler: a signal of another name is recorded, not left waiting for a handler.
  setDefaultSignalHandler((name: string) => {
    signals.reject(name, `unknown signal: a data source takes ${DATA_SOURCE_SIGNALS.join(', ')}`);
    state.rejectedSignals = signals.snapshot();
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
    rejectedSignals: signals.snapshot(),
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
    const waiting = [...queued.values()];
    // A job's input is a payload: long keys make fewer objects per job (see bounds.ts).
    const objects = waiting.slice(0, patched(BOUNDED_PAYLOADS_PATCH) ? objectsForOneJob(waiting, MAX_OBJECTS_PER_JOB) : MAX_OBJECTS_PER_JOB);
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
