/**
 * Feasibility of issue 22 on the AWS emulator moto (server mode, real HTTP):
 * a role assumed with STS acts in the bucket owner's account; our bucket
 * notification wiring (read-merge-write) keeps the owner's queue
 * configuration; an EventBridge rule on `eventPattern(bucket, 'in/')` delivers
 * exactly the in-prefix creations to an SQS queue, also in a burst; a
 * dead-letter queue takes what is received too often. What moto does not do
 * (API destination delivery, queue policies, trust policies) is pinned here
 * too, so that a moto upgrade that changes it shows up.
 *
 * The product's parser is fed what moto sends, to show where moto's event
 * differs from AWS's (`eTag` instead of `etag`, which the parser accepts too).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ListTargetsByRuleCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketNotificationConfigurationCommand,
  ListBucketsCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { S3ClientCache } from '../../src/aws/credentials';
import { enableEventBridge, ensureEventRule, eventPattern, removeEventRule } from '../../src/aws/notifications';
import type { ConnectionDef } from '../../src/datafiles/types';
import { parseS3Events } from '../../src/events/parse';
import {
  MOTO_REGION,
  motoBaseCredentials,
  motoClients,
  startMoto,
  type MotoClients,
  type MotoServer,
} from '../helpers/moto';

/** The customer's account, where the bucket lives; moto's own default account is 123456789012. */
const OWNER_ACCOUNT = '111122223333';
const ROLE_ARN = `arn:aws:iam::${OWNER_ACCOUNT}:role/s3c-access`;
const EXTERNAL_ID = 'ext-id-of-the-connection';

/** Assumes `ROLE_ARN` on moto with the machine's (base) credentials. */
async function assumeRole(moto: MotoServer, externalId?: string): Promise<AwsCredentialIdentity> {
  const sts = new STSClient({ region: MOTO_REGION, endpoint: moto.endpoint, credentials: motoBaseCredentials });
  try {
    const out = await sts.send(
      new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 's3c-test', ExternalId: externalId }),
    );
    const c = out.Credentials;
    assert.ok(c?.AccessKeyId && c.SecretAccessKey && c.SessionToken, 'AssumeRole returned no credentials');
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  } finally {
    sts.destroy();
  }
}

/** Creates a queue that the rule `ruleArn` may send to (the policy AWS needs; moto does not check it). */
async function ruleQueue(
  aws: MotoClients,
  name: string,
  ruleArn?: string,
  attributes: Record<string, string> = {},
): Promise<{ url: string; arn: string }> {
  const { QueueUrl: url } = await aws.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  assert.ok(url);
  const got = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = got.Attributes?.QueueArn;
  assert.ok(arn);
  if (ruleArn) {
    const statement = {
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: arn,
      Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
    };
    await aws.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: url,
        Attributes: { Policy: JSON.stringify({ Version: '2012-10-17', Statement: [statement] }) },
      }),
    );
  }
  return { url, arn };
}

/** Wires bucket → EventBridge → a new queue for `prefix`, with our pattern; returns the queue. */
async function wireToQueue(
  aws: MotoClients,
  bucket: string,
  prefix: string,
): Promise<{ url: string; arn: string; ruleArn: string }> {
  await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await enableEventBridge(aws.s3, bucket);
  const ruleName = `s3c-${bucket}`;
  const rule = await aws.eb.send(
    new PutRuleCommand({
      Name: ruleName,
      EventPattern: JSON.stringify(eventPattern(bucket, prefix)),
      State: 'ENABLED',
    }),
  );
  assert.ok(rule.RuleArn);
  const queue = await ruleQueue(aws, `q-${bucket}`, rule.RuleArn);
  const targets = await aws.eb.send(
    new PutTargetsCommand({ Rule: ruleName, Targets: [{ Id: 'queue', Arn: queue.arn }] }),
  );
  assert.equal(targets.FailedEntryCount ?? 0, 0);
  return { ...queue, ruleArn: rule.RuleArn };
}

