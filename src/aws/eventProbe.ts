/**
 * Before deploy wires the queue intake of a data source (docs/events-aws.md),
 * it asks, with read-only calls in the bucket owner's account, whether the
 * connection's role holds the event actions, so that a missing one is named
 * exactly and nothing is half made (a queue without its rule, an intake
 * polling a queue that no rule feeds).
 *
 * Only reads can be probed: SQS, EventBridge and S3 have no dry run, and a
 * write to probe a write would change the owner's account. A refused write
 * (`sqs:CreateQueue`, `events:PutRule`, `s3:PutBucketNotification`, ...) is
 * named by the wiring itself, from the command in the client's error
 * (`ACTION_OF_EVENT_COMMAND`, src/aws/policies.ts).
 */
import { DescribeRuleCommand, ListTargetsByRuleCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { TerminalError } from '../util/errors';
import { eventRuleName, readNotifications } from './notifications';
import { intakeQueueNames } from './queueIntake';

/** The role lacks event actions that the probe names; nothing was wired. */
export class EventActionsDeniedError extends TerminalError {
  constructor(readonly actions: string[]) {
    super(
      `${actions.join(', ')} denied; the access policy must allow ${actions.length > 1 ? 'them' : 'it'} ` +
        '(its optional event block, docs/events-aws.md); nothing was wired',
    );
  }
}

/** The clients of one connection, acting with its role in the bucket owner's account. */
export interface EventClients {
  /** The S3 client (typed through the reader, so that this file names no S3 command: policies.test.ts). */
  s3: Parameters<typeof readNotifications>[0];
  sqs: SQSClient;
  eb: EventBridgeClient;
}

/** What the probes of one data source are about. */
export interface EventProbeTarget {
  workspace: string;
  connection: string;
  dataSource: string;
  bucket: string;
}

/** An error that says the caller may not do it: S3's AccessDenied, SQS's and EventBridge's AccessDenied(Exception), or a 403. */
function isDenied(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return /^AccessDenied/.test(e.name ?? '') || e.$metadata?.httpStatusCode === 403;
}

/** Runs a read; its IAM action when AWS refused it, else nothing (a missing queue or rule is an answer: allowed). */
async function deniedAction(action: string, call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (err) {
    return isDenied(err) ? action : undefined;
  }
}

/** The queue's URL when it exists and the role may read it; the refused action otherwise. */
async function probeQueue(sqs: SQSClient, name: string): Promise<{ url?: string; denied?: string }> {
  try {
    return { url: (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl };
  } catch (err) {
    return isDenied(err) ? { denied: 'sqs:GetQueueUrl' } : {};
  }
}

/**
 * The read actions of the event block that the role lacks for one data
 * source, in the order deploy would use them; empty when every read is
 * allowed. Other errors (a network failure) are left to the wiring to report.
 */
export async function deniedEventReads(c: EventClients, target: EventProbeTarget): Promise<string[]> {
  const rule = eventRuleName(target.workspace, target.dataSource);
  const queue = await probeQueue(c.sqs, intakeQueueNames(target.workspace, target.connection).queue);
  const url = queue.url;
  const denied = [
    queue.denied,
    url &&
      (await deniedAction('sqs:GetQueueAttributes', () =>
        c.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })),
      )),
    url && (await deniedAction('sqs:ListQueueTags', () => c.sqs.send(new ListQueueTagsCommand({ QueueUrl: url })))),
    await deniedAction('s3:GetBucketNotification', () => readNotifications(c.s3, target.bucket)),
    await deniedAction('events:DescribeRule', () => c.eb.send(new DescribeRuleCommand({ Name: rule }))),
    await deniedAction('events:ListTargetsByRule', () => c.eb.send(new ListTargetsByRuleCommand({ Rule: rule }))),
  ];
  return denied.filter((a): a is string => typeof a === 'string');
}
