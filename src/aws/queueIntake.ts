/**
 * The AWS pieces of the SQS queue intake (SPEC R9.3, docs/events-aws.md), all
 * in the bucket owner's account (the connection's role):
 *
 * - one queue per workspace and connection, `s3c-<workspace>-<connection>`,
 *   with a dead-letter queue, 14 days of retention (a worker outage loses
 *   nothing) and the policy that lets the workspace's EventBridge rules send;
 * - per `@auto` data source, a rule matching `Object Created` for its bucket
 *   and key prefix ({@link eventPattern}) whose target is that queue.
 *
 * Every function is idempotent: it reads first and writes only what differs.
 */
import { createHash } from 'node:crypto';
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  type EventBridgeClient,
  type Target,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
  UntagQueueCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { eventPattern, eventRuleName } from './notifications';

/** The id of the queue target on our rules (the HTTP push path's is `s3c-event-endpoint`). */
export const QUEUE_TARGET_ID = 's3c-queue';
/** Marker in the descriptions of what we create. */
const MANAGED = 'Managed by s3c';
/** 14 days, SQS's maximum: events wait this long for a worker. */
export const RETENTION_SECONDS = 1_209_600;
/** Receives of a message before it moves to the dead-letter queue (an unparseable body, a signal that keeps failing). */
export const MAX_RECEIVE_COUNT = 10;
/** How long a received message stays hidden: longer than one round of the drain activity. */
export const VISIBILITY_TIMEOUT_SECONDS = 120;

/** Names of a connection's queue and its dead-letter queue. */
export interface IntakeQueueNames {
  queue: string;
  deadLetter: string;
}

/** `s3c-<workspace>-<connection>` and `<that>-dlq`, within SQS's 80 characters. */
export function intakeQueueNames(workspace: string, connection: string): IntakeQueueNames {
  let queue = `s3c-${workspace}-${connection}`.replace(/[^\w-]/g, '_');
  if (queue.length > 76)
    queue = `${queue.slice(0, 65)}-${createHash('sha256').update(queue).digest('hex').slice(0, 10)}`;
  return { queue, deadLetter: `${queue}-dlq` };
}

/** A queue as the intake uses it. */
export interface IntakeQueue {
  url: string;
  arn: string;
  deadLetterArn: string;
  /** False when the queues existed with these attributes (nothing was written). */
  changed: boolean;
}

/** `arn:aws:sqs:<region>:<account>:<name>` → region and account. */
function arnParts(arn: string): { region: string; account: string } {
  const [, , , region = '', account = ''] = arn.split(':');
  return { region, account };
}

/** The queue policy: EventBridge may send from any rule of the workspace (AWS checks it; moto does not). */
export function intakeQueuePolicy(queueArn: string, workspace: string): string {
  const { region, account } = arnParts(queueArn);
  const statement = {
    Sid: 's3c-eventbridge',
    Effect: 'Allow',
    Principal: { Service: 'events.amazonaws.com' },
    Action: 'sqs:SendMessage',
    Resource: queueArn,
    Condition: {
      ArnLike: { 'aws:SourceArn': `arn:aws:events:${region}:${account}:rule/${eventRuleName(workspace, '')}*` },
    },
  };
  return JSON.stringify({ Version: '2012-10-17', Statement: [statement] });
}

/** Creates a queue (idempotent) and sets the attributes that differ; its URL and ARN. */
async function ensureQueue(
  sqs: SQSClient,
  name: string,
  wanted: (arn: string) => Record<string, string>,
): Promise<{ url: string; arn: string; changed: boolean }> {
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const url = created.QueueUrl;
  if (!url) throw new Error(`SQS queue ${name}: no URL returned`);
  const got = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
  const current: Record<string, string | undefined> = got.Attributes ?? {};
  const arn = current.QueueArn;
  if (!arn) throw new Error(`SQS queue ${name}: no ARN returned`);
  const differing = Object.fromEntries(Object.entries(wanted(arn)).filter(([k, v]) => !sameAttribute(current[k], v)));
  if (Object.keys(differing).length > 0)
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: differing }));
  return { url, arn, changed: Object.keys(differing).length > 0 };
}

