/**
 * Client calls on deployed data sources and jobs: state, sync now, pause,
 * resume, job reports. Shared by the CLI and the HTTP API.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { payloadDefinition, readDeployment } from '../deploy/store';
import { sampleTableName } from '../datafiles/reserved';
import { TerminalError } from '../util/errors';
import { transientTemporalFailure } from './grpcStatus';
import {
  configureLimiterSignal,
  dataSourceWorkflowId,
  jobErrorsQuery,
  jobStatusQuery,
  limiterWorkflowId,
  pauseSignal,
  resumeSignal,
  stateQuery,
  syncNowSignal,
  SA_DATA_SOURCE,
  newJobReport,
  SA_JOB_KIND,
  type DataSourceState,
  type JobErrorsPage,
  type JobInput,
  type LimiterConfig,
  type JobReport,
  type SyncRequest,
} from '../contract';

export class NotFoundError extends TerminalError {
  readonly type = 'NotFound';
}

/** A sync asked of a paused data source: refused, by the API (409) and the CLI alike. */
export class PausedError extends TerminalError {
  readonly type = 'Paused';
  constructor(readonly dataSource: string) {
    super(
      `data source ${dataSource} is paused: resume it (PUT scheduling/state {"state":"running"} or \`s3c datasource resume ${dataSource}\`) before a sync`,
    );
  }
}

/** The workflow type of jobs: any other workflow id is not a job. */
const JOB_WORKFLOW_TYPE = 'jobWorkflow';

/** The deployed data source names of a project (in the default or a named environment). */
export function deployedDataSources(projectDir: string, workspace: string, environment?: string): string[] {
  return Object.keys(readDeployment(projectDir, workspace, environment).dataSources).sort();
}

function handleFor(client: Client, workspace: string, name: string) {
  return client.workflow.getHandle(dataSourceWorkflowId(workspace, name));
}

/**
 * The `state` query of a data source's workflow; undefined when it does not
 * run. `withRetrying`: also what its running job is retrying (see retryingActivities).
 */
