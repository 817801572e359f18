/**
 * The queue intake's AWS pieces (src/aws/queueIntake.ts) on the emulator
 * moto, in the bucket owner's account: the queue and its dead-letter queue
 * are created once and converge (a second call writes nothing; a changed
 * attribute is set back), the rule and its queue target likewise; removal
 * keeps a rule that carries someone else's target, and is idempotent; the
 * tags that remember which buckets deploy turned EventBridge on for; the
 * probe of the event actions before wiring, which names a refused one and
 * leaves the account untouched.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DescribeRuleCommand, ListTargetsByRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, ListQueuesCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { deniedEventReads } from '../../src/aws/eventProbe';
import type { S3ClientCache } from '../../src/aws/credentials';
import { loadWorkspaceConfig } from '../../src/config';
import type { ConnectionDef, DataSourceDef } from '../../src/datafiles/types';
import { wireDataSource } from '../../src/deploy/wiring';
import { eventRuleName } from '../../src/aws/notifications';
import {
  bucketsEnabledByUs,
  deleteIntakeQueue,
  ensureIntakeQueue,
  ensureQueueRule,
  intakeQueueNames,
  markEventBridgeEnabled,
  queueUrl,
  removeQueueRule,
  unmarkEventBridgeEnabled,
} from '../../src/aws/queueIntake';
import { MOTO_OWNER_ROLE_ARN, motoRoleClients, startMoto, type MotoClients, type MotoServer } from '../helpers/moto';

const ROLE_ARN = MOTO_OWNER_ROLE_ARN;

describe('queue intake AWS pieces on moto', () => {
  const dir = mkdtempSync(join(tmpdir(), 's3c-moto-qi-'));
  let moto: MotoServer;
  let aws: MotoClients;

  before(async () => {
    moto = await startMoto({ stateDir: dir });
    aws = await motoRoleClients(moto, ROLE_ARN);
  });
  after(async () => {
    aws?.destroy();
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the queues s3c-<workspace>-<connection>, within SQS’s 80 characters', () => {
    assert.deepEqual(intakeQueueNames('local', 'aws'), { queue: 's3c-local-aws', deadLetter: 's3c-local-aws-dlq' });
    const long = intakeQueueNames('w'.repeat(60), 'c'.repeat(60));
    assert.ok(long.deadLetter.length <= 80, long.deadLetter);
    assert.notEqual(long.queue, intakeQueueNames('w'.repeat(60), `${'c'.repeat(59)}d`).queue);
  });

  it('creates the queue and its dead-letter queue once; a second call writes nothing; a changed attribute is set back', async () => {
    const first = await ensureIntakeQueue(aws.sqs, 'ws', 'conn');
    assert.equal(first.changed, true);
    assert.match(first.arn, /^arn:aws:sqs:us-east-1:111122223333:s3c-ws-conn$/);
    assert.deepEqual(
      { ...(await ensureIntakeQueue(aws.sqs, 'ws', 'conn')), changed: false },
      { ...first, changed: false },
    );
    assert.equal((await ensureIntakeQueue(aws.sqs, 'ws', 'conn')).changed, false);
    await aws.sqs.send(new SetQueueAttributesCommand({ QueueUrl: first.url, Attributes: { VisibilityTimeout: '5' } }));
    assert.equal((await ensureIntakeQueue(aws.sqs, 'ws', 'conn')).changed, true);
    const attrs = (
      await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: first.url, AttributeNames: ['VisibilityTimeout'] }))
    ).Attributes;
    assert.equal(attrs?.VisibilityTimeout, '120');
  });

  it('puts the rule and its queue target once; removal keeps a rule with someone else’s target, and is idempotent', async () => {
    const queue = await ensureIntakeQueue(aws.sqs, 'ws', 'conn');
    const options = { workspace: 'ws', dataSource: 'ds', bucket: 'landing', prefix: 'in/', queue };
    assert.deepEqual(await ensureQueueRule(aws.eb, options), { changed: true });
    assert.deepEqual(await ensureQueueRule(aws.eb, options), { changed: false });
    const name = eventRuleName('ws', 'ds');
    const targets = (await aws.eb.send(new ListTargetsByRuleCommand({ Rule: name }))).Targets ?? [];
    assert.deepEqual(
      targets.map((t) => [t.Id, t.Arn, t.DeadLetterConfig?.Arn]),
      [['s3c-queue', queue.arn, queue.deadLetterArn]],
    );
    // A new prefix updates the rule in place.
    assert.deepEqual(await ensureQueueRule(aws.eb, { ...options, prefix: 'new/' }), { changed: true });
    assert.match((await aws.eb.send(new DescribeRuleCommand({ Name: name }))).EventPattern ?? '', /new\//);

    await aws.eb.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: 'owners', Arn: queue.deadLetterArn }] }));
    assert.deepEqual(await removeQueueRule(aws.eb, 'ws', 'ds'), ['target']);
    assert.deepEqual(
      (await aws.eb.send(new ListTargetsByRuleCommand({ Rule: name }))).Targets?.map((t) => t.Id),
      ['owners'],
    );
  });

  it('removal of a rule that only we target deletes it; again, nothing', async () => {
    const queue = await ensureIntakeQueue(aws.sqs, 'ws', 'conn');
    await ensureQueueRule(aws.eb, { workspace: 'ws', dataSource: 'solo', bucket: 'landing', prefix: '', queue });
    assert.deepEqual(await removeQueueRule(aws.eb, 'ws', 'solo'), ['target', 'rule']);
    assert.deepEqual(await removeQueueRule(aws.eb, 'ws', 'solo'), []);
  });

  it('remembers in queue tags which buckets deploy turned EventBridge on for; deletes both queues, idempotently', async () => {
    const queue = await ensureIntakeQueue(aws.sqs, 'ws', 'tags');
    await markEventBridgeEnabled(aws.sqs, queue.url, 'a-bucket');
    await markEventBridgeEnabled(aws.sqs, queue.url, 'b.bucket');
    assert.deepEqual((await bucketsEnabledByUs(aws.sqs, queue.url)).sort(), ['a-bucket', 'b.bucket']);
    await unmarkEventBridgeEnabled(aws.sqs, queue.url, 'a-bucket');
    assert.deepEqual(await bucketsEnabledByUs(aws.sqs, queue.url), ['b.bucket']);
    assert.deepEqual(await deleteIntakeQueue(aws.sqs, 'ws', 'tags'), ['s3c-ws-tags', 's3c-ws-tags-dlq']);
    assert.equal(await queueUrl(aws.sqs, 's3c-ws-tags'), undefined);
    assert.deepEqual(await deleteIntakeQueue(aws.sqs, 'ws', 'tags'), []);
  });

  /**
   * Clients in the owner's account that refuse `commands` as AWS does (AccessDenied, with its HTTP status).
   * A mock of exactly those calls, every other one reaching moto: moto enforces no IAM by default, and its
   * enforcement (INITIAL_NO_AUTH_ACTION_COUNT) would need IAM users, roles and policies behind every call of
   * this file's server, with the base keys replaced by an IAM user's.
   */
  async function refusing(commands: Record<string, { name: string; status: number }>): Promise<MotoClients> {
    const clients = await motoRoleClients(moto, ROLE_ARN);
    for (const client of [clients.s3, clients.sqs, clients.eb] as { middlewareStack: { add: Function } }[]) {
      client.middlewareStack.add(
        (next: (args: unknown) => Promise<unknown>, context: { commandName: string }) => async (args: unknown) => {
          const refusal = commands[context.commandName];
          if (!refusal) return next(args);
          throw Object.assign(new Error('User is not authorized to perform this action'), {
            name: refusal.name,
            $metadata: { httpStatusCode: refusal.status },
          });
        },
        { step: 'initialize', name: 'refuseForTest' },
      );
    }
    return clients;
  }
  const SQS_DENIED = { name: 'AccessDenied', status: 403 };
  const EVENTS_DENIED = { name: 'AccessDeniedException', status: 400 };
  const S3_DENIED = { name: 'AccessDenied', status: 403 };

  it('the probe of the event actions finds none missing on moto, and names each read it is refused', async () => {
    const target = { workspace: 'ws', connection: 'probe', dataSource: 'ds', bucket: 'landing' };
    assert.deepEqual(await deniedEventReads(aws, target), []);
    const noQueue = await refusing({ GetQueueUrlCommand: SQS_DENIED, DescribeRuleCommand: EVENTS_DENIED });
    try {
      assert.deepEqual(await deniedEventReads(noQueue, target), ['sqs:GetQueueUrl', 'events:DescribeRule']);
    } finally {
      noQueue.destroy();
    }
    await ensureIntakeQueue(aws.sqs, 'ws', 'probe');
    const queueThere = await refusing({
      GetQueueAttributesCommand: SQS_DENIED,
      ListQueueTagsCommand: SQS_DENIED,
      GetBucketNotificationConfigurationCommand: S3_DENIED,
      ListTargetsByRuleCommand: EVENTS_DENIED,
    });
    try {
      assert.deepEqual(await deniedEventReads(queueThere, target), [
        'sqs:GetQueueAttributes',
        'sqs:ListQueueTags',
        's3:GetBucketNotification',
        'events:ListTargetsByRule',
      ]);
    } finally {
      queueThere.destroy();
      await deleteIntakeQueue(aws.sqs, 'ws', 'probe');
    }
  });

  it('wiring a data source whose role lacks an event action names it, creates nothing, and says the data source polls', async () => {
    const clients = await refusing({ DescribeRuleCommand: EVENTS_DENIED });
    const cache = {
      clientFor: () => clients.s3,
      sqsFor: () => clients.sqs,
      eventBridgeFor: () => clients.eb,
    } as unknown as S3ClientCache;
    const workspace = { ...loadWorkspaceConfig(dir, {}), events: { intake: 'queue' as const } };
    const conn = { name: 'denied', region: 'us-east-1', endpoint: moto.endpoint } as ConnectionDef;
    const ds = {
      name: 'q',
      import: { connectionName: 'denied', bucketUri: 's3://landing/in/*.csv', schedule: { kind: 'auto' } },
    } as DataSourceDef;
    try {
      const before = (await aws.sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [];
      const line = await wireDataSource(ds, conn, { workspace, s3: cache });
      assert.equal(
        line,
        `events: could not turn on notifications for s3://landing/in/ (EventActionsDeniedError: events:DescribeRule denied; ` +
          `the access policy must allow it (its optional event block, docs/events-aws.md); nothing was wired); q is polling every ${workspace.pollIntervalSeconds}s`,
      );
      assert.deepEqual((await aws.sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [], before);
      await assert.rejects(aws.eb.send(new DescribeRuleCommand({ Name: eventRuleName(workspace.workspace, 'q') })), {
        name: 'ResourceNotFoundException',
      });
    } finally {
      clients.destroy();
    }
  });
});
