/**
 * Bucket notification wiring for `@auto` data sources (SPEC R9.1).
 *
 * AWS: S3 delivers the bucket's events to EventBridge (`EventBridgeConfiguration`
 * in the bucket's notification configuration); a rule per data source
 * matches "Object Created" for the bucket and key prefix and targets an API
 * destination that POSTs to the product's event endpoint with the API token.
 *
 * MinIO (local mode): a queue configuration sends `s3:ObjectCreated:*` under
 * the prefix to a webhook target configured on the server with
 * `MINIO_NOTIFY_WEBHOOK_ENABLE_S3C=on`, `MINIO_NOTIFY_WEBHOOK_ENDPOINT_S3C=<api>/v0/events/s3`
 * and `MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_S3C=<token>`.
 *
 * PutBucketNotificationConfiguration replaces the whole configuration, so
 * every change here reads it, merges, and writes it back, keeping the
 * owner's other Topic, Queue and Lambda configurations exactly as they were;
 * nothing is written when nothing would change.
 */
import { createHash } from 'node:crypto';
import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  DeleteApiDestinationCommand,
  DeleteConnectionCommand,
  DeleteRuleCommand,
  DescribeApiDestinationCommand,
  DescribeConnectionCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  UpdateApiDestinationCommand,
  UpdateConnectionCommand,
  type EventBridgeClient,
} from '@aws-sdk/client-eventbridge';
import {
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  type NotificationConfiguration,
  type QueueConfiguration,
  type S3Client,
} from '@aws-sdk/client-s3';

/** The id of the one target our rules carry. */
export const EVENT_TARGET_ID = 's3c-event-endpoint';
/** The ARN of MinIO's webhook target `S3C` (the env suffix of `MINIO_NOTIFY_WEBHOOK_*_S3C`). */
export const MINIO_WEBHOOK_ARN = 'arn:minio:sqs::S3C:webhook';
/** Marker in the descriptions of what we create in EventBridge. */
const MANAGED = 'Managed by s3c';

/** Reads the bucket's notification configuration, without the response metadata. */
export async function readNotifications(s3: S3Client, bucket: string): Promise<NotificationConfiguration> {
  const out = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  const config: NotificationConfiguration = {};
  if (out.TopicConfigurations && out.TopicConfigurations.length > 0)
    config.TopicConfigurations = out.TopicConfigurations;
  if (out.QueueConfigurations && out.QueueConfigurations.length > 0)
    config.QueueConfigurations = out.QueueConfigurations;
  if (out.LambdaFunctionConfigurations && out.LambdaFunctionConfigurations.length > 0) {
    config.LambdaFunctionConfigurations = out.LambdaFunctionConfigurations;
  }
  if (out.EventBridgeConfiguration) config.EventBridgeConfiguration = out.EventBridgeConfiguration;
  return config;
}

/** What a wiring call did. */
export interface WiringResult {
  /** False when everything was already in place (nothing was written). */
  changed: boolean;
}

/**
 * Turns on EventBridge delivery for `bucket`, keeping every other
 * notification configuration untouched. Idempotent: writes nothing when it
 * is already on.
 *
 * The write sets `SkipDestinationValidation`: the only destination added is
 * EventBridge, and the owner's existing destinations are written back as
 * they were, so S3 need not test them again.
 */
export async function enableEventBridge(s3: S3Client, bucket: string): Promise<WiringResult> {
  const current = await readNotifications(s3, bucket);
  if (current.EventBridgeConfiguration) return { changed: false };
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { ...current, EventBridgeConfiguration: {} },
      SkipDestinationValidation: true,
    }),
  );
  return { changed: true };
}

/**
 * Turns EventBridge delivery off again (teardown of what
 * {@link enableEventBridge} turned on), keeping every other notification
 * configuration as it is. Writes nothing when it is already off.
 */
export async function disableEventBridge(s3: S3Client, bucket: string): Promise<WiringResult> {
  const current = await readNotifications(s3, bucket);
  if (!current.EventBridgeConfiguration) return { changed: false };
  const { EventBridgeConfiguration: _off, ...rest } = current;
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: rest,
      SkipDestinationValidation: true,
    }),
  );
  return { changed: true };
}

/** Options of {@link ensureEventRule} and {@link removeEventRule}. */
export interface EventRuleOptions {
  workspace: string;
  dataSource: string;
  bucket: string;
  /** The key prefix of the data source's URI (R3.4); '' for the whole bucket. */
  prefix: string;
  /** The event endpoint: `<api>/v0/events/s3`. */
  endpointUrl: string;
  /** The API token, sent as `Authorization: Bearer <token>`. Stored by EventBridge in Secrets Manager. */
  token: string;
  /** IAM role EventBridge assumes to invoke the API destination (`events:InvokeApiDestination`); AWS requires one. */
  invokeRoleArn: string;
  /** Event bus of the rule (default: `default`, where S3 sends its events). */
  eventBusName?: string;
  /** Invocations per second at most (default 50). */
  rateLimitPerSecond?: number;
}