/** JSON attributes (policy, redrive policy) compare by value, not by spelling. */
function sameAttribute(current: string | undefined, wanted: string): boolean {
  if (current === wanted) return true;
  if (current === undefined || !wanted.startsWith('{')) return false;
  try {
    return JSON.stringify(JSON.parse(current)) === JSON.stringify(JSON.parse(wanted));
  } catch {
    return false;
  }
}

/**
 * Creates or updates a connection's intake queue and its dead-letter queue.
 *
 * @throws the SQS error when a call fails (AccessDenied names the missing action).
 */
export async function ensureIntakeQueue(sqs: SQSClient, workspace: string, connection: string): Promise<IntakeQueue> {
  const names = intakeQueueNames(workspace, connection);
  const retention = { MessageRetentionPeriod: String(RETENTION_SECONDS), SqsManagedSseEnabled: 'true' };
  const dlq = await ensureQueue(sqs, names.deadLetter, () => retention);
  const queue = await ensureQueue(sqs, names.queue, (arn) => ({
    ...retention,
    ReceiveMessageWaitTimeSeconds: '20',
    VisibilityTimeout: String(VISIBILITY_TIMEOUT_SECONDS),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: MAX_RECEIVE_COUNT }),
    Policy: intakeQueuePolicy(arn, workspace),
  }));
  return { url: queue.url, arn: queue.arn, deadLetterArn: dlq.arn, changed: queue.changed || dlq.changed };
}

/** The URL of a queue, or undefined when it does not exist. */
export async function queueUrl(sqs: SQSClient, name: string): Promise<string | undefined> {
  try {
    return (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (err) {
    if (isMissingQueue(err)) return undefined;
    throw err;
  }
}

function isMissingQueue(err: unknown): boolean {
  const name = (err as { name?: string }).name ?? '';
  return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue';
}

/** Deletes a connection's queue and dead-letter queue; returns what was deleted. Idempotent. */
export async function deleteIntakeQueue(sqs: SQSClient, workspace: string, connection: string): Promise<string[]> {
  const deleted: string[] = [];
  for (const name of Object.values(intakeQueueNames(workspace, connection))) {
    const url = await queueUrl(sqs, name);
    if (!url) continue;
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    deleted.push(name);
  }
  return deleted;
}

/**
 * Deploy turns EventBridge delivery on for a bucket only when it was off; the
 * queue remembers that in a tag per bucket, so that teardown turns off only
 * what deploy turned on (the owner may have had it on for others).
 */
const ENABLED_TAG_PREFIX = 's3c:eventbridge-enabled:';

/** Records that deploy turned EventBridge delivery on for `bucket`. */
export async function markEventBridgeEnabled(sqs: SQSClient, url: string, bucket: string): Promise<void> {
  await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { [`${ENABLED_TAG_PREFIX}${bucket}`]: 'true' } }));
}

