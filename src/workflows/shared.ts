/**
 * Names and shapes shared by workflows, activities and clients: signals,
 * queries, search attributes, and the plain data that travels in payloads.
 *
 * Deterministic and I/O-free: imported by workflow code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DataSourceDef, FileFormat } from '../datafiles/types';

/** One version of one object: what is loaded exactly once (R5.3). */
export interface ObjectVersion {
  bucket: string;
  key: string;
  etag: string;
  size: number;
  /** ISO instant. */
  lastModified: string;
  format: FileFormat;
  compression: 'gzip' | 'none';
}

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
export type DataSourceSettings = Pick<DataSourceWorkflowInput, 'pollIntervalSeconds' | 'rateLimited' | 'maxHistoryEvents'>;

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

export type JobKind = 'sync' | 'sample';
export type JobStatus = 'waiting' | 'working' | 'done' | 'error' | 'cancelled';

/** Input of a job workflow: one sync run or one sample import. */
export interface JobInput {
  kind: JobKind;
  workspace: string;
  dataSource: DataSourceDef;
  ingestTaskQueue: string;
  /** Sync: the cursor to list from. Sample: ignored. */
  cursor: SyncCursor;
  /** Sample: at most this many files. */
  maxFiles?: number;
  /** Objects given by events: ingest these without a listing. */
  objects?: ObjectVersion[];
  /** Whether to list the bucket (false for event-only runs). */
  list: boolean;
  origin: string;
  /** Whether to take a token from the workspace limiter per file (default true). */
  rateLimited?: boolean;
}

export interface FileError {
  key: string;
  etag: string;
  error: string;
}

export interface JobStatistics {
  found_files: number;
  files_done: number;
  files_failed: number;
  files_skipped: number;
  /** Versions found loaded by an earlier job (duplicate events): nothing loaded. */
  files_already_loaded?: number;
  row_count: number;
  quarantined_rows: number;
  bytes: number;
}

/** What the `jobStatus` query answers, and the job workflow returns. */
export interface JobReport {
  id: string;
  kind: JobKind;
  status: JobStatus;
  datasource: string;
  created_at: string;
  updated_at: string;
  statistics: JobStatistics;
  errors: FileError[];
  /** Sync: the cursor the data source continues from. */
  cursor: SyncCursor;
  /** Rate-limit tokens held, and whether the job waits for more. */
  tokens: { held: number; waiting: boolean };
  /** Signals the job ignored because their payload did not fit; absent when there was none. */
  rejectedSignals?: RejectedSignals;
  /** While it runs: its activities being retried, each with the last error (set by the client, never by the workflow). */
  retrying?: string[];
  /**
   * What the job could not guard, e.g. "upload race unguarded: ..."; [] when
   * its listing saw everything it needs. Absent: no listing ran (or a job
   * from before {@link UPLOAD_GUARD_PATCH}).
   */
  warnings?: string[];
}

/**
 * Patch (job and data source workflows): an unseen upload list holds the
 * watermark and becomes a warning in the job report, the data source's
 * state and its memo.
 */
export const UPLOAD_GUARD_PATCH = 'upload-guard-warnings';

/** What a job tells its data source while it runs. */
export interface JobProgress {
  jobId: string;
  tokens: { held: number; waiting: boolean };
}

export const syncNowSignal = defineSignal<[SyncRequest]>('syncNow');
export const objectsCreatedSignal = defineSignal<[ObjectVersion[]]>('objectsCreated');
/** A new definition deployed in place (only `@once` or `@on-demand` → `@auto` is allowed, R2.3). */
export const redeploySignal = defineSignal<[DataSourceDef]>('redeploy');
export const settingsSignal = defineSignal<[DataSourceSettings]>('settings');
export const jobProgressSignal = defineSignal<[JobProgress]>('jobProgress');
export const pauseSignal = defineSignal<[]>('pause');
export const resumeSignal = defineSignal<[]>('resume');
export const stateQuery = defineQuery<DataSourceState>('state');
export const jobStatusQuery = defineQuery<JobReport>('jobStatus');

/** The workspace rate limit (R5.5): at most `filesPerPeriod` files start per period; 0 = unlimited. */
export interface LimiterConfig {
  filesPerPeriod: number;
  periodSeconds: number;
}

export interface TokenRequest {
  /** Workflow id of the job asking; the grant is signalled back to it. */
  requester: string;
  requestId: string;
  count: number;
}

export interface TokenGrant {
  requestId: string;
  count: number;
}

export interface LimiterState {
  config: LimiterConfig;
  available: number;
  inUse: number;
  waiting: { requester: string; count: number }[];
  /** Tokens granted since the limiter started. */
  granted: number;
  /** The latest grants (at most 200), oldest first: when, to whom, how many. */
  recentGrants: { at: string; requester: string; count: number }[];
  /** Signals the limiter ignored because their payload did not fit; absent when there was none. */
  rejectedSignals?: RejectedSignals;
}

export const tokenRequestSignal = defineSignal<[TokenRequest]>('tokenRequest');
export const tokenGrantSignal = defineSignal<[TokenGrant]>('tokenGrant');
export const configureLimiterSignal = defineSignal<[LimiterConfig]>('configureLimiter');
export const limiterStateQuery = defineQuery<LimiterState>('limiterState');

/** Stable id of a workspace's limiter workflow. */
export function limiterWorkflowId(workspace: string): string {
  return `limiter/${workspace}`;
}

export const SA_DATA_SOURCE = defineSearchAttributeKey('S3cDataSource', SearchAttributeType.KEYWORD);
export const SA_BUCKET = defineSearchAttributeKey('S3cBucket', SearchAttributeType.KEYWORD);
export const SA_SCHEDULE = defineSearchAttributeKey('S3cSchedule', SearchAttributeType.KEYWORD);
export const SA_JOB_KIND = defineSearchAttributeKey('S3cJobKind', SearchAttributeType.KEYWORD);

/** Stable id of a data source's workflow (DESIGN "Observability"). */
export function dataSourceWorkflowId(workspace: string, name: string): string {
  return `datasource/${workspace}/${name}`;
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

/** Human size for summaries: `12.4 MB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