/** The ARNs of what {@link ensureEventRule} put in place. */
export interface EventRuleResult {
  ruleArn?: string;
  connectionArn: string;
  apiDestinationArn: string;
}

/**
 * The name of the rule, connection and API destination of a data source:
 * `s3c-<workspace>-<datasource>`, shortened with a hash past EventBridge's
 * 64 characters.
 */
export function eventRuleName(workspace: string, dataSource: string): string {
  const name = `s3c-${workspace}-${dataSource}`.replace(/[^\w.-]/g, '_');
  if (name.length <= 64) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return `${name.slice(0, 53)}-${hash}`;
}

/** The rule's event pattern: Object Created in `bucket` under `prefix`. */
export function eventPattern(bucket: string, prefix: string): Record<string, unknown> {
  const object = prefix === '' ? undefined : { key: [{ prefix }] };
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: { bucket: { name: [bucket] }, ...(object ? { object } : {}) },
  };
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return name === 'ResourceNotFoundException';
}

/**
 * Creates or updates the EventBridge pieces that deliver a data source's
 * events to the endpoint: a connection (API key auth, `Authorization:
 * Bearer <token>`), an API destination (POST to `endpointUrl`), a rule on
 * `eventPattern(bucket, prefix)`, and the rule's target. Idempotent: run it
 * again with the same options and it converges on the same state (it updates
 * what exists, the token and endpoint included).
 *
 * @throws the EventBridge error when a call fails, or an Error naming the
 *   target when PutTargets reports a failed entry.
 */
export async function ensureEventRule(eb: EventBridgeClient, options: EventRuleOptions): Promise<EventRuleResult> {
  const name = eventRuleName(options.workspace, options.dataSource);
  const description = `${MANAGED}: S3 events of s3://${options.bucket}/${options.prefix} for data source ${options.dataSource} (workspace ${options.workspace})`;
  const auth = { ApiKeyAuthParameters: { ApiKeyName: 'Authorization', ApiKeyValue: `Bearer ${options.token}` } };

  let connectionArn: string | undefined;
  try {
    const existing = await eb.send(new DescribeConnectionCommand({ Name: name }));
    const updated = await eb.send(
      new UpdateConnectionCommand({
        Name: name,
        Description: description,
        AuthorizationType: 'API_KEY',
        AuthParameters: auth,
      }),
    );
    connectionArn = updated.ConnectionArn ?? existing.ConnectionArn;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    const created = await eb.send(
      new CreateConnectionCommand({
        Name: name,
        Description: description,
        AuthorizationType: 'API_KEY',
        AuthParameters: auth,
      }),
    );
    connectionArn = created.ConnectionArn;
  }
  if (!connectionArn) throw new Error(`EventBridge connection ${name}: no ARN returned`);

  const destination = {
    Name: name,
    Description: description,
    ConnectionArn: connectionArn,
    InvocationEndpoint: options.endpointUrl,
    HttpMethod: 'POST' as const,
    InvocationRateLimitPerSecond: options.rateLimitPerSecond ?? 50,
  };
  let apiDestinationArn: string | undefined;
  try {
    const existing = await eb.send(new DescribeApiDestinationCommand({ Name: name }));
    const updated = await eb.send(new UpdateApiDestinationCommand(destination));
    apiDestinationArn = updated.ApiDestinationArn ?? existing.ApiDestinationArn;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    const created = await eb.send(new CreateApiDestinationCommand(destination));
    apiDestinationArn = created.ApiDestinationArn;
  }
  if (!apiDestinationArn) throw new Error(`EventBridge API destination ${name}: no ARN returned`);

  const rule = await eb.send(
    new PutRuleCommand({
      Name: name,
      Description: description,
      EventBusName: options.eventBusName,
      EventPattern: JSON.stringify(eventPattern(options.bucket, options.prefix)),
      State: 'ENABLED',
    }),
  );
  const targets = await eb.send(
    new PutTargetsCommand({
      Rule: name,
      EventBusName: options.eventBusName,
      Targets: [{ Id: EVENT_TARGET_ID, Arn: apiDestinationArn, RoleArn: options.invokeRoleArn }],
    }),
  );
  if ((targets.FailedEntryCount ?? 0) > 0) {
    const entry = targets.FailedEntries?.[0];
    throw new Error(
      `EventBridge rule ${name}: target ${EVENT_TARGET_ID} was refused: ${entry?.ErrorCode ?? ''} ${entry?.ErrorMessage ?? ''}`.trim(),
    );
  }
  return { ruleArn: rule.RuleArn, connectionArn, apiDestinationArn };
}

