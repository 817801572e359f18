/**
 * The HTTP API (SPEC R6, R7.2, R9.2), on hono. Every route needs the bearer
 * token (`Authorization: Bearer <token>` or `?token=<token>`); bodies and
 * query parameters are validated with zod; every error is JSON
 * `{ "error": "<message>" }` with a fitting status code. No response ever
 * holds the token or a secret.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { deriveExternalId } from '../aws/externalId';
import { accessPolicy, trustPolicy } from '../aws/policies';
import {
  cancelJob,
  dataSourceState,
  jobErrors,
  jobReport,
  listedState,
  NotFoundError,
  PausedError,
  requestSyncUnlessPaused,
  setPaused,
  startSampleJob,
} from '../client/dataSources';
import { limiterConfig, type TemporalConfig, type WorkspaceConfig } from '../config';
import { readDeployment, type DeployedConnection } from '../deploy/store';
import { sampleTableName } from '../datafiles/reserved';
import { EventShapeError, handleS3Events, SequencerMemory } from '../events';
import { scheduleText, type DataSourceState, type JobReport } from '../contract';
import { tokenMatches } from './token';

/** What the API needs. */
export interface ApiDeps {
  /** Temporal client of the namespace the data sources run in. */
  client: Client;
  /** The project folder: where `.s3c/deployment.json` is. */
  projectDir: string;
  workspace: WorkspaceConfig;
  temporal: TemporalConfig;
  /** The bearer token every call must present. */
  token: string;
  /** The workspace secret the external ids derive from (R7.2). */
  workspaceSecret: string;
  /** AWS account id of the production workers, for the trust policy. */
  cloudAccountId?: string;
}

/** An error with its HTTP status; its message is what the client reads. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 503,
    message: string,
  ) {
    super(message);
  }
}

const DATA_SOURCE_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Largest request body; a larger event batch is split by its sender (event batches are signalled in parts). */
const MAX_BODY_BYTES = 5 * 1024 * 1024;
/** Jobs listed at most by `GET /v0/jobs`. */
const MAX_JOBS_LISTED = 100;

const SampleBody = z
  .object({ max_files: z.number().int().min(1).max(10).default(1) })
  .strict();
const StateBody = z.object({ state: z.enum(['paused', 'running']) }).strict();
const JobsQuery = z
  .object({
    status: z.enum(['waiting', 'working', 'done', 'error', 'cancelled']).optional(),
    kind: z.enum(['sync', 'sample']).optional(),
    datasource: z.string().regex(DATA_SOURCE_NAME, 'expected a data source name').optional(),
    limit: z.coerce.number().int().min(1).max(MAX_JOBS_LISTED).optional(),
    token: z.string().optional(),
  })
  .strict();
const ErrorsQuery = z
  .object({
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(100).default(100),
    token: z.string().optional(),
  })
  .strict();
const TrustQuery = z.object({
  external_id_seed: z
    .string({ error: 'external_id_seed is required: the connection name' })
    .regex(/^[\w.-]{1,128}$/, 'expected a connection name (letters, digits, _ . -; at most 128)'),
});

/** Turns zod issues into one message naming each path. */
function zodMessage(error: z.ZodError, where: string): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : where;
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

function validate<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ApiError(400, `invalid ${where}: ${zodMessage(result.error, where)}`);
  return result.data;
}

/** Reads a JSON body; an empty body is `{}`. */
async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'the request body is not valid JSON');
  }
}

/** The token presented by a request: bearer header first, else `?token=`. */
function presentedToken(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    return match?.[1]?.trim();
  }
  return c.req.query('token');
}

