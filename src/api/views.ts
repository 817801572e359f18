/** Jobs and data source states as the API shows them. */
import type { Client } from '@temporalio/client';
import type { Context } from 'hono';
import { jobReport, NotFoundError } from '../client/dataSources';
import { newJobReport, type DataSourceState, type JobReport } from '../contract';

/** The origin the request came to, the base of the URLs an answer holds. */
export const baseUrl = (c: Context): string => new URL(c.req.url).origin;

/** A job as the API shows it (the cursor is internal). */
export function jobView(report: JobReport, base: string): Record<string, unknown> {
  return {
    id: report.id,
    job_id: report.id,
    kind: report.kind,
    status: report.status,
    created_at: report.created_at,
    updated_at: report.updated_at,
    datasource: report.datasource,
    statistics: report.statistics,
    errors: report.errors,
    job_url: `${base}/v0/jobs/${encodeURIComponent(report.id)}`,
  };
}

/** The scheduling state of a data source as the API shows it. */
export function stateView(state: DataSourceState, secretKeywords: readonly string[] = []): Record<string, unknown> {
  return {
    datasource: state.dataSource,
    state: state.paused ? 'paused' : 'running',
    status: state.status,
    schedule: state.schedule,
    bucket_uri: secretKeywords.includes('IMPORT_BUCKET_URI') ? '****' : state.bucketUri,
    pending_syncs: state.pendingSyncs,
    queued_objects: state.queuedObjects,
    initial_sync_done: state.initialSyncDone,
    current_job_id: state.currentJobId ?? null,
    last_job_id: state.lastJobId ?? null,
    last_sync_at: state.lastSyncAt ?? null,
    last_error: state.lastError ?? null,
    retrying: state.retrying ?? null,
    counters: state.counters,
    rejected_signals: state.rejectedSignals ?? null,
  };
}

/**
 * A job's report; a job that has not yet run its first workflow task (no
 * worker has picked it up) is reported as `waiting`.
 */
export async function reportOrWaiting(
  client: Client,
  jobId: string,
  fallback: { kind: JobReport['kind']; datasource: string; created_at: string },
): Promise<JobReport> {
  try {
    return await withTimeout(jobReport(client, jobId), 5000);
  } catch (err) {
    if (err instanceof NotFoundError) throw err;
    return newJobReport({
      id: jobId,
      kind: fallback.kind,
      status: 'waiting',
      datasource: fallback.datasource,
      created_at: fallback.created_at,
    });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
