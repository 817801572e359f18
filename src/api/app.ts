/**
 * The HTTP API (SPEC R6, R7.2, R9.2), on hono. Every route needs the bearer
 * token (`Authorization: Bearer <token>` or `?token=<token>`); bodies and
 * query parameters are validated with zod; every error is JSON
 * `{ "error": "<message>" }` with a fitting status code. No response ever
 * holds the token or a secret. The routes live in `routes/`, one sub-app per
 * resource; authentication, the body limit and the error mapping are here.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiDeps } from './deps';
import { errorAnswer } from './errors';
import { connectionRoutes } from './routes/connections';
import { datasourceRoutes } from './routes/datasources';
import { eventRoutes } from './routes/events';
import { integrationRoutes } from './routes/integrations';
import { jobRoutes } from './routes/jobs';
import { tokenMatches } from './token';

export { ApiError } from './errors';
export type { ApiDeps } from './deps';

/** Largest request body; a larger event batch is split by its sender (event batches are signalled in parts). */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** The token presented by a request: bearer header first, else `?token=`. */
function presentedToken(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    return match?.[1]?.trim();
  }
  return c.req.query('token');
}

/** The answer to an error a route threw, from the status table (errors.ts); the server's own faults are logged. */
function errorResponse(err: Error, c: Context): Response {
  const { status, error, logged } = errorAnswer(err);
  if (logged) console.error(`s3c api: ${c.req.method} ${new URL(c.req.url).pathname}: ${err.message}`);
  return c.json({ error }, status);
}

/**
 * Builds the API. Pure wiring: nothing listens until the app is served
 * (see `startApi`), and tests may call `app.request(...)` directly.
 */
export function createApi(deps: ApiDeps): Hono {
  const app = new Hono();
  app.onError(errorResponse);
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));

  // Authentication first, for every route (including unknown ones).
  app.use('*', async (c, next) => {
    if (!tokenMatches(presentedToken(c), deps.token)) {
      return c.json(
        { error: 'unauthorized: pass the API token as "Authorization: Bearer <token>" or ?token=<token>' },
        401,
      );
    }
    await next();
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json(
          { error: `request body over the limit of 5 MB (${MAX_BODY_BYTES} bytes)`, limit_bytes: MAX_BODY_BYTES },
          413,
        ),
    }),
  );

  app.route('/v0/datasources', datasourceRoutes(deps));
  app.route('/v0/jobs', jobRoutes(deps));
  app.route('/v0/integrations', integrationRoutes(deps));
  app.route('/v0/connections', connectionRoutes(deps));
  app.route('/v0/events', eventRoutes(deps));
  return app;
}
