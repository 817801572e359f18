/** `/v0/sql`: a read-only query, answered by the worker that owns the database (docs/querying.md). */
import { Hono } from 'hono';
import { z } from 'zod';
import { runSqlQuery } from '../../client/sql';
import { sqlCsv, sqlJson, truncationNote } from '../../client/sqlFormat';
import { SQL_DEFAULT_ROW_LIMIT, SQL_MAX_QUERY_CHARS, SQL_MAX_ROW_LIMIT, SQL_MAX_TIMEOUT_MS } from '../../contract/sql';
import type { ApiDeps } from '../deps';
import { validate } from '../validation';

const SqlQuery = z
  .object({
    q: z.string().min(1, 'expected a query').max(SQL_MAX_QUERY_CHARS),
    format: z.enum(['json', 'csv']).default('json'),
    limit: z.coerce.number().int().min(1).max(SQL_MAX_ROW_LIMIT).default(SQL_DEFAULT_ROW_LIMIT),
    /** Seconds the query may run on the worker. */
    timeout: z.coerce
      .number()
      .int()
      .min(1)
      .max(SQL_MAX_TIMEOUT_MS / 1000)
      .optional(),
    token: z.string().optional(),
  })
  .strict();

export function sqlRoutes(deps: ApiDeps): Hono {
  const app = new Hono();

  app.get('/', async (c) => {
    const query = validate(SqlQuery, c.req.query(), 'query');
    const result = await runSqlQuery(deps.client, query.q, {
      temporal: deps.temporal,
      workspace: deps.workspace,
      rowLimit: query.limit,
      ...(query.timeout !== undefined ? { timeoutMs: query.timeout * 1000 } : {}),
    });
    if (query.format === 'json') return c.json(sqlJson(result, query.limit));
    // CSV has no room for it: a cut answer says so in a header.
    const note = truncationNote(result, query.limit);
    if (note) c.header('X-S3c-Truncated', note);
    return c.body(sqlCsv(result), 200, { 'content-type': 'text/csv; charset=utf-8' });
  });

  return app;
}