/** A job as the API shows it (the cursor is internal). */
function jobView(report: JobReport, base: string): Record<string, unknown> {
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
function stateView(state: DataSourceState, secretKeywords: readonly string[] = []): Record<string, unknown> {
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

/** How a deployed connection authenticates, read from its text (never its values). */
function authKind(conn: DeployedConnection): 'iam_role' | 'static_keys' | 'default_credentials' {
  if (conn.roleAccountId !== undefined || /^\s*S3_ARN\b/m.test(conn.text)) return 'iam_role';
  if (/^\s*S3_ACCESS_KEY\b/m.test(conn.text)) return 'static_keys';
  return 'default_credentials';
}

function safeEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}

function escapeQueryValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

/**
 * Builds the API. Pure wiring: nothing listens until the app is served
 * (see `startApi`), and tests may call `app.request(...)` directly.
 */
export function createApi(deps: ApiDeps): Hono {
  const app = new Hono();
  const ws = deps.workspace.workspace;
  const sequencers = new SequencerMemory();
  const base = (c: Context): string => new URL(c.req.url).origin;

  /** The deployed data source `name`, or a 400/404. */
  const deployed = (name: string) => {
    if (!DATA_SOURCE_NAME.test(name)) throw new ApiError(400, `invalid data source name '${name}': expected ^[a-zA-Z_][a-zA-Z0-9_]*$`);
    const found = readDeployment(deps.projectDir, ws, deps.workspace.environment).dataSources[name];
    if (!found) throw new ApiError(404, `data source ${name} is not deployed`);
    return { def: found.def, secretKeywords: found.secretKeywords ?? [] };
  };
  const runningState = async (name: string): Promise<DataSourceState> => {
    const state = await dataSourceState(deps.client, ws, name, { withRetrying: true });
    if (!state) throw new ApiError(404, `data source ${name} is deployed but its workflow is not running; run \`s3c deploy\``);
    return state;
  };

  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json({ error: err.message }, err.status);
    if (err instanceof NotFoundError) return c.json({ error: err.message }, 404);
    if (err instanceof PausedError) return c.json({ error: err.message }, 409);
    if (err instanceof RangeError) return c.json({ error: err.message }, 400);
    if (err instanceof EventShapeError) return c.json({ error: `not an S3 event: ${err.message}` }, 400);
    const message = err instanceof Error ? err.message : String(err);
    console.error(`s3c api: ${c.req.method} ${new URL(c.req.url).pathname}: ${message}`);
    return c.json({ error: `internal error: ${message}` }, 503);
  });
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));

  // Authentication first, for every route (including unknown ones).
  app.use('*', async (c, next) => {
    if (!tokenMatches(presentedToken(c), deps.token)) {
      return c.json({ error: 'unauthorized: pass the API token as "Authorization: Bearer <token>" or ?token=<token>' }, 401);
    }
    await next();
  });
  app.use(
    '*',
    bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: `request body over the limit of 5 MB (${MAX_BODY_BYTES} bytes)`, limit_bytes: MAX_BODY_BYTES }, 413) }),
  );

  // --- Data sources -------------------------------------------------------

  app.get('/v0/datasources', async (c) => {
    const deployment = readDeployment(deps.projectDir, ws, deps.workspace.environment);
    const names = Object.keys(deployment.dataSources).sort();
    const datasources = await Promise.all(
      names.map(async (name) => {
        const entry = deployment.dataSources[name]!;
        const def = entry.def;
        const secret = new Set(entry.secretKeywords ?? []);
        const shown = (keyword: string, value: string | undefined): string | null =>
          value === undefined ? null : secret.has(keyword) ? '****' : value;
        // One data source that does not answer is marked; the others are still listed.
        const { state, error } = await listedState(deps.client, ws, name, { withRetrying: true });
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
      }),
    );
    return c.json({ datasources });
  });

  app.post('/v0/datasources/:name/sample', async (c) => {
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
    const view = jobView(job, base(c));
    // Samples load into a table of their own, never the production table (named so the caller can query it).
    return c.json({ job_id: jobId, job_url: view.job_url, table: sampleTableName(name), job: view }, 202);
  });

  app.post('/v0/datasources/:name/scheduling/runs', async (c) => {
    const name = c.req.param('name');
    const { secretKeywords } = deployed(name);
    const requestId = c.req.header('idempotency-key')?.trim() || undefined;
    if (requestId !== undefined && requestId.length > 200) throw new ApiError(400, 'Idempotency-Key: expected at most 200 characters');
    const state = await requestSyncUnlessPaused(deps.client, ws, name, { origin: 'api', ...(requestId ? { requestId } : {}) });
    return c.json({ datasource: name, sync: 'requested', request_id: requestId ?? null, state: stateView(state, secretKeywords) }, 202);
  });

  app.get('/v0/datasources/:name/scheduling/state', async (c) => {
    const name = c.req.param('name');
    const { secretKeywords } = deployed(name);
    return c.json(stateView(await runningState(name), secretKeywords));
  });

  app.put('/v0/datasources/:name/scheduling/state', async (c) => {
    const name = c.req.param('name');
    const body = validate(StateBody, await jsonBody(c), 'body');
    const { secretKeywords } = deployed(name);
    await runningState(name);
    const paused = body.state === 'paused';
    await setPaused(deps.client, ws, name, paused);
    // The signal is applied by the workflow's next task; wait briefly so that
    // the answer shows the new state.
    const deadline = Date.now() + 5000;
    let state = await runningState(name);
    while (state.paused !== paused && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      state = await runningState(name);
    }
    return c.json(stateView(state, secretKeywords));
  });

  // --- Jobs ---------------------------------------------------------------

  app.get('/v0/jobs', async (c) => {
    const query = validate(JobsQuery, c.req.query(), 'query');
    const clauses = [`WorkflowType = 'jobWorkflow'`];
    if (query.kind) clauses.push(`S3cJobKind = '${query.kind}'`);
    if (query.datasource) clauses.push(`S3cDataSource = '${escapeQueryValue(query.datasource)}'`);
    const limit = query.limit ?? MAX_JOBS_LISTED;
    const infos: WorkflowExecutionInfo[] = [];
    for await (const info of deps.client.workflow.list({ query: clauses.join(' AND '), pageSize: limit })) {
      infos.push(info);
      if (infos.length >= limit) break;
    }
    const reports = await Promise.all(
      infos.map(async (info) => {
        const sa = info.searchAttributes as Record<string, unknown[] | undefined>;
        const kind = sa.S3cJobKind?.[0] === 'sample' ? 'sample' : 'sync';
        const datasource = typeof sa.S3cDataSource?.[0] === 'string' ? sa.S3cDataSource[0] : '';
        try {
          const report = await reportOrWaiting(deps.client, info.workflowId, {
            kind,
            datasource,
            created_at: info.startTime.toISOString(),
          });
          // A job that failed before it could report: name it from its search attributes.
          return { ...report, kind: report.datasource === '' ? kind : report.kind, datasource: report.datasource || datasource };
        } catch (err) {
          if (err instanceof NotFoundError) return undefined;
          throw err;
        }
      }),
    );
    const jobs = reports
      .filter((r): r is JobReport => r !== undefined)
      .filter((r) => (query.status ? r.status === query.status : true))
      .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0))
      .map((r) => jobView(r, base(c)));
    return c.json({ jobs });
  });

  app.get('/v0/jobs/:id', async (c) => {
    const id = c.req.param('id');
    return c.json(jobView(await jobReport(deps.client, id), base(c)));
  });

  // A report keeps the first file errors and counts the rest; every one is here, a page at a time.
  app.get('/v0/jobs/:id/errors', async (c) => {
    const query = validate(ErrorsQuery, c.req.query(), 'query');
    return c.json(await jobErrors(deps.client, c.req.param('id'), query.offset, query.limit));
  });

  app.post('/v0/jobs/:id/cancel', async (c) => {
    const id = c.req.param('id');
    const before = await jobReport(deps.client, id);
    if (before.status === 'done' || before.status === 'error' || before.status === 'cancelled') {
      throw new ApiError(409, `job ${id} has already ended (${before.status}); nothing to cancel`);
    }
    await cancelJob(deps.client, id);
    // Wait briefly for the job to record its cancellation.
    const deadline = Date.now() + 10_000;
    let report = await jobReport(deps.client, id);
    while (report.status !== 'cancelled' && report.status !== 'done' && report.status !== 'error' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      report = await jobReport(deps.client, id);
    }
    return c.json(jobView(report, base(c)));
  });

  // --- AWS policies -------------------------------------------------------

  app.get('/v0/integrations/s3/policies/trust-policy', (c) => {
    const query = validate(TrustQuery, { external_id_seed: c.req.query('external_id_seed') }, 'query');
    if (!deps.cloudAccountId) {
      throw new ApiError(
        400,
        'no AWS account id is configured for the trust policy: set cloudAccountId in s3c.yaml or the environment variable S3C_CLOUD_ACCOUNT_ID',
      );
    }
    const externalId = deriveExternalId(deps.workspaceSecret, ws, query.external_id_seed);
    try {
      return c.json(trustPolicy({ accountIds: [deps.cloudAccountId], externalId }));
    } catch (err) {
      throw new ApiError(400, (err as Error).message);
    }
  });

  app.get('/v0/integrations/s3/policies/access-policy', (c) => {
    const buckets = c.req.queries('bucket') ?? [];
    if (buckets.length === 0) throw new ApiError(400, 'invalid query: bucket: expected at least one ?bucket=<name>');
    const purpose = c.req.query('purpose');
    if (purpose !== undefined && purpose !== 'ingest' && purpose !== 'sink') {
      throw new ApiError(400, `invalid query: purpose: expected ingest or sink, found '${purpose}'`);
    }
    try {
      return c.json(accessPolicy(buckets, { purpose }));
    } catch (err) {
      throw new ApiError(400, (err as Error).message);
    }
  });

  // --- Connections ----------------------------------------------------------

  app.get('/v0/connections', (c) => {
    const deployment = readDeployment(deps.projectDir, ws, deps.workspace.environment);
    const connections = Object.values(deployment.connections)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((conn) => ({
        name: conn.name,
        type: 's3',
        region: conn.region,
        auth: authKind(conn),
        role_account_id: conn.roleAccountId ?? null,
        endpoint: conn.endpoint ? safeEndpoint(conn.endpoint) : null,
      }));
    return c.json({ connections });
  });

  // --- S3 events ------------------------------------------------------------

  app.post('/v0/events/s3', async (c) => {
    const text = await c.req.text();
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      throw new ApiError(400, 'not an S3 event: the request body is not valid JSON');
    }
    const result = await handleS3Events({ client: deps.client, projectDir: deps.projectDir, environment: deps.workspace.environment, workspace: ws, sequencers }, body);
    if (result.subscriptions.length > 0 && result.accepted === 0) {
      for (const s of result.subscriptions) {
        console.warn(`s3c api: SNS subscription confirmation for ${s.topicArn ?? 'a topic'}; confirm it by opening ${s.subscribeUrl ?? 'its SubscribeURL'}`);
      }
      throw new ApiError(
        400,
        'SNS subscription confirmations are not confirmed automatically: the SubscribeURL was written to the API log; open it to confirm, or deliver S3 events through EventBridge',
      );
    }
    return c.json({
      accepted: result.accepted,
      routed: result.routed,
      ignored: result.ignored,
      stale: result.stale,
      unmatched: result.unmatched,
      older_than_from_timestamp: result.olderThanFromTimestamp,
      invalid: result.invalid,
      not_running: result.notRunning,
    });
  });

  return app;
}

/**
 * A job's report; a job that has not yet run its first workflow task (no
 * worker has picked it up) is reported as `waiting`.
 */
async function reportOrWaiting(
  client: Client,
  jobId: string,
  fallback: { kind: JobReport['kind']; datasource: string; created_at: string },
): Promise<JobReport> {
  try {
    return await withTimeout(jobReport(client, jobId), 5000);
  } catch (err) {
    if (err instanceof NotFoundError) throw err;
    return {
      id: jobId,
      kind: fallback.kind,
      status: 'waiting',
      datasource: fallback.datasource,
      created_at: fallback.created_at,
      updated_at: fallback.created_at,
      statistics: { found_files: 0, files_done: 0, files_failed: 0, files_skipped: 0, row_count: 0, quarantined_rows: 0, bytes: 0 },
      errors: [],
      cursor: { failed: {} },
      tokens: { held: 0, waiting: false },
    };
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