/** Long-polls until `expected` messages came or `quietMs` passed with none; deletes each after reading it. */
async function drain(aws: MotoClients, url: string, expected: number, quietMs = 3000): Promise<Message[]> {
  const got: Message[] = [];
  let lastNew = Date.now();
  while (got.length < expected || Date.now() - lastNew < 1000) {
    if (Date.now() - lastNew > quietMs) break;
    const out = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) continue;
    lastNew = Date.now();
    got.push(...messages);
    // Processed: deleted only now, as the intake will after the signal was accepted.
    const entries = messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle }));
    const deleted = await aws.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries }));
    assert.equal(deleted.Failed?.length ?? 0, 0);
  }
  return got;
}

function detailOf(message: Message): { bucket: { name: string }; object: Record<string, unknown> } {
  return (JSON.parse(message.Body ?? '{}') as { detail: { bucket: { name: string }; object: Record<string, unknown> } })
    .detail;
}

async function queueDepth(aws: MotoClients, url: string): Promise<number> {
  const out = await aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

describe('moto: S3 → EventBridge → SQS in the bucket owner account', () => {
  const dir = mkdtempSync(join(tmpdir(), 's3c-moto-'));
  let moto: MotoServer;
  let aws: MotoClients;

  before(async () => {
    moto = await startMoto({ stateDir: dir });
    aws = motoClients(moto, await assumeRole(moto, EXTERNAL_ID));
  });
  after(async () => {
    aws?.destroy();
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('STS AssumeRole gives credentials that act in the account of the role ARN (no IAM role needed)', async () => {
    await aws.s3.send(new CreateBucketCommand({ Bucket: 'owner-only' }));
    const base = motoClients(moto, motoBaseCredentials);
    try {
      const mine = await aws.s3.send(new ListBucketsCommand({}));
      const theirs = await base.s3.send(new ListBucketsCommand({}));
      assert.ok(mine.Buckets?.some((b) => b.Name === 'owner-only'));
      assert.ok(
        !theirs.Buckets?.some((b) => b.Name === 'owner-only'),
        'the base account must not see the owner account bucket',
      );
    } finally {
      base.destroy();
    }
  });

  it('moto evaluates no trust policy: the role is assumed without the external id too', async () => {
    // So deploy's confused-deputy check (roleAssumableWithoutExternalId) would refuse every role on moto.
    const creds = await assumeRole(moto);
    assert.ok(creds.accessKeyId);
  });

  it("the product's S3ClientCache assumes the role through S3_ENDPOINT and reaches the owner's bucket", async () => {
    const conn: ConnectionDef = {
      name: 'aws',
      path: 'aws.connection',
      type: 's3',
      region: MOTO_REGION,
      endpoint: moto.endpoint,
      roleArn: ROLE_ARN,
    };
    const cache = new S3ClientCache({ externalId: () => EXTERNAL_ID, baseCredentials: motoBaseCredentials });
    try {
      const listed = await cache.clientFor(conn).send(new ListBucketsCommand({}));
      assert.ok(listed.Buckets?.some((b) => b.Name === 'owner-only'));
    } finally {
      cache.destroy();
    }
  });

  it("enableEventBridge keeps the owner's queue configuration identical (moto does not read EventBridge back)", async () => {
    const bucket = 'with-owner-queue';
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const owners = await ruleQueue(aws, 'owners-queue');
    const queueConfig = {
      Id: 'owners-config',
      QueueArn: owners.arn,
      Events: ['s3:ObjectCreated:*' as const, 's3:ObjectRemoved:Delete' as const],
      Filter: {
        Key: {
          FilterRules: [
            { Name: 'prefix' as const, Value: 'logs/' },
            { Name: 'suffix' as const, Value: '.gz' },
          ],
        },
      },
    };
    await aws.s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: { QueueConfigurations: [queueConfig] },
      }),
    );
    const before = await aws.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.deepEqual(before.QueueConfigurations, [queueConfig], 'moto round-trips the queue configuration as written');

    assert.deepEqual(await enableEventBridge(aws.s3, bucket), { changed: true });
    const afterWrite = await aws.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.equal(JSON.stringify(afterWrite.QueueConfigurations), JSON.stringify(before.QueueConfigurations));
    // moto gap: its GetBucketNotificationConfiguration never returns EventBridgeConfiguration (AWS returns
    // `<EventBridgeConfiguration/>`), so our read-merge-write cannot see its own write and writes again.
    assert.equal(afterWrite.EventBridgeConfiguration, undefined);
    assert.deepEqual(await enableEventBridge(aws.s3, bucket), { changed: true });
    const afterSecond = await aws.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.equal(JSON.stringify(afterSecond.QueueConfigurations), JSON.stringify(before.QueueConfigurations));

    // The owner's queue still gets its S3 records next to EventBridge, after an `s3:TestEvent` for each of the three
    // writes (moto sends one per write, SkipDestinationValidation or not). Record keys are form-encoded, `/` included.
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'logs/a b+c.gz', Body: 'x' }));
    const bodies = (await drain(aws, owners.url, 4)).map(
      (m) => JSON.parse(m.Body!) as { Event?: string; Records?: { s3: { object: { key: string } } }[] },
    );
    assert.deepEqual(
      bodies.map((b) => b.Event ?? 'Records'),
      ['s3:TestEvent', 's3:TestEvent', 's3:TestEvent', 'Records'],
    );
    assert.equal(bodies[3]!.Records![0]!.s3.object.key, 'logs%2Fa+b%2Bc.gz');
    assert.deepEqual(
      parseS3Events(bodies).objects.map((o) => o.key),
      ['logs/a b+c.gz'],
    );
  });

  it('the rule delivers exactly the in-prefix creations to the queue, keys not URL-encoded', async () => {
    const bucket = 'events';
    const queue = await wireToQueue(aws, bucket, 'in/');
    const inside = [
      'in/with space.csv',
      'in/plus+sign.csv',
      'in/per%25cent%.csv',
      'in/ünïcødé €/日本.csv',
      'in/sub/deep.ndjson',
    ];
    const outside = ['out/x.csv', 'inx.csv', 'IN/upper.csv'];
    for (const key of [...inside, ...outside])
      await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }));

    const messages = await drain(aws, queue.url, inside.length);
    const details = messages.map(detailOf);
    assert.deepEqual(details.map((d) => d.object.key).sort(), [...inside].sort());
    assert.ok(details.every((d) => d.bucket.name === bucket));
    assert.equal(await queueDepth(aws, queue.url), 0, 'every message was deleted after processing');

    const event = JSON.parse(messages[0]!.Body!) as Record<string, unknown>;
    assert.equal(event.source, 'aws.s3');
    assert.equal(event['detail-type'], 'Object Created');
    assert.equal(event.account, OWNER_ACCOUNT);
    assert.match(String(event.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // moto differs from AWS here: `eTag` (AWS: `etag`), and one fixed sequencer and event id for every event.
    assert.equal(new Set(messages.map((m) => (JSON.parse(m.Body!) as { id: string }).id)).size, 1);
    const object = details[0]!.object;
    assert.equal(typeof object.eTag, 'string');
    assert.equal(object.etag, undefined);
    assert.equal(object.sequencer, '617f08299329d189');
    const parsed = parseS3Events(messages.map((m) => JSON.parse(m.Body!) as unknown));
    assert.deepEqual(parsed.invalid, [], 'our parser reads `eTag` as well as `etag`');
    assert.deepEqual(parsed.objects.map((o) => o.key).sort(), [...inside].sort());
    assert.ok(parsed.objects.every((o) => /^[0-9a-f]{32}$/.test(o.etag)));
  });

  it('an overwrite is a second event with the new ETag; a delete matches no Object Created rule', async () => {
    const bucket = 'overwrite';
    const queue = await wireToQueue(aws, bucket, 'in/');
    const first = await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/a.csv', Body: 'one' }));
    const second = await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/a.csv', Body: 'two!' }));
    await aws.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'in/a.csv' }));
    const objects = (await drain(aws, queue.url, 2)).map((m) => detailOf(m).object);
    assert.deepEqual(
      objects.map((o) => [o.key, `"${String(o.eTag)}"`, o.size]),
      [
        ['in/a.csv', first.ETag, 3],
        ['in/a.csv', second.ETag, 4],
      ],
    );
  });

  it('a burst of 100 objects: each creation arrives once', async () => {
    const bucket = 'burst';
    const queue = await wireToQueue(aws, bucket, 'in/');
    const keys = Array.from({ length: 100 }, (_, i) => `in/file-${String(i).padStart(3, '0')}.csv`);
    for (let i = 0; i < keys.length; i += 10) {
      await Promise.all(
        keys.slice(i, i + 10).map((key) => aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }))),
      );
    }
    const messages = await drain(aws, queue.url, keys.length);
    const got = messages.map((m) => String(detailOf(m).object.key));
    assert.equal(got.length, 100);
    assert.deepEqual([...new Set(got)].sort(), keys);
  });

  it('a dead-letter queue takes a message after maxReceiveCount receives without a delete', async () => {
    const dlq = await ruleQueue(aws, 'dead-letters');
    const redrive = JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 });
    const main = await ruleQueue(aws, 'with-dlq', undefined, {
      RedrivePolicy: redrive,
      VisibilityTimeout: '1',
      MessageRetentionPeriod: '1209600',
    });
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: main.url, MessageBody: 'poison' }));
    for (let receive = 1; receive <= 2; receive++) {
      const out = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: main.url, WaitTimeSeconds: 2 }));
      assert.equal(out.Messages?.length, 1, `receive ${receive}`);
      await sleep(1200);
    }
    const third = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: main.url, WaitTimeSeconds: 1 }));
    assert.equal(third.Messages?.length ?? 0, 0);
    const dead = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.url, WaitTimeSeconds: 1 }));
    assert.equal(dead.Messages?.[0]?.Body, 'poison');
  });

  it('moto does not check the queue policy: a queue without one receives the rule events too', async () => {
    const bucket = 'no-policy';
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await enableEventBridge(aws.s3, bucket);
    await aws.eb.send(
      new PutRuleCommand({ Name: 'no-policy', EventPattern: JSON.stringify(eventPattern(bucket, '')) }),
    );
    const queue = await ruleQueue(aws, 'no-policy-queue');
    await aws.eb.send(
      new PutTargetsCommand({
        Rule: 'no-policy',
        Targets: [
          {
            Id: 'q',
            Arn: queue.arn,
            DeadLetterConfig: { Arn: queue.arn },
            RetryPolicy: { MaximumEventAgeInSeconds: 3600 },
          },
        ],
      }),
    );
    const listed = await aws.eb.send(new ListTargetsByRuleCommand({ Rule: 'no-policy' }));
    assert.deepEqual(
      listed.Targets?.[0]?.DeadLetterConfig,
      { Arn: queue.arn },
      'the target DLQ setting is stored (never used: moto delivers at once)',
    );
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a.csv', Body: 'a' }));
    assert.equal((await drain(aws, queue.url, 1)).length, 1);
  });

  it('connections and API destinations: our ensure/remove run on moto, but moto delivers nothing to the endpoint', async () => {
    let requests = 0;
    const endpoint = createServer((_req, res) => {
      requests++;
      res.end('ok');
    });
    await new Promise<void>((resolveListen) => endpoint.listen(0, '127.0.0.1', resolveListen));
    const port = (endpoint.address() as { port: number }).port;
    try {
      const bucket = 'push';
      await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await enableEventBridge(aws.s3, bucket);
      const options = {
        workspace: 'ws',
        dataSource: 'ds',
        bucket,
        prefix: '',
        endpointUrl: `http://127.0.0.1:${port}/v0/events/s3`,
        token: 'tok',
        invokeRoleArn: `arn:aws:iam::${OWNER_ACCOUNT}:role/invoke`,
      };
      const first = await ensureEventRule(aws.eb, options);
      const again = await ensureEventRule(aws.eb, options);
      assert.equal(again.apiDestinationArn, first.apiDestinationArn);
      assert.equal(again.connectionArn, first.connectionArn);
      await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a.csv', Body: 'a' }));
      await sleep(500);
      // moto calls an API destination only with MOTO_EVENTS_INVOKE_HTTP=true, and then without the event body or the connection's auth header.
      assert.equal(requests, 0);
      const removed = await removeEventRule(aws.eb, { workspace: 'ws', dataSource: 'ds' });
      assert.deepEqual(removed, { removed: ['target', 'rule', 'api destination', 'connection'], kept: [] });
    } finally {
      await new Promise((resolveClose) => endpoint.close(resolveClose));
    }
  });
});
