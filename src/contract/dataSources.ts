/**
 * A data source workflow's input, state and cursor: what it carries across
 * continue-as-new and what its `state` query answers.
 *
 * Deterministic and I/O-free: imported by workflow code.
 */
import type { DataSourceDef } from '../datafiles/types';
import type { JobReport } from './jobs';

/** Why and how a sync run was asked for. */
export interface SyncRequest {
  /** Who asked: cli, api, signal, schedule, deploy. */
  origin: string;
  /** Idempotency key: a request with an id already seen is ignored. */
  requestId?: string;
}

/** The sync cursor (see DESIGN "Cursor and the upload race"). */
export interface SyncCursor {
  /**
   * Objects last modified before `watermark - grace` were all considered by an
   * earlier sync. Never past the start of an upload still in progress.
   */
  watermark?: string;
  /** Versions that failed for good, so that a poll does not retry them (key → etag). */
  failed: Record<string, string>;
}

export interface Counters {
  syncs: number;
  filesLoaded: number;
  filesFailed: number;
  filesSkipped: number;
  rows: number;
  quarantined: number;
  bytes: number;
}

export type DataSourceStatus = 'idle' | 'syncing' | 'paused' | 'resting';

/** A signal a workflow ignored because its payload did not fit (see workflows/payloads.ts). */
export interface RejectedSignal {
  /** When it was handled (ISO instant, workflow time). */
  at: string;
  /** The signal's name. */
  signal: string;
  /** Why it was ignored: what did not fit, never the payload itself. */
  reason: string;
}

/** Signals a workflow ignored: how many in all, and the latest (at most 20), oldest first. */
export interface RejectedSignals {
  count: number;
  last: RejectedSignal[];
}

/** What the `state` query answers (R8.1). */
export interface DataSourceState {
  dataSource: string;
  bucketUri: string;
  schedule: string;
  status: DataSourceStatus;
  /** Paused by the user (a running sync finishes first). */
  paused: boolean;
  cursor: SyncCursor;
  counters: Counters;
  /** Sync requests waiting to run. */
  pendingSyncs: number;
  /** Object versions signalled by events, waiting to be ingested. */
  queuedObjects: number;
  currentJobId?: string;
  /** Rate-limit tokens the current job holds, and whether it waits for more (R5.5). */
  tokens: { held: number; waiting: boolean };
  lastSyncAt?: string;
  lastJobId?: string;
  lastError?: string;
  /**
   * What its running job retries and why, when asked for (set by the client
   * from the job's pending activities, never by the workflow).
   */
  retrying?: string;
  /** True once an `@once` data source has run its one sync. */
  initialSyncDone: boolean;
  /** Signals ignored because their payload did not fit; absent when there was none. */
  rejectedSignals?: RejectedSignals;
  /** What the last listing could not guard (see {@link JobReport.warnings}); absent when nothing. */
  warnings?: string[];
}

/** Input of the long-running data source workflow. */
export interface DataSourceWorkflowInput {
  workspace: string;
  dataSource: DataSourceDef;
  /** Period of the reconciliation / local-mode polling listing for `@auto`. */
  pollIntervalSeconds: number;
  /** Task queue of the activities that touch the destination. */
  ingestTaskQueue: string;
  /** Whether jobs take tokens from the workspace limiter (default true). */
  rateLimited?: boolean;
  /** Continue as new past this many history events (default 2000). */
  maxHistoryEvents?: number;
  /** Carried across continue-as-new. */
  carried?: CarriedState;
}

/**
 * The workspace settings in a data source workflow's input that deploy sends
 * to the running workflow (`settings` signal), so that a changed s3c.yaml
 * reaches data sources deployed before it (issue #18 item 10).
 */
export type DataSourceSettings = Pick<
  DataSourceWorkflowInput,
  'pollIntervalSeconds' | 'rateLimited' | 'maxHistoryEvents'
>;

export interface CarriedState {
  cursor: SyncCursor;
  counters: Counters;
  initialSyncDone: boolean;
  paused: boolean;
  pendingSyncs: SyncRequest[];
  seenRequestIds: string[];
  lastSyncAt?: string;
  lastJobId?: string;
  lastError?: string;
  rejectedSignals?: RejectedSignals;
  warnings?: string[];
}

/** Text form of a schedule, as written in the datafile. */
export function scheduleText(ds: DataSourceDef): string {
  const schedule = ds.import?.schedule;
  if (!schedule) return 'none';
  return schedule.kind === 'cron' ? schedule.expression : `@${schedule.kind}`;
}

export function emptyCounters(): Counters {
  return { syncs: 0, filesLoaded: 0, filesFailed: 0, filesSkipped: 0, rows: 0, quarantined: 0, bytes: 0 };
}
