/**
 * The long-running workflow of one data source (R8.1): keeps the sync cursor
 * and counters, takes sync requests and S3 events as signals, runs each sync
 * as a child job workflow, answers the `state` query, and continues as new
 * before its history grows large, carrying every pending request.
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
import type { DataSourceDef } from '../datafiles/types';
import { matchKey, parseBucketUri } from '../s3uri';
import { objectsForOneJob } from './bounds';
import { jobWorkflow } from './job';
import { probeForWork } from './poll';
import {
  checkPayload,
  DataSourceDefPayload,
  JobProgressPayload,
  DataSourceSettingsPayload,
  ObjectsCreatedPayload,
  SignalLog,
  SyncRequestPayload,
} from './payloads';
import {
  beforeFromTimestamp,
  emptyCounters,
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
  type CarriedState,
  type DataSourceSettings,
  type DataSourceState,
  type DataSourceWorkflowInput,
  type JobProgress,
  type JobReport,
  type ObjectVersion,
  type SyncRequest,
  versionKey,
} from '../contract';
import { DATA_SOURCE_MAX_HISTORY_EVENTS, MAX_OBJECTS_PER_JOB, MAX_SEEN_REQUEST_IDS } from '../contract/limits';

const DATA_SOURCE_SIGNALS = ['syncNow', 'objectsCreated', 'redeploy', 'settings', 'jobProgress', 'pause', 'resume'];

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
    ...(carried.warnings ? { warnings: carried.warnings } : {}),
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
  // forever).
  const signals = new SignalLog(carried.rejectedSignals);
  state.rejectedSignals = signals.snapshot();
  /** Records `signal` as ignored for `reason`. */
  const refuse = (signal: string, reason: string): void => {
    signals.reject(signal, reason);
    state.rejectedSignals = signals.snapshot();
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
    else refuse('syncNow', checked.reason);
  });
  const bucket = bucketOf(settings.bucketUri);
  // Deploy puts a bucket URI that comes from a secret in the input as its `{{ tb_secret(...) }}` reference.
  const uriFromSecret = settings.bucketUri.includes('{{');
  const queue = (objects: ObjectVersion[]): void => {
    // Events are only for data sources that follow the bucket (@auto).
    if (schedule !== 'auto') return;
    for (const object of objects) {
      // Older than IMPORT_FROM_TIMESTAMP: ignored without a word, as a listing ignores it.
      if (beforeFromTimestamp(ds, object)) continue;
      queued.set(versionKey(object), object);
    }
    refresh();
  };
  setHandler(objectsCreatedSignal, (...args: unknown[]) => {
    const checked = checkPayload<ObjectVersion[]>(ObjectsCreatedPayload, args);
    if (!checked.ok) return refuse('objectsCreated', checked.reason);
    // A URI from a secret is only its reference here: the ingest activity, which resolves it, checks the objects.
    if (uriFromSecret) return queue(checked.value);
    // Only objects this data source's URI selects: never another bucket's.
    const selected = checked.value.filter((o) => o.bucket === bucket && matchKey(settings.bucketUri, o.key));
    if (selected.length === checked.value.length) return queue(checked.value);
    refuse(
      'objectsCreated',
      `${checked.value.length - selected.length} of ${checked.value.length} objects are not selected by IMPORT_BUCKET_URI (another bucket, or a key the pattern does not match)`,
    );
    queue(selected);
  });
  let redeployed: DataSourceDef | undefined;
  setHandler(redeploySignal, (...args: unknown[]) => {
    const checked = checkPayload<DataSourceDef>(DataSourceDefPayload, args);
    const reason = !checked.ok ? checked.reason : checked.value.name !== ds.name ? `name: the definition of ${checked.value.name}, not of ${ds.name}` : undefined;
    if (checked.ok && reason === undefined) redeployed = checked.value;
    else refuse('redeploy', reason ?? '');
  });
  // Workspace settings from deploy apply from the next poll and job on (issue #18 item 10).
  let live: DataSourceSettings = { pollIntervalSeconds: input.pollIntervalSeconds, rateLimited: input.rateLimited, maxHistoryEvents: input.maxHistoryEvents };
  let settingsChanged = false;
  setHandler(settingsSignal, (...args: unknown[]) => {
    const checked = checkPayload<DataSourceSettings>(DataSourceSettingsPayload, args);
    if (!checked.ok) return refuse('settings', checked.reason);
    const { pollIntervalSeconds, rateLimited, maxHistoryEvents } = checked.value;
    settingsChanged = true;
    live = { pollIntervalSeconds, rateLimited, maxHistoryEvents };
  });
  setHandler(jobProgressSignal, (...args: unknown[]) => {
    const checked = checkPayload<JobProgress>(JobProgressPayload, args);
    if (!checked.ok) return refuse('jobProgress', checked.reason);
    if (checked.value.jobId === state.currentJobId) state.tokens = checked.value.tokens;
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
  // Warnings stay in the memo (the Web UI) across continue-as-new.
  if (state.warnings) upsertMemo({ warnings: state.warnings.join('; ') });

  /** Shows what the last listing could not guard in the state query and the memo; the memo only changes when they do. */
  const showWarnings = (warnings: string[]): void => {
    const text = warnings.join('; ');
    if (text === (state.warnings ?? []).join('; ')) return;
    state.warnings = warnings.length > 0 ? warnings : undefined;
    upsertMemo({ warnings: text || undefined });
  };

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
    ...(state.warnings ? { warnings: state.warnings } : {}),
  });

  let pollMs = live.pollIntervalSeconds * 1000;
  let nextPollAt = Date.now() + pollMs;

  /** Settings from deploy: a new poll interval counts from the last listing. */
  const applySettings = (): void => {
    settingsChanged = false;
    const ms = live.pollIntervalSeconds * 1000;
    nextPollAt += ms - pollMs;
    pollMs = ms;
  };
  /**
   * Whether this poll has work for a job. Without, the cursor moves as after
   * a job that found nothing; a listing that fails is retried by the next poll.
   */
  const pollFindsWork = async (): Promise<boolean> => {
    nextPollAt = Date.now() + pollMs;
    try {
      const probe = await probeForWork(ds, state.cursor, input.ingestTaskQueue);
      state.cursor = probe.cursor;
      if (probe.uploadGuardWarning !== undefined) showWarnings([probe.uploadGuardWarning]);
      return probe.work;
    } catch (err) {
      state.lastError = `poll: ${err instanceof ActivityFailure && err.cause ? err.cause.message : String(err)}`;
      return false;
    }
  };
  /** Continues as new before the history grows large (polls without a job grow it too). */
  const continueIfLong = async (): Promise<void> => {
    const info = workflowInfo();
    if (!info.continueAsNewSuggested && info.historyLength <= (live.maxHistoryEvents ?? DATA_SOURCE_MAX_HISTORY_EVENTS)) return;
    await condition(allHandlersFinished);
    // Event objects not yet handed to a job become one listing request: the
    // listing finds them (they are not in the ledger), so nothing is lost.
    if (queued.size > 0 && pending.length === 0) pending.push({ origin: 'events carried over' });
    await continueAsNew<typeof dataSourceWorkflow>({ ...input, ...live, carried: carry() });
  };
  /** @auto polls, also after a first sync that failed: it retries on the poll's schedule (issue #19 item 2). */
  const polls = (): boolean => schedule === 'auto';

  for (;;) {
    const hasWork = (): boolean => redeployed !== undefined || settingsChanged || (!paused && (pending.length > 0 || queued.size > 0));
    if (polls()) {
      // Local mode and reconciliation (R5.1, R5.7): list again every poll interval.
      const woke = await condition(hasWork, Math.max(1, nextPollAt - Date.now()));
      // A poll lists first and starts a job only when there is work (issue #18 item 13);
      // a request that came in during the listing serves it (one run, as for syncNow).
      if (!woke && !paused && pending.length === 0 && (await pollFindsWork()) && pending.length === 0) {
        pending.push({ origin: 'poll' });
      }
    } else {
      await condition(hasWork);
    }
    if (settingsChanged) applySettings();
    if (redeployed) {
      // @once or @on-demand → @auto: ingest every matching file since the last sync, then follow the bucket.
      const def = redeployed;
      if (def.import?.schedule.kind === 'auto' && schedule !== 'auto' && pending.length === 0) pending.push({ origin: 'schedule change' });
      upsertSearchAttributes([{ key: SA_SCHEDULE, value: scheduleText(def) }]);
      await condition(allHandlersFinished);
      await continueAsNew<typeof dataSourceWorkflow>({ ...input, ...live, dataSource: def, carried: carry() });
    }
    if (paused) continue;
    // Woken by new settings, or a poll that found nothing: no job.
    if (pending.length === 0 && queued.size === 0) {
      await continueIfLong();
      continue;
    }

    const request = pending.shift();
    const waiting = [...queued.values()];
    // A job's input is a payload: long keys make fewer objects per job (see bounds.ts).
    const objects = waiting.slice(0, objectsForOneJob(waiting, MAX_OBJECTS_PER_JOB));
    for (const object of objects) queued.delete(versionKey(object));
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
            rateLimited: live.rateLimited,
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
      // Absent: no listing ran to the end, the last warnings stand.
      if (report.warnings !== undefined) showWarnings(report.warnings);
    }
    state.lastSyncAt = new Date().toISOString();
    state.lastJobId = jobId;
    state.currentJobId = undefined;
    state.tokens = { held: 0, waiting: false };
    state.status = 'idle';
    refresh();

    await continueIfLong();
  }
}
