/** `/v0/events/s3`: S3 event notifications (EventBridge or SNS), routed to the data sources they match (R9.2). */
import { Hono } from 'hono';
import { handleS3Events, SequencerMemory } from '../../events';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';

export function eventRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  const sequencers = new SequencerMemory();

  app.post('/s3', async (c) => {
    const text = await c.req.text();
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      throw new ApiError(400, 'not an S3 event: the request body is not valid JSON');
    }
    const result = await handleS3Events(
      {
        client: deps.client,
        projectDir: deps.projectDir,
        environment: deps.workspace.environment,
        workspace: deps.workspace.workspace,
        sequencers,
      },
      body,
    );
    if (result.subscriptions.length > 0 && result.accepted === 0) {
      for (const s of result.subscriptions) {
        console.warn(
          `s3c api: SNS subscription confirmation for ${s.topicArn ?? 'a topic'}; confirm it by opening ${s.subscribeUrl ?? 'its SubscribeURL'}`,
        );
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
