/**
 * Client calls on deployed data sources and jobs: state, sync now, pause,
 * resume, job reports. Shared by the CLI and the HTTP API.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { readDeployment } from '../deploy/store';
import {
  dataSourceWorkflowId,
  jobStatusQuery,
  pauseSignal,
  resumeSignal,
  stateQuery,
  syncNowSignal,
  type DataSourceState,
  type JobReport,
  type SyncRequest,
} from '../workflows/shared';

export class NotFoundError extends Error {
  readonly type = 'NotFound';
}

/** The deployed data source names of a project. */
export function deployedDataSources(projectDir: string, workspace: string): string[] {
  return Object.keys(readDeployment(projectDir, workspace).dataSources).sort();
}

function handleFor(client: Client, workspace: string, name: string) {
  return client.workflow.getHandle(dataSourceWorkflowId(workspace, name));
}

/** The `state` query of a data source's workflow; undefined when it does not run. */
export async function dataSourceState(client: Client, workspace: string, name: string): Promise<DataSourceState | undefined> {
  try {
    return await handleFor(client, workspace, name).query(stateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Asks for a sync run ("sync now", R5.2). */
export async function requestSync(client: Client, workspace: string, name: string, request: SyncRequest): Promise<void> {
  try {
    await handleFor(client, workspace, name).signal(syncNowSignal, request);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new NotFoundError(`data source ${name} is not deployed (no running workflow)`);
    throw err;
  }
}

/** Pauses or resumes a data source (R6.4). */
export async function setPaused(client: Client, workspace: string, name: string, paused: boolean): Promise<void> {
  try {
    await handleFor(client, workspace, name).signal(paused ? pauseSignal : resumeSignal);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new NotFoundError(`data source ${name} is not deployed (no running workflow)`);
    throw err;
  }
}

/**
 * Waits until a sync asked after `before` has finished, and returns the
 * state then. `before` is the state read just before the request.
 */
export async function waitForSync(
  client: Client,
  workspace: string,
  name: string,
  before: DataSourceState | undefined,
  options: { timeoutMs?: number; onProgress?: (state: DataSourceState) => void } = {},
): Promise<DataSourceState> {
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  const syncsBefore = before?.counters.syncs ?? 0;
  for (;;) {
    const state = await dataSourceState(client, workspace, name);
    if (state) {
      options.onProgress?.(state);
      if (state.counters.syncs > syncsBefore && state.status !== 'syncing' && state.pendingSyncs === 0) return state;
    }
    if (Date.now() > deadline) throw new Error(`data source ${name}: the sync did not finish in time`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A job's report: live from its query, or its result once it has ended. */
export async function jobReport(client: Client, jobId: string): Promise<JobReport> {
  const handle = client.workflow.getHandle(jobId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new NotFoundError(`job ${jobId} not found`);
    throw err;
  }
  if (description.status.name === 'COMPLETED') return (await handle.result()) as JobReport;
  if (description.status.name === 'RUNNING') return handle.query(jobStatusQuery);
  // Failed, cancelled or terminated before it could report.
  const status = description.status.name === 'CANCELLED' ? 'cancelled' : 'error';
  return {
    id: jobId,
    kind: 'sync',
    status,
    datasource: '',
    created_at: description.startTime.toISOString(),
    updated_at: (description.closeTime ?? description.startTime).toISOString(),
    statistics: { found_files: 0, files_done: 0, files_failed: 0, files_skipped: 0, row_count: 0, quarantined_rows: 0, bytes: 0 },
    errors: [{ key: '', etag: '', error: `job workflow ${description.status.name.toLowerCase()}` }],
    cursor: { failed: {} },
  };
}