/** The buckets for which deploy turned EventBridge delivery on. */
export async function bucketsEnabledByUs(sqs: SQSClient, url: string): Promise<string[]> {
  const tags = (await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags ?? {};
  return Object.keys(tags)
    .filter((k) => k.startsWith(ENABLED_TAG_PREFIX))
    .map((k) => k.slice(ENABLED_TAG_PREFIX.length));
}

/** Forgets that deploy turned EventBridge delivery on for `bucket` (it was turned off). */
export async function unmarkEventBridgeEnabled(sqs: SQSClient, url: string, bucket: string): Promise<void> {
  await sqs.send(new UntagQueueCommand({ QueueUrl: url, TagKeys: [`${ENABLED_TAG_PREFIX}${bucket}`] }));
}

/** Options of {@link ensureQueueRule}. */
export interface QueueRuleOptions {
  workspace: string;
  dataSource: string;
  bucket: string;
  /** The key prefix of the data source's URI; '' for the whole bucket. */
  prefix: string;
  queue: Pick<IntakeQueue, 'arn' | 'deadLetterArn'>;
}

function isNotFound(err: unknown): boolean {
  return (err as { name?: string }).name === 'ResourceNotFoundException';
}

/** The rule's pattern as deployed, or undefined when there is no rule. */
async function deployedPattern(eb: EventBridgeClient, name: string): Promise<string | undefined> {
  try {
    return (await eb.send(new DescribeRuleCommand({ Name: name }))).EventPattern;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function sameTarget(current: Target | undefined, wanted: Target): boolean {
  return (
    current !== undefined &&
    current.Arn === wanted.Arn &&
    current.DeadLetterConfig?.Arn === wanted.DeadLetterConfig?.Arn &&
    current.RetryPolicy?.MaximumEventAgeInSeconds === wanted.RetryPolicy?.MaximumEventAgeInSeconds
  );
}

/**
 * Creates or updates a data source's rule (`eventRuleName`) and its queue
 * target (failed deliveries go to the dead-letter queue after a day of
 * retries). Bucket notifications are the caller's (`enableEventBridge`).
 *
 * @returns whether anything was written.
 * @throws the EventBridge error, or an Error when PutTargets refuses the target.
 */
export async function ensureQueueRule(eb: EventBridgeClient, options: QueueRuleOptions): Promise<{ changed: boolean }> {
  const name = eventRuleName(options.workspace, options.dataSource);
  const pattern = JSON.stringify(eventPattern(options.bucket, options.prefix));
  let changed = false;
  const current = await deployedPattern(eb, name);
  if (current === undefined || !sameAttribute(current, pattern)) {
    const description = `${MANAGED}: S3 events of s3://${options.bucket}/${options.prefix} for data source ${options.dataSource} (workspace ${options.workspace}) to SQS`;
    await eb.send(
      new PutRuleCommand({ Name: name, Description: description, EventPattern: pattern, State: 'ENABLED' }),
    );
    changed = true;
  }
  const wanted: Target = {
    Id: QUEUE_TARGET_ID,
    Arn: options.queue.arn,
    DeadLetterConfig: { Arn: options.queue.deadLetterArn },
    RetryPolicy: { MaximumEventAgeInSeconds: 86_400 },
  };
  const targets = (await eb.send(new ListTargetsByRuleCommand({ Rule: name }))).Targets ?? [];
  if (
    sameTarget(
      targets.find((t) => t.Id === QUEUE_TARGET_ID),
      wanted,
    )
  )
    return { changed };
  const put = await eb.send(new PutTargetsCommand({ Rule: name, Targets: [wanted] }));
  if ((put.FailedEntryCount ?? 0) > 0) {
    const entry = put.FailedEntries?.[0];
    throw new Error(
      `EventBridge rule ${name}: target ${QUEUE_TARGET_ID} was refused: ${entry?.ErrorCode ?? ''} ${entry?.ErrorMessage ?? ''}`.trim(),
    );
  }
  return { changed: true };
}

/**
 * Removes a data source's queue target, and its rule when no other target
 * remains (someone else's target keeps the rule). Idempotent.
 *
 * @returns what was removed.
 */
export async function removeQueueRule(eb: EventBridgeClient, workspace: string, dataSource: string): Promise<string[]> {
  const name = eventRuleName(workspace, dataSource);
  let ids: string[];
  try {
    ids = ((await eb.send(new ListTargetsByRuleCommand({ Rule: name }))).Targets ?? []).map((t) => t.Id ?? '');
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  const removed: string[] = [];
  if (ids.includes(QUEUE_TARGET_ID)) {
    await eb.send(new RemoveTargetsCommand({ Rule: name, Ids: [QUEUE_TARGET_ID] }));
    removed.push('target');
  }
  if (ids.every((id) => id === QUEUE_TARGET_ID)) {
    await eb.send(new DeleteRuleCommand({ Name: name }));
    removed.push('rule');
  }
  return removed;
}
