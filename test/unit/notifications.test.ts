/**
 * Bucket notification wiring (R9.1) against aws-sdk-client-mock, where the
 * emulator moto cannot show the result (issue 22; each describe says why):
 * the exact EventBridge read-merge-write, the MinIO webhook's, the token of
 * the push path's connection and a refused target. The rest runs on moto:
 * test/integration/notificationsMoto.test.ts (push path), motoEvents and
 * queueIntakeAws (queue intake).
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  CreateConnectionCommand,
  DescribeApiDestinationCommand,
  DescribeConnectionCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  ResourceNotFoundException,
  UpdateApiDestinationCommand,
  UpdateConnectionCommand,
} from '@aws-sdk/client-eventbridge';
import {
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  S3Client,
  type QueueConfiguration,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import {
  disableEventBridge,
  disableMinioWebhook,
  enableEventBridge,
  enableMinioWebhook,
  ensureEventRule,
  eventPattern,
  eventRuleName,
  EVENT_TARGET_ID,
  minioConfigId,
} from '../../src/aws/notifications';

const s3Mock = mockClient(S3Client);
const ebMock = mockClient(EventBridgeClient);

const OWNER_CONFIG = {
  TopicConfigurations: [
    {
      Id: 'owner-topic',
      TopicArn: 'arn:aws:sns:us-east-1:111122223333:owner',
      Events: ['s3:ObjectRemoved:*' as const],
    },
  ],
  QueueConfigurations: [
    {
      Id: 'owner-queue',
      QueueArn: 'arn:aws:sqs:us-east-1:111122223333:owner',
      Events: ['s3:ObjectCreated:*' as const],
      Filter: { Key: { FilterRules: [{ Name: 'suffix' as const, Value: '.jpg' }] } },
    },
  ],
  LambdaFunctionConfigurations: [
    {
      Id: 'owner-lambda',
      LambdaFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:thumbs',
      Events: ['s3:ObjectCreated:Put' as const],
    },
  ],
};

function notFound(message: string): ResourceNotFoundException {
  return new ResourceNotFoundException({ message, $metadata: {} });
}

describe('enableEventBridge', () => {
  // A mock, not moto: moto's GetBucketNotificationConfiguration never returns EventBridgeConfiguration, so neither
  // the configuration written nor "already on, nothing written" shows there (docs/events-aws.md).
  beforeEach(() => s3Mock.reset());

  it('adds EventBridgeConfiguration and writes back every other configuration unchanged', async () => {
    s3Mock
      .on(GetBucketNotificationConfigurationCommand)
      .resolves({ ...OWNER_CONFIG, $metadata: { httpStatusCode: 200 } });
    s3Mock.on(PutBucketNotificationConfigurationCommand).resolves({});
    const result = await enableEventBridge(new S3Client({ region: 'us-east-1' }), 'landing');
    assert.deepEqual(result, { changed: true });
    const puts = s3Mock.commandCalls(PutBucketNotificationConfigurationCommand);
    assert.equal(puts.length, 1);
    assert.deepEqual(puts[0]!.args[0].input, {
      Bucket: 'landing',
      NotificationConfiguration: { ...OWNER_CONFIG, EventBridgeConfiguration: {} },
      SkipDestinationValidation: true,
    });
  });

  it('on a bucket without notifications writes only EventBridgeConfiguration', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({});
    s3Mock.on(PutBucketNotificationConfigurationCommand).resolves({});
    await enableEventBridge(new S3Client({ region: 'us-east-1' }), 'landing');
    assert.deepEqual(
      s3Mock.commandCalls(PutBucketNotificationConfigurationCommand)[0]!.args[0].input.NotificationConfiguration,
      {
        EventBridgeConfiguration: {},
      },
    );
  });

  it('is idempotent: nothing is written when EventBridge delivery is already on', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({ ...OWNER_CONFIG, EventBridgeConfiguration: {} });
    const result = await enableEventBridge(new S3Client({ region: 'us-east-1' }), 'landing');
    assert.deepEqual(result, { changed: false });
    assert.equal(s3Mock.commandCalls(PutBucketNotificationConfigurationCommand).length, 0);
  });
});

describe('disableEventBridge', () => {
  // A mock, not moto: moto's GetBucketNotificationConfiguration never returns EventBridgeConfiguration (docs/events-aws.md).
  beforeEach(() => s3Mock.reset());

  it('removes only EventBridgeConfiguration, writing back every other configuration unchanged', async () => {
    s3Mock
      .on(GetBucketNotificationConfigurationCommand)
      .resolves({ ...OWNER_CONFIG, EventBridgeConfiguration: {}, $metadata: { httpStatusCode: 200 } });
    s3Mock.on(PutBucketNotificationConfigurationCommand).resolves({});
    assert.deepEqual(await disableEventBridge(new S3Client({ region: 'us-east-1' }), 'landing'), { changed: true });
    const puts = s3Mock.commandCalls(PutBucketNotificationConfigurationCommand);
    assert.deepEqual(
      puts.map((p) => p.args[0].input),
      [{ Bucket: 'landing', NotificationConfiguration: OWNER_CONFIG, SkipDestinationValidation: true }],
    );
  });

  it('is idempotent: nothing is written when EventBridge delivery is off', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({ ...OWNER_CONFIG });
    assert.deepEqual(await disableEventBridge(new S3Client({ region: 'us-east-1' }), 'landing'), { changed: false });
    assert.equal(s3Mock.commandCalls(PutBucketNotificationConfigurationCommand).length, 0);
  });
});

describe('enableMinioWebhook / disableMinioWebhook', () => {
  // A mock, not moto: moto refuses MinIO's webhook ARN (arn:minio:sqs::S3C:webhook: "The ARN is not well formed");
  // MinIO itself delivers through it in test/integration/api.test.ts.
  beforeEach(() => s3Mock.reset());
  const id = minioConfigId('events/');
  const ours: QueueConfiguration = {
    Id: id,
    QueueArn: 'arn:minio:sqs::S3C:webhook',
    Events: ['s3:ObjectCreated:*'],
    Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'events/' }] } },
  };

  it('adds our queue configuration after the owner’s, keeping them', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves(OWNER_CONFIG);
    s3Mock.on(PutBucketNotificationConfigurationCommand).resolves({});
    assert.deepEqual(
      await enableMinioWebhook(new S3Client({ region: 'us-east-1' }), 'landing', { prefix: 'events/' }),
      { changed: true },
    );
    assert.deepEqual(s3Mock.commandCalls(PutBucketNotificationConfigurationCommand)[0]!.args[0].input, {
      Bucket: 'landing',
      NotificationConfiguration: { ...OWNER_CONFIG, QueueConfigurations: [...OWNER_CONFIG.QueueConfigurations, ours] },
    });
  });

  it('is idempotent, and updates our configuration in place when it differs', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({ QueueConfigurations: [ours] });
    assert.deepEqual(
      await enableMinioWebhook(new S3Client({ region: 'us-east-1' }), 'landing', { prefix: 'events/' }),
      { changed: false },
    );
    assert.equal(s3Mock.commandCalls(PutBucketNotificationConfigurationCommand).length, 0);

    s3Mock.reset();
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({
      QueueConfigurations: [{ ...ours, QueueArn: 'arn:minio:sqs::OLD:webhook' }, OWNER_CONFIG.QueueConfigurations[0]!],
    });
    s3Mock.on(PutBucketNotificationConfigurationCommand).resolves({});
    await enableMinioWebhook(new S3Client({ region: 'us-east-1' }), 'landing', { prefix: 'events/' });
    assert.deepEqual(
      s3Mock.commandCalls(PutBucketNotificationConfigurationCommand)[0]!.args[0].input.NotificationConfiguration,
      {
        QueueConfigurations: [ours, OWNER_CONFIG.QueueConfigurations[0]],
      },
    );
  });

  it('has no prefix filter for the whole bucket', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({});
    s3Mock.on(PutBucketNotificationConfigurationCommand).resolves({});
    await enableMinioWebhook(new S3Client({ region: 'us-east-1' }), 'landing', {
      prefix: '',
      queueArn: 'arn:minio:sqs::X:webhook',
    });
    assert.deepEqual(
      s3Mock.commandCalls(PutBucketNotificationConfigurationCommand)[0]!.args[0].input.NotificationConfiguration,
      {
        QueueConfigurations: [
          { Id: minioConfigId(''), QueueArn: 'arn:minio:sqs::X:webhook', Events: ['s3:ObjectCreated:*'] },
        ],
      },
    );
  });

  it('disable removes only ours, and is idempotent', async () => {
    s3Mock
      .on(GetBucketNotificationConfigurationCommand)
      .resolves({ ...OWNER_CONFIG, QueueConfigurations: [...OWNER_CONFIG.QueueConfigurations, ours] });
    s3Mock.on(PutBucketNotificationConfigurationCommand).resolves({});
    assert.deepEqual(
      await disableMinioWebhook(new S3Client({ region: 'us-east-1' }), 'landing', { prefix: 'events/' }),
      { changed: true },
    );
    assert.deepEqual(
      s3Mock.commandCalls(PutBucketNotificationConfigurationCommand)[0]!.args[0].input.NotificationConfiguration,
      OWNER_CONFIG,
    );

    s3Mock.reset();
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves(OWNER_CONFIG);
    assert.deepEqual(
      await disableMinioWebhook(new S3Client({ region: 'us-east-1' }), 'landing', { prefix: 'events/' }),
      { changed: false },
    );
    assert.equal(s3Mock.commandCalls(PutBucketNotificationConfigurationCommand).length, 0);
  });
});

describe('EventBridge rule', () => {
  beforeEach(() => ebMock.reset());
  const options = {
    workspace: 'local',
    dataSource: 'events',
    bucket: 'landing',
    prefix: 'events/',
    endpointUrl: 'https://s3c.example.com/v0/events/s3',
    token: 'tok-123',
    invokeRoleArn: 'arn:aws:iam::111122223333:role/s3c-invoke',
  };
  const name = 's3c-local-events';

  it('names everything s3c-<workspace>-<datasource>, within 64 characters', () => {
    assert.equal(eventRuleName('local', 'events'), name);
    const long = eventRuleName('workspace_with_a_long_name', 'a_data_source_with_a_really_long_name_too');
    assert.ok(long.length <= 64);
    assert.match(long, /^s3c-workspace_with_a_long_name-a_data_source/);
    assert.notEqual(long, eventRuleName('workspace_with_a_long_name', 'a_data_source_with_a_really_long_name_tooo'));
  });

  it('the pattern selects Object Created in the bucket under the prefix', () => {
    assert.deepEqual(eventPattern('landing', 'events/'), {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['landing'] }, object: { key: [{ prefix: 'events/' }] } },
    });
    assert.deepEqual(eventPattern('landing', ''), {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['landing'] } },
    });
  });

  // A mock, not moto: neither AWS nor moto returns the key's value (DescribeConnection), so only the
  // calls show the token written; the rest of creation, update and removal runs on moto
  // (test/integration/notificationsMoto.test.ts).
  it('writes the token as the connection API key on creation, and the rotated one on the next deploy', async () => {
    ebMock.on(DescribeConnectionCommand).rejectsOnce(notFound('no connection')).resolves({ ConnectionArn: 'arn:conn' });
    ebMock.on(CreateConnectionCommand).resolves({ ConnectionArn: 'arn:conn' });
    ebMock.on(UpdateConnectionCommand).resolves({ ConnectionArn: 'arn:conn' });
    ebMock.on(DescribeApiDestinationCommand).resolves({ ApiDestinationArn: 'arn:dest', Name: name });
    ebMock.on(UpdateApiDestinationCommand).resolves({ ApiDestinationArn: 'arn:dest' });
    ebMock.on(PutRuleCommand).resolves({ RuleArn: 'arn:rule' });
    ebMock.on(PutTargetsCommand).resolves({ FailedEntryCount: 0 });
    const eb = new EventBridgeClient({ region: 'us-east-1' });
    await ensureEventRule(eb, options);
    const conn = ebMock.commandCalls(CreateConnectionCommand)[0]!.args[0].input;
    assert.deepEqual(conn.AuthParameters, {
      ApiKeyAuthParameters: { ApiKeyName: 'Authorization', ApiKeyValue: 'Bearer tok-123' },
    });
    assert.equal(ebMock.commandCalls(UpdateConnectionCommand).length, 0);
    await ensureEventRule(eb, { ...options, token: 'rotated' });
    assert.equal(ebMock.commandCalls(CreateConnectionCommand).length, 1);
    const updates = ebMock
      .commandCalls(UpdateConnectionCommand)
      .map((c) => c.args[0].input.AuthParameters?.ApiKeyAuthParameters?.ApiKeyValue);
    assert.deepEqual(updates, ['Bearer rotated']);
  });

  // A mock: moto accepts any target (it checks no RoleArn), so a refused one cannot be produced there.
  it('fails clearly when the target is refused', async () => {
    ebMock.on(DescribeConnectionCommand).resolves({ ConnectionArn: 'arn:conn' });
    ebMock.on(UpdateConnectionCommand).resolves({ ConnectionArn: 'arn:conn' });
    ebMock.on(DescribeApiDestinationCommand).resolves({ ApiDestinationArn: 'arn:dest' });
    ebMock.on(UpdateApiDestinationCommand).resolves({ ApiDestinationArn: 'arn:dest' });
    ebMock.on(PutRuleCommand).resolves({ RuleArn: 'arn:rule' });
    ebMock.on(PutTargetsCommand).resolves({
      FailedEntryCount: 1,
      FailedEntries: [
        { TargetId: EVENT_TARGET_ID, ErrorCode: 'ValidationException', ErrorMessage: 'RoleArn is required' },
      ],
    });
    await assert.rejects(
      ensureEventRule(new EventBridgeClient({ region: 'us-east-1' }), options),
      /target s3c-event-endpoint was refused: ValidationException RoleArn is required/,
    );
  });
});
