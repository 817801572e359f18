/**
 * Event delivery for `@auto` data sources, set up by deploy (R9.1):
 *
 * - the queue intake (`events.intake: queue`, the default on AWS without an
 *   event endpoint; docs/events-aws.md): in the bucket owner's account (the
 *   connection's role), EventBridge delivery on the bucket, the connection's
 *   SQS queue, and a rule for the bucket and key prefix whose target is that
 *   queue; the worker drains it (queueIntakes.ts starts that);
 * - push to AWS (`events.endpointUrl` and `events.invokeRoleArn`): the same
 *   rule, whose API destination is our event endpoint;
 * - S3-compatible stores with S3_ENDPOINT (MinIO): the bucket's webhook
 *   notification to the server's `S3C` webhook target.
 *
 * Where no event source can be set up, `@auto` keeps ingesting by polling
 * (R5.7): wiring problems are reported, never fatal.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3ClientCache } from '../aws/credentials';
import { deniedEventReads, EventActionsDeniedError } from '../aws/eventProbe';
import { ACTION_OF_EVENT_COMMAND } from '../aws/policies';
import {
  ensureIntakeQueue,
  ensureQueueRule,
  intakeQueueNames,
  markEventBridgeEnabled,
  removeQueueRule,
} from '../aws/queueIntake';
import {
  disableMinioWebhook,
  enableEventBridge,
  enableMinioWebhook,
  ensureEventRule,
  removeEventRule,
} from '../aws/notifications';
import type { WorkspaceConfig } from '../config';
import type { ConnectionDef, DataSourceDef } from '../datafiles/types';
import { listPrefix } from '../s3uri';

export interface WiringOptions {
  workspace: WorkspaceConfig;
  s3: S3ClientCache;
  /** The API token the event endpoint expects. */
  apiToken?: () => string;
}

function reason(err: unknown): string {
  const name = (err as { name?: string }).name;
  const message = err instanceof Error ? err.message : String(err);
  const text = name && !message.startsWith(name) ? `${name}: ${message}` : message;
  // The clients name the command in their errors (credentials.ts); the event block of the access policy grants its action.
  const action = ACTION_OF_EVENT_COMMAND[(err as { command?: string }).command ?? ''];
  if (action && /^AccessDenied/.test(name ?? ''))
    return `${text}; the access policy must allow ${action} (its optional event block, docs/events-aws.md)`;
  // S3's AccessDenied does not say which call; wiring makes only these two on the bucket.
  return name === 'AccessDenied'
    ? `${text}; the access policy must allow s3:GetBucketNotification and s3:PutBucketNotification`
    : text;
}

/** `s3://bucket/prefix` for a message, or `shown` (a URI from a secret is named by its reference). */
function where(bucket: string, prefix: string, shown: string | undefined): string {
  return shown ?? `s3://${bucket}/${prefix}`;
}

/**
 * How a connection's `@auto` data sources hear of new objects: `queue` (the
 * SQS queue intake) or `push` (HTTP to the event endpoint). `events.intake`
 * decides; by default, S3_ENDPOINT (MinIO's webhook) and a configured
 * `events.endpointUrl` push, everything else on AWS uses the queue.
 */
export function intakeMode(conn: Pick<ConnectionDef, 'endpoint'>, workspace: WorkspaceConfig): 'queue' | 'push' {
  return workspace.events?.intake ?? (conn.endpoint || workspace.events?.endpointUrl ? 'push' : 'queue');
}

/** The queue intake's pieces for one data source: queue, bucket delivery to EventBridge, rule. */
async function wireQueue(
  ds: DataSourceDef,
  conn: ConnectionDef,
  options: WiringOptions,
  bucket: string,
  prefix: string,
): Promise<string> {
  const workspace = options.workspace.workspace;
  const sqs = options.s3.sqsFor(conn);
  // Reads first: a missing action is named, and nothing is half made (src/aws/eventProbe.ts).
  const clients = { s3: options.s3.clientFor(conn), sqs, eb: options.s3.eventBridgeFor(conn) };
  const denied = await deniedEventReads(clients, { workspace, connection: conn.name, dataSource: ds.name, bucket });
  if (denied.length > 0) throw new EventActionsDeniedError(denied);
  const queue = await ensureIntakeQueue(sqs, workspace, conn.name);
  if ((await enableEventBridge(options.s3.clientFor(conn), bucket)).changed)
    await markEventBridgeEnabled(sqs, queue.url, bucket);
  await ensureQueueRule(options.s3.eventBridgeFor(conn), { workspace, dataSource: ds.name, bucket, prefix, queue });
  return `EventBridge rule delivers to SQS queue ${intakeQueueNames(workspace, conn.name).queue}`;
}