export async function dataSourceState(
  client: Client,
  workspace: string,
  name: string,
  options: { withRetrying?: boolean } = {},
): Promise<DataSourceState | undefined> {
  let state: DataSourceState;
  try {
    state = await handleFor(client, workspace, name).query(stateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  if (options.withRetrying && state.currentJobId) {
    const retrying = await retryingActivities(client, state.currentJobId);
    if (retrying.length > 0) state.retrying = retrying.map(retryingText).join('; ');
  }
  return state;
}

/** An activity that failed and is being retried: what the Web UI shows as its pending activity's last failure. */
export interface RetryingActivity {
  activity: string;
  /** The attempt under way (2 or more). */
  attempt: number;
  /** 0: unlimited. */
  maximumAttempts: number;
  /** The last attempt's error. */
  error: string;
}

/**
 * The activities of a running workflow that failed at least once and are
 * being retried, from the server's description of it (a workflow cannot see
 * the attempts of its own activities). Empty when the workflow is gone.
 */
export async function retryingActivities(client: Client, workflowId: string): Promise<RetryingActivity[]> {
  let pending;
  try {
    pending = (await client.workflow.getHandle(workflowId).describe()).raw.pendingActivities ?? [];
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return [];
    throw err;
  }
  return pending
    .filter((a) => a.lastFailure?.message)
    .map((a) => ({
      activity: a.activityType?.name ?? 'activity',
      attempt: a.attempt ?? 0,
      maximumAttempts: a.maximumAttempts ?? 0,
      error: a.lastFailure!.message!,
    }));
}

/** One line for a retrying activity: `retrying ingestFile (attempt 3 of 30): <error>`. */
export function retryingText(r: RetryingActivity): string {
  return `retrying ${r.activity} (attempt ${r.attempt} of ${r.maximumAttempts > 0 ? r.maximumAttempts : 'unlimited'}): ${r.error}`;
}

/** What listing one data source found: its state, none (its workflow does not run), or why it did not answer. */
export type ListedState =
  { state: DataSourceState | undefined; error?: undefined } | { state?: undefined; error: string };

/**
 * The state of a data source for a listing: a data source whose workflow
 * does not answer its query (a failing workflow task, another workflow
 * under its id, a server error) gives the first line of the reason instead
 * of failing the whole listing.
 */
export async function listedState(
  client: Client,
  workspace: string,
  name: string,
  options: { withRetrying?: boolean } = {},
): Promise<ListedState> {
  try {
    return { state: await dataSourceState(client, workspace, name, options) };
  } catch (err) {
    const line = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    return { error: line.length > 300 ? `${line.slice(0, 299)}…` : line || 'no answer' };
  }
}

/** One line about the signals a data source ignored, for listings; undefined when there was none. */
export function rejectedSignalsLine(state: DataSourceState | undefined): string | undefined {
  const r = state?.rejectedSignals;
  if (!r || r.count === 0) return undefined;
  const last = r.last[r.last.length - 1];
  return `${r.count} malformed signal(s) ignored${last ? `; last: ${last.signal} at ${last.at}: ${last.reason}` : ''}`;
}

/**
 * Asks a running, unpaused data source for a sync and returns the state it
 * had; a paused one refuses with {@link PausedError} (one rule for the API
 * and the CLI: a sync queued while paused would run on resume, unasked).
 */
export async function requestSyncUnlessPaused(
  client: Client,
  workspace: string,
  name: string,
  request: SyncRequest,
): Promise<DataSourceState> {
  const state = await dataSourceState(client, workspace, name, { withRetrying: true });
  if (!state)
    throw new NotFoundError(`data source ${name} is deployed but its workflow is not running; run \`s3c deploy\``);
  if (state.paused) throw new PausedError(name);
  await requestSync(client, workspace, name, request);
  return state;
}

/** Asks for a sync run ("sync now", R5.2). */
export async function requestSync(
  client: Client,
  workspace: string,
  name: string,
  request: SyncRequest,
): Promise<void> {
  try {
    await handleFor(client, workspace, name).signal(syncNowSignal, request);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new NotFoundError(`data source ${name} is not deployed (no running workflow)`);
    throw err;
  }
}

/** Pauses or resumes a data source (R6.4). */
export async function setPaused(client: Client, workspace: string, name: string, paused: boolean): Promise<void> {
  try {
    await handleFor(client, workspace, name).signal(paused ? pauseSignal : resumeSignal);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new NotFoundError(`data source ${name} is not deployed (no running workflow)`);
    throw err;
  }
}

/**
 * Polls a data source's state until `predicate` holds, and returns that
 * state. Throws after `timeoutMs` with the last state seen.
 */
export async function waitForState(
  client: Client,
  workspace: string,
  name: string,
  predicate: (state: DataSourceState) => boolean,
  options: {
    timeoutMs?: number;
    intervalMs?: number;
    onProgress?: (state: DataSourceState) => void | Promise<void>;
  } = {},
): Promise<DataSourceState> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last: DataSourceState | undefined;
  let lastFailure = '';
  for (;;) {
    try {
      last = await dataSourceState(client, workspace, name);
      lastFailure = '';
    } catch (err) {
      // A busy or restarting worker answers a query late: that is no answer
      // yet, not the end of the wait. Anything else ends it.
      if (!transientTemporalFailure(err)) throw err;
      lastFailure = `; last query failed: ${(err as Error).message}`;
    }
    if (last && !lastFailure) {
      await options.onProgress?.(last);
      if (predicate(last)) return last;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `data source ${name}: the expected state was not reached in time; last: ${JSON.stringify(last)}${lastFailure}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
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
  options: { timeoutMs?: number; onProgress?: (state: DataSourceState) => void | Promise<void> } = {},
): Promise<DataSourceState> {
  const syncsBefore = before?.counters.syncs ?? 0;
  return waitForState(
    client,
    workspace,
    name,
    (state) => state.counters.syncs > syncsBefore && state.status !== 'syncing' && state.pendingSyncs === 0,
    { timeoutMs: options.timeoutMs ?? 30 * 60_000, onProgress: options.onProgress },
  );
}

/**
 * The handle and description of job `jobId`; NotFoundError when no workflow
 * has that id or it is not a job (a data source's or the limiter's id must
 * not be queried, let alone cancelled, as a job).
 */
async function describeJob(client: Client, jobId: string) {
  const handle = client.workflow.getHandle(jobId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new NotFoundError(`job ${jobId} not found`);
    throw err;
  }
  if (description.type !== JOB_WORKFLOW_TYPE)
    throw new NotFoundError(`job ${jobId} not found (that workflow is not a job)`);
  return { handle, description };
}

/** A job's report: live from its query, or its result once it has ended. */
export async function jobReport(client: Client, jobId: string): Promise<JobReport> {
  const { handle, description } = await describeJob(client, jobId);
  if (description.status.name === 'COMPLETED') return (await handle.result()) as JobReport;
  if (description.status.name === 'RUNNING') {
    const report = await handle.query(jobStatusQuery);
    const retrying = await retryingActivities(client, jobId);
    return retrying.length > 0 ? { ...report, retrying: retrying.map(retryingText) } : report;
  }
  // Failed, cancelled or terminated before it could report.
  const status = description.status.name === 'CANCELLED' ? 'cancelled' : 'error';
  return newJobReport({
    id: jobId,
    kind: 'sync',
    status,
    datasource: '',
    created_at: description.startTime.toISOString(),
    updated_at: (description.closeTime ?? description.startTime).toISOString(),
    errors: [{ key: '', etag: '', error: `job workflow ${description.status.name.toLowerCase()}` }],
  });
}

/** A page of every file error of a job (its report keeps the first ones and counts the rest). */
export async function jobErrors(client: Client, jobId: string, offset: number, limit: number): Promise<JobErrorsPage> {
  const { handle } = await describeJob(client, jobId);
  return handle.query(jobErrorsQuery, offset, limit);
}

/** Jobs read from the list of a data source's jobs when looking for its latest one. */
const RECENT_JOBS = 20;

/**
 * The id of a data source's latest job, sync or sample, by start time;
 * undefined when it has none. Jobs come from the visibility store (both
 * kinds carry the data source as a search attribute), and the data source's
 * own current and last sync jobs are added since visibility may lag a just
 * started job.
 */
export async function latestJobId(client: Client, workspace: string, name: string): Promise<string | undefined> {
  // Data source names are letters, digits and _: nothing to escape in the query.
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new NotFoundError(`${JSON.stringify(name)} is not a data source name`);
  const started = new Map<string, number>();
  const query = `WorkflowType = 'jobWorkflow' AND ${SA_DATA_SOURCE.name} = '${name}'`;
  for await (const info of client.workflow.list({ query, pageSize: RECENT_JOBS })) {
    started.set(info.workflowId, info.startTime.getTime());
    if (started.size >= RECENT_JOBS) break;
  }
  const state = await dataSourceState(client, workspace, name);
  for (const id of [state?.currentJobId, state?.lastJobId]) {
    if (id === undefined || started.has(id)) continue;
    const description = await client.workflow
      .getHandle(id)
      .describe()
      .catch(() => undefined);
    if (description) started.set(id, description.startTime.getTime());
  }
  return [...started].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/**
 * Starts a sample import job (R6.1): up to `maxFiles` matching files, loaded
 * into the data source's sample table (`<name>__sample`, emptied first),
 * never its production table, without touching its sync point or ledger.
 * Returns the job id.
 */
export async function startSampleJob(
  client: Client,
  options: {
    projectDir: string;
    /** The named environment whose deployment to read; absent for the default one. */
    environment?: string;
    workspace: string;
    dataSource: string;
    maxFiles: number;
    controlTaskQueue: string;
    ingestTaskQueue: string;
    limiter: LimiterConfig;
  },
): Promise<string> {
  if (!Number.isInteger(options.maxFiles) || options.maxFiles < 1 || options.maxFiles > 10) {
    throw new RangeError(`max_files must be an integer from 1 to 10, found ${String(options.maxFiles)}`);
  }
  const deployed = readDeployment(options.projectDir, options.workspace, options.environment).dataSources[
    options.dataSource
  ];
  if (!deployed?.def.import)
    throw new NotFoundError(`data source ${options.dataSource} is not deployed with an S3 import`);
  const jobId = `${options.dataSource}-sample-${randomUUID()}`;
  await ensureLimiter(client, options.limiter, options.controlTaskQueue, options.workspace);
  await client.workflow.start('jobWorkflow', {
    workflowId: jobId,
    taskQueue: options.controlTaskQueue,
    args: [
      {
        kind: 'sample',
        workspace: options.workspace,
        // A bucket URI from a secret travels as its reference (see payloadDefinition).
        dataSource: payloadDefinition(deployed),
        ingestTaskQueue: options.ingestTaskQueue,
        cursor: { failed: {} },
        maxFiles: options.maxFiles,
        list: true,
        origin: 'sample',
        rateLimited: options.limiter.filesPerPeriod > 0,
      } satisfies JobInput,
    ],
    typedSearchAttributes: [
      { key: SA_DATA_SOURCE, value: options.dataSource },
      { key: SA_JOB_KIND, value: 'sample' },
    ],
    staticSummary: `sample of ${payloadDefinition(deployed).import!.bucketUri} (max ${options.maxFiles} files) into ${sampleTableName(options.dataSource)}`,
  });
  return jobId;
}

/** Asks a job to stop; its report then says `cancelled`. */
export async function cancelJob(client: Client, jobId: string): Promise<void> {
  const { handle } = await describeJob(client, jobId);
  try {
    await handle.cancel();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new NotFoundError(`job ${jobId} not found`);
    throw err;
  }
}

/**
 * Starts the workspace's limiter workflow if it does not run, and gives it the
 * current limit (R5.5). Idempotent: deploy and sample imports call it.
 */
export async function ensureLimiter(
  client: Client,
  config: LimiterConfig,
  controlTaskQueue: string,
  workspace: string,
): Promise<void> {
  await client.workflow.signalWithStart('workspaceLimiterWorkflow', {
    workflowId: limiterWorkflowId(workspace),
    taskQueue: controlTaskQueue,
    args: [{ config }],
    signal: configureLimiterSignal,
    signalArgs: [config],
    staticSummary: `files-per-period limit of workspace ${workspace}`,
  });
}