/**
 * Removes what {@link ensureEventRule} created for a data source: our target
 * of the rule, the rule (only when no other target remains on it), the API
 * destination and the connection. Never touches the bucket's notification
 * configuration (other rules may use EventBridge delivery). Idempotent:
 * what is already gone is skipped.
 *
 * @returns what was removed, by kind.
 */
export async function removeEventRule(
  eb: EventBridgeClient,
  options: { workspace: string; dataSource: string; eventBusName?: string },
): Promise<{ removed: string[]; kept: string[] }> {
  const name = eventRuleName(options.workspace, options.dataSource);
  const removed: string[] = [];
  const kept: string[] = [];
  let ruleExists = true;
  let otherTargets = 0;
  try {
    const listed = await eb.send(new ListTargetsByRuleCommand({ Rule: name, EventBusName: options.eventBusName }));
    const ids = (listed.Targets ?? []).map((t) => t.Id);
    otherTargets = ids.filter((id) => id !== EVENT_TARGET_ID).length;
    if (ids.includes(EVENT_TARGET_ID)) {
      await eb.send(
        new RemoveTargetsCommand({ Rule: name, EventBusName: options.eventBusName, Ids: [EVENT_TARGET_ID] }),
      );
      removed.push('target');
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
    ruleExists = false;
  }
  if (ruleExists) {
    if (otherTargets === 0) {
      try {
        await eb.send(new DeleteRuleCommand({ Name: name, EventBusName: options.eventBusName }));
        removed.push('rule');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    } else {
      kept.push(`rule (${otherTargets} target(s) not created by s3c)`);
    }
  }
  try {
    await eb.send(new DeleteApiDestinationCommand({ Name: name }));
    removed.push('api destination');
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await eb.send(new DeleteConnectionCommand({ Name: name }));
    removed.push('connection');
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return { removed, kept };
}

/** The id of our MinIO queue configuration for a key prefix: `s3c-<hash of prefix>`. */
export function minioConfigId(prefix: string): string {
  return `s3c-${createHash('sha256').update(prefix).digest('hex').slice(0, 16)}`;
}

function prefixOf(q: QueueConfiguration): string {
  return q.Filter?.Key?.FilterRules?.find((r) => r.Name?.toLowerCase() === 'prefix')?.Value ?? '';
}

function sameQueue(a: QueueConfiguration, b: QueueConfiguration): boolean {
  const events = (q: QueueConfiguration): string => [...(q.Events ?? [])].sort().join(',');
  const suffix = (q: QueueConfiguration): string =>
    q.Filter?.Key?.FilterRules?.find((r) => r.Name?.toLowerCase() === 'suffix')?.Value ?? '';
  return a.QueueArn === b.QueueArn && events(a) === events(b) && prefixOf(a) === prefixOf(b) && suffix(a) === suffix(b);
}

/**
 * MinIO (local mode): sends `s3:ObjectCreated:*` events under `prefix` to the
 * server's webhook target (`queueArn`, default `arn:minio:sqs::S3C:webhook`:
 * MinIO names env-configured targets by the env suffix, upper case). Adds or
 * updates one queue configuration with id {@link minioConfigId}(prefix),
 * keeping every other configuration. Idempotent.
 *
 * @throws the S3 error; MinIO answers `InvalidArgument`/ARN not found when
 *   the webhook target is not configured on the server.
 */
export async function enableMinioWebhook(
  s3: S3Client,
  bucket: string,
  options: { prefix: string; queueArn?: string },
): Promise<WiringResult> {
  const current = await readNotifications(s3, bucket);
  const id = minioConfigId(options.prefix);
  const wanted: QueueConfiguration = {
    Id: id,
    QueueArn: options.queueArn ?? MINIO_WEBHOOK_ARN,
    Events: ['s3:ObjectCreated:*'],
    ...(options.prefix === '' ? {} : { Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: options.prefix }] } } }),
  };
  const queues = current.QueueConfigurations ?? [];
  const existing = queues.find((q) => q.Id === id);
  if (existing && sameQueue(existing, wanted)) return { changed: false };
  const next = existing ? queues.map((q) => (q.Id === id ? wanted : q)) : [...queues, wanted];
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { ...current, QueueConfigurations: next },
    }),
  );
  return { changed: true };
}

/**
 * Removes our MinIO queue configuration for `prefix`, keeping every other
 * configuration. Idempotent.
 */
export async function disableMinioWebhook(
  s3: S3Client,
  bucket: string,
  options: { prefix: string },
): Promise<WiringResult> {
  const current = await readNotifications(s3, bucket);
  const id = minioConfigId(options.prefix);
  const queues = current.QueueConfigurations ?? [];
  if (!queues.some((q) => q.Id === id)) return { changed: false };
  const rest = queues.filter((q) => q.Id !== id);
  const next: NotificationConfiguration = { ...current };
  if (rest.length > 0) next.QueueConfigurations = rest;
  else delete next.QueueConfigurations;
  await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: next }));
  return { changed: true };
}
