/**
 * The run state of a data source workflow (workflows/dataSource.ts): its
 * `state` query answer, the sync requests and event objects waiting for a
 * job, and what each signal does to them. The workflow wires the handlers to
 * these methods and runs the jobs.
 *
 * Signals come from anyone with access to Temporal: a payload that does not
 * fit is ignored and recorded (see payloads.ts), never thrown (a throw fails
 * the workflow task forever).
 *
 * Deterministic and I/O-free: imported by workflow code.
 */
import { upsertMemo } from '@temporalio/workflow';
import type { DataSourceDef, ImportSettings } from '../datafiles/types';
import { matchKey, parseBucketUri } from '../s3uri';
import { objectsForOneJob } from './bounds';
import {
  checkPayload,
  DataSourceDefPayload,
  DataSourceSettingsPayload,
  JobProgressPayload,
  ObjectsCreatedPayload,
  SignalLog,
  SyncRequestPayload,
} from './payloads';
import {
  beforeFromTimestamp,
  emptyCounters,
  scheduleText,
  versionKey,
  type CarriedState,
  type DataSourceSettings,
  type DataSourceState,
  type DataSourceWorkflowInput,
  type JobProgress,
  type JobReport,
  type ObjectVersion,
  type SyncRequest,
} from '../contract';
import { MAX_OBJECTS_PER_JOB, MAX_SEEN_REQUEST_IDS } from '../contract/limits';

const DATA_SOURCE_SIGNALS = ['syncNow', 'objectsCreated', 'redeploy', 'settings', 'jobProgress', 'pause', 'resume'];

/** The bucket of a bucket URI, or undefined when it does not parse (no object is then selected). */
function bucketOf(uri: string): string | undefined {
  try {
    return parseBucketUri(uri).bucket;
  } catch {
    return undefined;
  }
}

function startState(ds: DataSourceDef, settings: ImportSettings, carried: CarriedState): DataSourceState {
  return {
    dataSource: ds.name,
    bucketUri: settings.bucketUri,
    schedule: scheduleText(ds),
    status: carried.paused ? 'paused' : 'idle',
    paused: carried.paused,
    cursor: carried.cursor,
    counters: carried.counters,
    pendingSyncs: carried.pendingSyncs.length,
    queuedObjects: 0,
    initialSyncDone: carried.initialSyncDone,
    tokens: { held: 0, waiting: false },
    lastSyncAt: carried.lastSyncAt,
    lastJobId: carried.lastJobId,
    lastError: carried.lastError,
    ...(carried.warnings ? { warnings: carried.warnings } : {}),
  };
}

export class DataSourceRun {
  readonly state: DataSourceState;
  readonly schedule: ImportSettings['schedule']['kind'];
  readonly pending: SyncRequest[];
  /** Event objects waiting for a job, keyed by key + ETag so duplicates collapse. */
  readonly queued = new Map<string, ObjectVersion>();
  paused: boolean;
  /** A new definition from deploy: the workflow continues as new with it. */
  redeployed: DataSourceDef | undefined;
  /** Workspace settings from deploy apply from the next poll and job on (issue #18 item 10). */
  live: DataSourceSettings;
  settingsChanged = false;
  private readonly seenRequestIds: string[];
  private readonly signals: SignalLog;
  private readonly bucket: string | undefined;
  /** Deploy puts a bucket URI that comes from a secret in the input as its `{{ tb_secret(...) }}` reference. */
  private readonly uriFromSecret: boolean;

  constructor(
    private readonly ds: DataSourceDef,
    private readonly settings: ImportSettings,
    input: DataSourceWorkflowInput,
  ) {
    const carried: CarriedState = input.carried ?? {
      cursor: { failed: {} },
      counters: emptyCounters(),
      initialSyncDone: false,
      paused: false,
      pendingSyncs: [],
      seenRequestIds: [],
    };
    this.schedule = settings.schedule.kind;
    this.pending = [...carried.pendingSyncs];
    this.seenRequestIds = [...carried.seenRequestIds];
    this.state = startState(ds, settings, carried);
    this.paused = carried.paused;
    this.signals = new SignalLog(carried.rejectedSignals);
    this.state.rejectedSignals = this.signals.snapshot();
    this.bucket = bucketOf(settings.bucketUri);
    this.uriFromSecret = settings.bucketUri.includes('{{');
    this.live = {
      pollIntervalSeconds: input.pollIntervalSeconds,
      rateLimited: input.rateLimited,
      maxHistoryEvents: input.maxHistoryEvents,
    };
  }

  refresh(): void {
    const { state } = this;
    state.paused = this.paused;
    state.pendingSyncs = this.pending.length;
    state.queuedObjects = this.queued.size;
    if (state.status !== 'syncing')
      state.status = this.paused ? 'paused' : this.schedule === 'once' && state.initialSyncDone ? 'resting' : 'idle';
  }

  /** Records `signal` as ignored for `reason`. */
  private refuse(signal: string, reason: string): void {
    this.signals.reject(signal, reason);
    this.state.rejectedSignals = this.signals.snapshot();
  }

  onSyncNow(args: unknown[]): void {
    // No payload (\`temporal workflow signal --name syncNow\`) is a plain request.
    if (args[0] === undefined || args[0] === null) return this.requestSync({ origin: 'signal' });
    const checked = checkPayload<SyncRequest>(SyncRequestPayload, args);
    if (checked.ok) this.requestSync(checked.value);
    else this.refuse('syncNow', checked.reason);
  }

