/**
 * Jobs: one sync run or one sample import. Their input, their report (the
 * `jobStatus` query answer and the job workflow's result) and how a report
 * starts.
 *
 * Deterministic and I/O-free: imported by workflow code.
 */
import type { DataSourceDef } from '../datafiles/types';
import type { RejectedSignals, SyncCursor } from './dataSources';
import type { ObjectVersion } from './objects';

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
  /** File errors counted in files_failed but not listed in `errors` (a report keeps the first ones). */
  errors_omitted?: number;
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
   * its listing saw everything it needs. Absent: no sync listing ran to its end.
   */
  warnings?: string[];
}

/** What a job tells its data source while it runs. */
export interface JobProgress {
  jobId: string;
  tokens: { held: number; waiting: boolean };
}

/** A page of a job's file errors, all of them (its report keeps the first ones). */
export interface JobErrorsPage {
  /** File errors of this run of the job. */
  total: number;
  offset: number;
  errors: FileError[];
}

/** What a report starts from: who it is, when it started, and whatever is known already. */
export type NewJobReport = Pick<JobReport, 'id' | 'kind' | 'status' | 'datasource' | 'created_at'> &
  Partial<Pick<JobReport, 'updated_at' | 'errors' | 'cursor'>>;

/**
 * A job report with nothing counted yet: zero statistics, no tokens; no
 * errors and an empty cursor unless given; `updated_at` = `created_at`
 * unless given.
 *
 * @example newJobReport({ id: 'job-1', kind: 'sync', status: 'waiting', datasource: 'events', created_at: now })
 */
export function newJobReport(fields: NewJobReport): JobReport {
  return {
    id: fields.id,
    kind: fields.kind,
    status: fields.status,
    datasource: fields.datasource,
    created_at: fields.created_at,
    updated_at: fields.updated_at ?? fields.created_at,
    statistics: {
      found_files: 0,
      files_done: 0,
      files_failed: 0,
      files_skipped: 0,
      row_count: 0,
      quarantined_rows: 0,
      bytes: 0,
    },
    errors: fields.errors ?? [],
    cursor: fields.cursor ?? { failed: {} },
    tokens: { held: 0, waiting: false },
  };
}