/**
 * Turns on event delivery for one `@auto` data source; returns a line for the
 * user. `shown`: how to name its bucket URI when the value is a secret.
 */
export async function wireDataSource(
  ds: DataSourceDef,
  conn: ConnectionDef,
  options: WiringOptions,
  shown?: string,
): Promise<string> {
  const settings = ds.import;
  if (!settings || settings.schedule.kind !== 'auto') return '';
  const { bucket, prefix } = listPrefix(settings.bucketUri);
  const at = where(bucket, prefix, shown);
  const poll = `polling every ${options.workspace.pollIntervalSeconds}s`;
  const s3 = options.s3.clientFor(conn);
  try {
    if (intakeMode(conn, options.workspace) === 'queue')
      return `events: ${at}: ${await wireQueue(ds, conn, options, bucket, prefix)}`;
    if (conn.endpoint) {
      const result = await enableMinioWebhook(s3, bucket, { prefix });
      return `events: webhook notifications of ${at} ${result.changed ? 'turned on' : 'already on'}`;
    }
    const events = options.workspace.events;
    if (!events?.endpointUrl || !events.invokeRoleArn || !options.apiToken) {
      return `events: no event endpoint configured (events.endpointUrl, events.invokeRoleArn in s3c.yaml); ${ds.name} is ${poll}`;
    }
    await enableEventBridge(s3, bucket);
    const eb = new EventBridgeClient({ region: conn.region });
    try {
      await ensureEventRule(eb, {
        workspace: options.workspace.workspace,
        dataSource: ds.name,
        bucket,
        prefix,
        endpointUrl: events.endpointUrl,
        token: options.apiToken(),
        invokeRoleArn: events.invokeRoleArn,
      });
    } finally {
      eb.destroy();
    }
    return `events: EventBridge rule for ${at} delivers to ${events.endpointUrl}`;
  } catch (err) {
    return `events: could not turn on notifications for ${at} (${shown ? 'details not shown: the URI is a secret' : reason(err)}); ${ds.name} is ${poll}`;
  }
}

/** Removes what `wireDataSource` added for a data source; returns a line for the user. */
export async function unwireDataSource(
  ds: DataSourceDef,
  conn: ConnectionDef | undefined,
  options: WiringOptions,
  shown?: string,
): Promise<string> {
  const settings = ds.import;
  if (!settings || settings.schedule.kind !== 'auto' || !conn) return '';
  const { bucket, prefix } = listPrefix(settings.bucketUri);
  const at = where(bucket, prefix, shown);
  try {
    if (intakeMode(conn, options.workspace) === 'queue') {
      const removed = await removeQueueRule(options.s3.eventBridgeFor(conn), options.workspace.workspace, ds.name);
      return removed.length > 0 ? `events: EventBridge ${removed.join(' and ')} of ${ds.name} removed` : '';
    }
    if (conn.endpoint) {
      const result = await disableMinioWebhook(options.s3.clientFor(conn), bucket, { prefix });
      return result.changed ? `events: webhook notifications of ${at} removed` : '';
    }
    if (!options.workspace.events?.endpointUrl) return '';
    const eb = new EventBridgeClient({ region: conn.region });
    try {
      await removeEventRule(eb, { workspace: options.workspace.workspace, dataSource: ds.name });
    } finally {
      eb.destroy();
    }
    return `events: EventBridge rule of ${ds.name} removed`;
  } catch (err) {
    return `events: could not remove notifications for ${at} (${shown ? 'details not shown: the URI is a secret' : reason(err)})`;
  }
}
