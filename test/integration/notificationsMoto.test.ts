/**
 * The HTTP push path's AWS pieces (R9.1, src/aws/notifications.ts) on the
 * emulator moto, in place of recorded mock responses (issue 22): the
 * EventBridge connection, API destination, rule and target are created once,
 * updated in place, and removed, keeping a rule that carries someone else's
 * target; removal never touches the bucket's notification configuration, and
 * enableEventBridge writes back the owner's topic, queue and Lambda
 * configurations unchanged.
 *
 * What moto cannot show stays on mocks in test/unit/notifications.test.ts,
 * each with the reason.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DescribeApiDestinationCommand,
  DescribeConnectionCommand,
  DescribeRuleCommand,
  ListApiDestinationsCommand,
  ListConnectionsCommand,
  ListTargetsByRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  DeleteRuleCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateBucketCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import {
  enableEventBridge,
  ensureEventRule,
  eventPattern,
  EVENT_TARGET_ID,
  removeEventRule,
} from '../../src/aws/notifications';
import { MOTO_OWNER_ROLE_ARN, motoRoleClients, startMoto, type MotoClients, type MotoServer } from '../helpers/moto';

const BUCKET = 'push-landing';

describe('push path AWS pieces on moto', () => {
  const dir = mkdtempSync(join(tmpdir(), 's3c-moto-push-'));
  let moto: MotoServer;
  let aws: MotoClients;
  const options = {
    workspace: 'local',
    dataSource: 'events',
    bucket: BUCKET,
    prefix: 'events/',
    endpointUrl: 'https://s3c.example.com/v0/events/s3',
    token: 'tok-123',
    invokeRoleArn: 'arn:aws:iam::111122223333:role/s3c-invoke',
  };
  const name = 's3c-local-events';

  before(async () => {
    moto = await startMoto({ stateDir: dir });
    aws = await motoRoleClients(moto, MOTO_OWNER_ROLE_ARN);
    await aws.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    aws?.destroy();
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function notifications(): Promise<string> {
    const { $metadata: _, ...config } = await aws.s3.send(
      new GetBucketNotificationConfigurationCommand({ Bucket: BUCKET }),
    );
    return JSON.stringify(config);
  }

  it("enableEventBridge writes back the owner's topic, queue and Lambda configurations unchanged", async () => {
    const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: 'owner' }));
    const queueArn = (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] })))
      .Attributes!.QueueArn!;
    await aws.s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: BUCKET,
        NotificationConfiguration: {
          TopicConfigurations: [
            { Id: 'owner-topic', TopicArn: 'arn:aws:sns:us-east-1:111122223333:owner', Events: ['s3:ObjectRemoved:*'] },
          ],
          QueueConfigurations: [
            {
              Id: 'owner-queue',
              QueueArn: queueArn,
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'suffix', Value: '.jpg' }] } },
            },
          ],
          LambdaFunctionConfigurations: [
            {
              Id: 'owner-lambda',
              LambdaFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:thumbs',
              Events: ['s3:ObjectCreated:Put'],
            },
          ],
        },
        SkipDestinationValidation: true,
      }),
    );
    const owners = await notifications();
    // moto never returns EventBridgeConfiguration, so enable writes each time (docs/events-aws.md): changed.
    assert.deepEqual(await enableEventBridge(aws.s3, BUCKET), { changed: true });
    assert.equal(await notifications(), owners);
  });

  it('creates the connection, API destination, rule and target when none exists', async () => {
    const result = await ensureEventRule(aws.eb, options);
    const conn = await aws.eb.send(new DescribeConnectionCommand({ Name: name }));
    assert.equal(conn.ConnectionArn, result.connectionArn);
    assert.equal(conn.AuthorizationType, 'API_KEY');
    // Neither AWS nor moto returns the key's value; the mock test checks the value written.
    assert.deepEqual(conn.AuthParameters?.ApiKeyAuthParameters?.ApiKeyName, 'Authorization');
    const dest = await aws.eb.send(new DescribeApiDestinationCommand({ Name: name }));
    assert.deepEqual(
      [dest.ApiDestinationArn, dest.ConnectionArn, dest.InvocationEndpoint, dest.HttpMethod],
      [result.apiDestinationArn, result.connectionArn, 'https://s3c.example.com/v0/events/s3', 'POST'],
    );
    const rule = await aws.eb.send(new DescribeRuleCommand({ Name: name }));
    assert.equal(rule.Arn, result.ruleArn);
    assert.equal(rule.State, 'ENABLED');
    assert.deepEqual(JSON.parse(rule.EventPattern!), eventPattern(BUCKET, 'events/'));
    const targets = (await aws.eb.send(new ListTargetsByRuleCommand({ Rule: name }))).Targets ?? [];
    assert.deepEqual(
      targets.map((t) => [t.Id, t.Arn, t.RoleArn]),
      [[EVENT_TARGET_ID, result.apiDestinationArn, options.invokeRoleArn]],
    );
  });

  it('is idempotent: existing pieces are updated, never created twice', async () => {
    const first = await ensureEventRule(aws.eb, options);
    const second = await ensureEventRule(aws.eb, { ...options, token: 'rotated' });
    assert.deepEqual(first, second);
    const connections = (await aws.eb.send(new ListConnectionsCommand({ NamePrefix: 's3c-' }))).Connections ?? [];
    assert.deepEqual(
      connections.map((c) => c.Name),
      [name],
    );
    const destinations =
      (await aws.eb.send(new ListApiDestinationsCommand({ NamePrefix: 's3c-' }))).ApiDestinations ?? [];
    assert.deepEqual(
      destinations.map((d) => d.Name),
      [name],
    );
    assert.equal(((await aws.eb.send(new ListTargetsByRuleCommand({ Rule: name }))).Targets ?? []).length, 1);
  });

  it('removal deletes our target, the rule, the API destination and the connection, and never touches the bucket', async () => {
    const before = await notifications();
    const result = await removeEventRule(aws.eb, { workspace: 'local', dataSource: 'events' });
    assert.deepEqual(result, { removed: ['target', 'rule', 'api destination', 'connection'], kept: [] });
    for (const describe of [
      () => aws.eb.send(new DescribeRuleCommand({ Name: name })),
      () => aws.eb.send(new DescribeApiDestinationCommand({ Name: name })),
      () => aws.eb.send(new DescribeConnectionCommand({ Name: name })),
    ])
      await assert.rejects(describe(), { name: 'ResourceNotFoundException' });
    assert.equal(await notifications(), before);
  });

  it('removal keeps a rule that carries targets s3c did not create, and is idempotent', async () => {
    const { apiDestinationArn } = await ensureEventRule(aws.eb, options);
    await aws.eb.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: 'owner', Arn: apiDestinationArn }] }));
    const result = await removeEventRule(aws.eb, { workspace: 'local', dataSource: 'events' });
    assert.deepEqual(result.kept, ['rule (1 target(s) not created by s3c)']);
    assert.deepEqual(
      ((await aws.eb.send(new ListTargetsByRuleCommand({ Rule: name }))).Targets ?? []).map((t) => t.Id),
      ['owner'],
    );
    // The owner removes theirs; removing again finds nothing of ours.
    await aws.eb.send(new RemoveTargetsCommand({ Rule: name, Ids: ['owner'] }));
    await aws.eb.send(new DeleteRuleCommand({ Name: name }));
    assert.deepEqual(await removeEventRule(aws.eb, { workspace: 'local', dataSource: 'events' }), {
      removed: [],
      kept: [],
    });
  });
});