  /** A sync request; one that arrives while one is waiting is served by that one run. */
  requestSync(request: SyncRequest): void {
    if (request.requestId) {
      if (this.seenRequestIds.includes(request.requestId)) return;
      this.seenRequestIds.push(request.requestId);
      if (this.seenRequestIds.length > MAX_SEEN_REQUEST_IDS) this.seenRequestIds.shift();
    }
    if (this.pending.length === 0) this.pending.push(request);
    this.refresh();
  }

  onObjectsCreated(args: unknown[]): void {
    const checked = checkPayload<ObjectVersion[]>(ObjectsCreatedPayload, args);
    if (!checked.ok) return this.refuse('objectsCreated', checked.reason);
    // A URI from a secret is only its reference here: the ingest activity, which resolves it, checks the objects.
    if (this.uriFromSecret) return this.queue(checked.value);
    // Only objects this data source's URI selects: never another bucket's.
    const selected = checked.value.filter((o) => o.bucket === this.bucket && matchKey(this.settings.bucketUri, o.key));
    if (selected.length === checked.value.length) return this.queue(checked.value);
    this.refuse(
      'objectsCreated',
      `${checked.value.length - selected.length} of ${checked.value.length} objects are not selected by IMPORT_BUCKET_URI (another bucket, or a key the pattern does not match)`,
    );
    this.queue(selected);
  }

  private queue(objects: ObjectVersion[]): void {
    // Events are only for data sources that follow the bucket (@auto).
    if (this.schedule !== 'auto') return;
    for (const object of objects) {
      // Older than IMPORT_FROM_TIMESTAMP: ignored without a word, as a listing ignores it.
      if (beforeFromTimestamp(this.ds, object)) continue;
      this.queued.set(versionKey(object), object);
    }
    this.refresh();
  }

  onRedeploy(args: unknown[]): void {
    const checked = checkPayload<DataSourceDef>(DataSourceDefPayload, args);
    const { name } = this.ds;
    const reason = !checked.ok
      ? checked.reason
      : checked.value.name !== name
        ? `name: the definition of ${checked.value.name}, not of ${name}`
        : undefined;
    if (checked.ok && reason === undefined) this.redeployed = checked.value;
    else this.refuse('redeploy', reason ?? '');
  }

  onSettings(args: unknown[]): void {
    const checked = checkPayload<DataSourceSettings>(DataSourceSettingsPayload, args);
    if (!checked.ok) return this.refuse('settings', checked.reason);
    const { pollIntervalSeconds, rateLimited, maxHistoryEvents } = checked.value;
    this.settingsChanged = true;
    this.live = { pollIntervalSeconds, rateLimited, maxHistoryEvents };
  }

  onJobProgress(args: unknown[]): void {
    const checked = checkPayload<JobProgress>(JobProgressPayload, args);
    if (!checked.ok) return this.refuse('jobProgress', checked.reason);
    if (checked.value.jobId === this.state.currentJobId) this.state.tokens = checked.value.tokens;
  }

  /** Pause and resume carry nothing: any payload is ignored. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    this.refresh();
  }

  onUnknownSignal(name: string): void {
    this.refuse(name, `unknown signal: a data source takes ${DATA_SOURCE_SIGNALS.join(', ')}`);
  }

  /** A redeploy, new settings, or (unless paused) a request or event objects to serve. */
  hasWork(): boolean {
    return (
      this.redeployed !== undefined ||
      this.settingsChanged ||
      (!this.paused && (this.pending.length > 0 || this.queued.size > 0))
    );
  }

  /** The next job's work: the first request (a listing) and the event objects that fit in one job's input. */
  takeJobWork(): { request: SyncRequest | undefined; objects: ObjectVersion[] } {
    const request = this.pending.shift();
    const waiting = [...this.queued.values()];
    // A job's input is a payload: long keys make fewer objects per job (see bounds.ts).
    const objects = waiting.slice(0, objectsForOneJob(waiting, MAX_OBJECTS_PER_JOB));
    for (const object of objects) this.queued.delete(versionKey(object));
    return { request, objects };
  }

  /** Shows what the last listing could not guard in the state query and the memo; the memo only changes when they do. */
  showWarnings(warnings: string[]): void {
    const text = warnings.join('; ');
    if (text === (this.state.warnings ?? []).join('; ')) return;
    this.state.warnings = warnings.length > 0 ? warnings : undefined;
    upsertMemo({ warnings: text || undefined });
  }

  /** Takes a finished job's cursor, counts and errors. */
  recordJob(report: JobReport, listed: boolean): void {
    const { state } = this;
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
    if (listed && report.status === 'done') state.initialSyncDone = true;
    // Absent: no listing ran to the end, the last warnings stand.
    if (report.warnings !== undefined) this.showWarnings(report.warnings);
  }

  /** What the next run carries across continue-as-new. */
  carry(): CarriedState {
    const { state } = this;
    return {
      cursor: state.cursor,
      counters: state.counters,
      initialSyncDone: state.initialSyncDone,
      paused: this.paused,
      pendingSyncs: this.pending,
      seenRequestIds: this.seenRequestIds,
      lastSyncAt: state.lastSyncAt,
      lastJobId: state.lastJobId,
      lastError: state.lastError,
      rejectedSignals: this.signals.snapshot(),
      ...(state.warnings ? { warnings: state.warnings } : {}),
    };
  }
}
