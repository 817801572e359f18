/** `/v0/datasources`: the deployed data sources, sample imports, syncs and pausing (R6). */
import { Hono } from 'hono';
import { z } from 'zod';
import {
  dataSourceState,
  listedState,
  requestSyncUnlessPaused,
  setPaused,
  startSampleJob,
} from '../../client/dataSources';
import { limiterConfig } from '../../config';
import { readDeployment, type Deployment } from '../../deploy/store';
import { sampleTableName } from '../../datafiles/reserved';
import { scheduleText, type DataSourceState } from '../../contract';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';
import { DATA_SOURCE_NAME, jsonBody, validate } from '../validation';
import { baseUrl, jobView, reportOrWaiting, stateView } from '../views';

const SampleBody = z.object({ max_files: z.number().int().min(1).max(10).default(1) }).strict();
const StateBody = z.object({ state: z.enum(['paused', 'running']) }).strict();

export function datasourceRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  const ws = deps.workspace.workspace;
  const deployed = (name: string) => deployedDataSource(deps, name);
  const runningState = (name: string) => runningDataSourceState(deps, name);

  app.get('/', async (c) => {
    const deployment = readDeployment(deps.projectDir, ws, deps.workspace.environment);
    const names = Object.keys(deployment.dataSources).sort();
    return c.json({ datasources: await Promise.all(names.map((name) => listedDataSource(deps, deployment, name))) });
  });

  app.post('/:name/sample', async (c) => {
    const name = c.req.param('name');
    const body = validate(SampleBody, await jsonBody(c), 'body');
    deployed(name);
    const jobId = await startSampleJob(deps.client, {
      projectDir: deps.projectDir,
      environment: deps.workspace.environment,
      workspace: ws,
      dataSource: name,
      maxFiles: body.max_files,
      controlTaskQueue: deps.temporal.taskQueues.control,
      ingestTaskQueue: deps.temporal.taskQueues.ingest,
      limiter: limiterConfig(deps.workspace),
    });
    const now = new Date().toISOString();
    const job = await reportOrWaiting(deps.client, jobId, { kind: 'sample', datasource: name, created_at: now });
    const view = jobView(job, baseUrl(c));
    // Samples load into a table of their own, never the production table (named so the caller can query it).
    return c.json({ job_id: jobId, job_url: view.job_url, table: sampleTableName(name), job: view }, 202);
  });

  app.post('/:name/scheduling/runs', async (c) => {
    const name = c.req.param('name');
    const { secretKeywords } = deployed(name);
    const requestId = c.req.header('idempotency-key')?.trim() || undefined;
    if (requestId !== undefined && requestId.length > 200)
      throw new ApiError(400, 'Idempotency-Key: expected at most 200 characters');
    const state = await requestSyncUnlessPaused(deps.client, ws, name, {
      origin: 'api',
      ...(requestId ? { requestId } : {}),
    });
    return c.json(
      { datasource: name, sync: 'requested', request_id: requestId ?? null, state: stateView(state, secretKeywords) },
      202,
    );
  });

  app.get('/:name/scheduling/state', async (c) => {
    const name = c.req.param('name');
    const { secretKeywords } = deployed(name);
    return c.json(stateView(await runningState(name), secretKeywords));
  });

  app.put('/:name/scheduling/state', async (c) => {
    const name = c.req.param('name');
    const body = validate(StateBody, await jsonBody(c), 'body');
    const { secretKeywords } = deployed(name);
    await runningState(name);
    const paused = body.state === 'paused';
    await setPaused(deps.client, ws, name, paused);
    return c.json(stateView(await stateOncePaused(deps, name, paused), secretKeywords));
  });

  return app;
}

/** The deployed data source `name`, or a 400/404. */
function deployedDataSource(deps: ApiDeps, name: string) {
  if (!DATA_SOURCE_NAME.test(name))
    throw new ApiError(400, `invalid data source name '${name}': expected ^[a-zA-Z_][a-zA-Z0-9_]*$`);
  const found = readDeployment(deps.projectDir, deps.workspace.workspace, deps.workspace.environment).dataSources[name];
  if (!found) throw new ApiError(404, `data source ${name} is not deployed`);
  return { def: found.def, secretKeywords: found.secretKeywords ?? [] };
}

async function runningDataSourceState(deps: ApiDeps, name: string): Promise<DataSourceState> {
  const state = await dataSourceState(deps.client, deps.workspace.workspace, name, { withRetrying: true });
  if (!state)
    throw new ApiError(404, `data source ${name} is deployed but its workflow is not running; run \`s3c deploy\``);
  return state;
}

/**
 * The state after a pause or resume: the signal is applied by the workflow's
 * next task, so wait briefly for the answer to show the new state.
 */
async function stateOncePaused(deps: ApiDeps, name: string, paused: boolean): Promise<DataSourceState> {
  const deadline = Date.now() + 5000;
  let state = await runningDataSourceState(deps, name);
  while (state.paused !== paused && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    state = await runningDataSourceState(deps, name);
  }
  return state;
}

/** One deployed data source as `GET /v0/datasources` lists it: secret settings masked. */
async function listedDataSource(deps: ApiDeps, deployment: Deployment, name: string): Promise<Record<string, unknown>> {
  const entry = deployment.dataSources[name]!;
  const def = entry.def;
  const secret = new Set(entry.secretKeywords ?? []);
  const shown = (keyword: string, value: string | undefined): string | null =>
    value === undefined ? null : secret.has(keyword) ? '****' : value;
  // One data source that does not answer is marked; the others are still listed.
  const { state, error } = await listedState(deps.client, deps.workspace.workspace, name, { withRetrying: true });
  return {
    name,
    description: shown('DESCRIPTION', def.description),
    connection: shown('IMPORT_CONNECTION_NAME', def.import?.connectionName),
    bucket_uri: shown('IMPORT_BUCKET_URI', def.import?.bucketUri),
    schedule: shown('IMPORT_SCHEDULE', scheduleText(def)),
    format: shown('IMPORT_FORMAT', def.import?.format),
    deployed_at: entry.deployedAt,
    state: state ? (state.paused ? 'paused' : 'running') : error !== undefined ? 'not answering' : 'not running',
    ...(error !== undefined ? { state_error: error } : {}),
    status: state?.status ?? null,
    counters: state?.counters ?? null,
    last_sync_at: state?.lastSyncAt ?? null,
    last_error: state?.lastError ?? null,
    retrying: state?.retrying ?? null,
    rejected_signals: state?.rejectedSignals ?? null,
  };
}
