/**
 * Bucket notification wiring (R9.1) against aws-sdk-client-mock: the
 * read-merge-write of the bucket's notification configuration keeps the
 * owner's other configurations exactly, is idempotent, and the EventBridge
 * rule, connection, API destination and target are created, updated and
 * removed as expected.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  DeleteApiDestinationCommand,
  DeleteConnectionCommand,
  DeleteRuleCommand,
  DescribeApiDestinationCommand,
  DescribeConnectionCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
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
  removeEventRule,
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

  it('creates the connection, API destination, rule and target when none exists', async () => {
    ebMock.on(DescribeConnectionCommand).rejects(notFound('no connection'));
    ebMock.on(CreateConnectionCommand).resolves({ ConnectionArn: 'arn:conn' });
    ebMock.on(DescribeApiDestinationCommand).rejects(notFound('no destination'));
    ebMock.on(CreateApiDestinationCommand).resolves({ ApiDestinationArn: 'arn:dest' });
    ebMock.on(PutRuleCommand).resolves({ RuleArn: 'arn:rule' });
    ebMock.on(PutTargetsCommand).resolves({ FailedEntryCount: 0 });
    const result = await ensureEventRule(new EventBridgeClient({ region: 'us-east-1' }), options);
    assert.deepEqual(result, { ruleArn: 'arn:rule', connectionArn: 'arn:conn', apiDestinationArn: 'arn:dest' });

    const conn = ebMock.commandCalls(CreateConnectionCommand)[0]!.args[0].input;
    assert.equal(conn.Name, name);
    assert.equal(conn.AuthorizationType, 'API_KEY');
    assert.deepEqual(conn.AuthParameters, {
      ApiKeyAuthParameters: { ApiKeyName: 'Authorization', ApiKeyValue: 'Bearer tok-123' },
    });
    const dest = ebMock.commandCalls(CreateApiDestinationCommand)[0]!.args[0].input;
    assert.deepEqual(
      [dest.Name, dest.ConnectionArn, dest.InvocationEndpoint, dest.HttpMethod],
      [name, 'arn:conn', 'https://s3c.example.com/v0/events/s3', 'POST'],
    );
    const rule = ebMock.commandCalls(PutRuleCommand)[0]!.args[0].input;
    assert.equal(rule.Name, name);
    assert.equal(rule.State, 'ENABLED');
    assert.deepEqual(JSON.parse(rule.EventPattern!), eventPattern('landing', 'events/'));
    assert.deepEqual(ebMock.commandCalls(PutTargetsCommand)[0]!.args[0].input, {
      Rule: name,
      EventBusName: undefined,
      Targets: [{ Id: EVENT_TARGET_ID, Arn: 'arn:dest', RoleArn: 'arn:aws:iam::111122223333:role/s3c-invoke' }],
    });
    assert.equal(ebMock.commandCalls(UpdateConnectionCommand).length, 0);
    assert.equal(ebMock.commandCalls(UpdateApiDestinationCommand).length, 0);
  });

  it('is idempotent: existing pieces are updated, never created twice', async () => {
    ebMock.on(DescribeConnectionCommand).resolves({ ConnectionArn: 'arn:conn', Name: name });
    ebMock.on(UpdateConnectionCommand).resolves({ ConnectionArn: 'arn:conn' });
    ebMock.on(DescribeApiDestinationCommand).resolves({ ApiDestinationArn: 'arn:dest', Name: name });
    ebMock.on(UpdateApiDestinationCommand).resolves({ ApiDestinationArn: 'arn:dest' });
    ebMock.on(PutRuleCommand).resolves({ RuleArn: 'arn:rule' });
    ebMock.on(PutTargetsCommand).resolves({ FailedEntryCount: 0 });
    const eb = new EventBridgeClient({ region: 'us-east-1' });
    const first = await ensureEventRule(eb, options);
    const second = await ensureEventRule(eb, { ...options, token: 'rotated' });
    assert.deepEqual(first, second);
    assert.equal(ebMock.commandCalls(CreateConnectionCommand).length, 0);
    assert.equal(ebMock.commandCalls(CreateApiDestinationCommand).length, 0);
    const updates = ebMock
      .commandCalls(UpdateConnectionCommand)
      .map((c) => c.args[0].input.AuthParameters?.ApiKeyAuthParameters?.ApiKeyValue);
    assert.deepEqual(updates, ['Bearer tok-123', 'Bearer rotated']);
    assert.equal(ebMock.commandCalls(PutTargetsCommand).length, 2);
  });

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

  it('removal deletes our target, the rule, the API destination and the connection', async () => {
    ebMock.on(ListTargetsByRuleCommand).resolves({ Targets: [{ Id: EVENT_TARGET_ID, Arn: 'arn:dest' }] });
    ebMock.on(RemoveTargetsCommand).resolves({ FailedEntryCount: 0 });
    ebMock.on(DeleteRuleCommand).resolves({});
    ebMock.on(DeleteApiDestinationCommand).resolves({});
    ebMock.on(DeleteConnectionCommand).resolves({});
    const result = await removeEventRule(new EventBridgeClient({ region: 'us-east-1' }), {
      workspace: 'local',
      dataSource: 'events',
    });
    assert.deepEqual(result, { removed: ['target', 'rule', 'api destination', 'connection'], kept: [] });
    assert.deepEqual(ebMock.commandCalls(RemoveTargetsCommand)[0]!.args[0].input.Ids, [EVENT_TARGET_ID]);
    assert.equal(ebMock.commandCalls(DeleteRuleCommand)[0]!.args[0].input.Name, name);
    assert.equal(ebMock.commandCalls(DeleteApiDestinationCommand)[0]!.args[0].input.Name, name);
    assert.equal(ebMock.commandCalls(DeleteConnectionCommand)[0]!.args[0].input.Name, name);
  });

  it('removal keeps a rule that carries targets s3c did not create, and is idempotent', async () => {
    ebMock.on(ListTargetsByRuleCommand).resolves({
      Targets: [
        { Id: EVENT_TARGET_ID, Arn: 'arn:dest' },
        { Id: 'owner', Arn: 'arn:owner' },
      ],
    });
    ebMock.on(RemoveTargetsCommand).resolves({ FailedEntryCount: 0 });
    ebMock.on(DeleteApiDestinationCommand).resolves({});
    ebMock.on(DeleteConnectionCommand).resolves({});
    const eb = new EventBridgeClient({ region: 'us-east-1' });
    const result = await removeEventRule(eb, { workspace: 'local', dataSource: 'events' });
    assert.deepEqual(result.kept, ['rule (1 target(s) not created by s3c)']);
    assert.equal(ebMock.commandCalls(DeleteRuleCommand).length, 0);

    ebMock.reset();
    ebMock.on(ListTargetsByRuleCommand).rejects(notFound('no rule'));
    ebMock.on(DeleteApiDestinationCommand).rejects(notFound('no destination'));
    ebMock.on(DeleteConnectionCommand).rejects(notFound('no connection'));
    assert.deepEqual(await removeEventRule(eb, { workspace: 'local', dataSource: 'events' }), {
      removed: [],
      kept: [],
    });
    assert.equal(ebMock.commandCalls(DeleteRuleCommand).length, 0);
  });

  it('never touches the bucket’s notification configuration', async () => {
    s3Mock.reset();
    ebMock.on(ListTargetsByRuleCommand).resolves({ Targets: [] });
    ebMock.on(DeleteRuleCommand).resolves({});
    ebMock.on(DeleteApiDestinationCommand).resolves({});
    ebMock.on(DeleteConnectionCommand).resolves({});
    await removeEventRule(new EventBridgeClient({ region: 'us-east-1' }), { workspace: 'local', dataSource: 'events' });
    assert.equal(s3Mock.calls().length, 0);
  });
});
