/** `/v0/jobs`: sync runs and sample imports, their errors, cancelling (R6). */
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { Hono } from 'hono';
import { z } from 'zod';
import { cancelJob, jobErrors, jobReport, NotFoundError } from '../../client/dataSources';
import type { JobReport } from '../../contract';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';
import { DATA_SOURCE_NAME, validate } from '../validation';
import { baseUrl, jobView, reportOrWaiting } from '../views';

/** Jobs listed at most by `GET /v0/jobs`. */
const MAX_JOBS_LISTED = 100;

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

export function jobRoutes(deps: ApiDeps): Hono {
  const app = new Hono();

  app.get('/', async (c) => {
    const query = validate(JobsQuery, c.req.query(), 'query');
    const jobs = (await listedJobs(deps, query))
      .filter((r) => (query.status ? r.status === query.status : true))
      .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0))
      .map((r) => jobView(r, baseUrl(c)));
    return c.json({ jobs });
  });

  app.get('/:id', async (c) => {
    const id = c.req.param('id');
    return c.json(jobView(await jobReport(deps.client, id), baseUrl(c)));
  });

  // A report keeps the first file errors and counts the rest; every one is here, a page at a time.
  app.get('/:id/errors', async (c) => {
    const query = validate(ErrorsQuery, c.req.query(), 'query');
    return c.json(await jobErrors(deps.client, c.req.param('id'), query.offset, query.limit));
  });

  app.post('/:id/cancel', async (c) => {
    const id = c.req.param('id');
    const before = await jobReport(deps.client, id);
    if (before.status === 'done' || before.status === 'error' || before.status === 'cancelled') {
      throw new ApiError(409, `job ${id} has already ended (${before.status}); nothing to cancel`);
    }
    await cancelJob(deps.client, id);
    // Wait briefly for the job to record its cancellation.
    const deadline = Date.now() + 10_000;
    let report = await jobReport(deps.client, id);
    while (
      report.status !== 'cancelled' &&
      report.status !== 'done' &&
      report.status !== 'error' &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 200));
      report = await jobReport(deps.client, id);
    }
    return c.json(jobView(report, baseUrl(c)));
  });

  return app;
}

function escapeQueryValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

/** The reports of the jobs the query's kind and data source select, at most its limit, found by their search attributes. */
async function listedJobs(deps: ApiDeps, query: z.infer<typeof JobsQuery>): Promise<JobReport[]> {
  const clauses = [`WorkflowType = 'jobWorkflow'`];
  if (query.kind) clauses.push(`S3cJobKind = '${query.kind}'`);
  if (query.datasource) clauses.push(`S3cDataSource = '${escapeQueryValue(query.datasource)}'`);
  const limit = query.limit ?? MAX_JOBS_LISTED;
  const infos: WorkflowExecutionInfo[] = [];
  for await (const info of deps.client.workflow.list({ query: clauses.join(' AND '), pageSize: limit })) {
    infos.push(info);
    if (infos.length >= limit) break;
  }
  const reports = await Promise.all(infos.map((info) => listedJob(deps, info)));
  return reports.filter((r): r is JobReport => r !== undefined);
}

async function listedJob(deps: ApiDeps, info: WorkflowExecutionInfo): Promise<JobReport | undefined> {
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
    return {
      ...report,
      kind: report.datasource === '' ? kind : report.kind,
      datasource: report.datasource || datasource,
    };
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}
