/** `/v0/integrations/s3/policies`: the AWS trust and access policies a connection's role needs (R7.2). */
import { Hono } from 'hono';
import { z } from 'zod';
import { deriveExternalId } from '../../aws/externalId';
import { accessPolicy, trustPolicy } from '../../aws/policies';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';
import { validate } from '../validation';

const TrustQuery = z.object({
  external_id_seed: z
    .string({ error: 'external_id_seed is required: the connection name' })
    .regex(/^[\w.-]{1,128}$/, 'expected a connection name (letters, digits, _ . -; at most 128)'),
});

export function integrationRoutes(deps: ApiDeps): Hono {
  const app = new Hono();

  app.get('/s3/policies/trust-policy', (c) => {
    const query = validate(TrustQuery, { external_id_seed: c.req.query('external_id_seed') }, 'query');
    if (!deps.cloudAccountId) {
      throw new ApiError(
        400,
        'no AWS account id is configured for the trust policy: set cloudAccountId in s3c.yaml or the environment variable S3C_CLOUD_ACCOUNT_ID',
      );
    }
    const externalId = deriveExternalId(deps.workspaceSecret, deps.workspace.workspace, query.external_id_seed);
    try {
      return c.json(trustPolicy({ accountIds: [deps.cloudAccountId], externalId }));
    } catch (err) {
      throw new ApiError(400, (err as Error).message);
    }
  });

  app.get('/s3/policies/access-policy', (c) => {
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

  return app;
}
