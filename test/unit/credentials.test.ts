/**
 * The refresh rules of temporary credentials (R7.3), with a fake clock and a
 * fake STS: MinIO's shortest session is 15 minutes, too long for a test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { DescribeRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { assumeRoleProvider, AssumeRoleError, S3ClientCache } from '../../src/aws/credentials';
import type { ConnectionDef } from '../../src/datafiles/types';

const conn = { name: 'c', region: 'us-east-1', roleArn: 'arn:aws:iam::123456789012:role/r' } as ConnectionDef;

function fakeSts(clock: { now: number }, fail?: () => Error | undefined) {
  const calls: Record<string, unknown>[] = [];
  return {
    calls,
    sts: {
      send: async (command: AssumeRoleCommand) => {
        calls.push({ ...command.input });
        const err = fail?.();
        if (err) throw err;
        const n = calls.length;
        return {
          Credentials: {
            AccessKeyId: `AK${n}`,
            SecretAccessKey: `SK${n}`,
            SessionToken: `T${n}`,
            Expiration: new Date(clock.now + 3600_000),
          },
        };
      },
    } as never,
  };
}

describe('assumeRoleProvider', () => {
  it('assumes with the external id, caches, and refreshes 5 minutes before expiry', async () => {
    const clock = { now: Date.parse('2024-01-01T00:00:00Z') };
    const { calls, sts } = fakeSts(clock);
    const provider = assumeRoleProvider(conn, { externalId: (name) => `ext-${name}`, now: () => clock.now, sts });
    assert.equal((await provider()).sessionToken, 'T1');
    clock.now += 54 * 60_000;
    assert.equal((await provider()).sessionToken, 'T1', 'still fresh 6 minutes before expiry');
    clock.now += 2 * 60_000;
    assert.equal((await provider()).sessionToken, 'T2', 'renewed 4 minutes before expiry');
    assert.equal(calls.length, 2);
    for (const c of calls) {
      assert.equal(c.ExternalId, 'ext-c');
      assert.equal(c.RoleArn, conn.roleArn);
    }
    assert.equal(provider.memoized, true, 'the SDK must call it for every request');
    provider.invalidate();
    assert.equal((await provider()).sessionToken, 'T3', 'a refused token is replaced at once');
  });

  it('concurrent calls share one AssumeRole; a denial is a non-retryable error without secrets', async () => {
    const clock = { now: 0 };
    const { calls, sts } = fakeSts(clock, () => Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    const provider = assumeRoleProvider(conn, { externalId: () => 'x', now: () => clock.now, sts });
    const results = await Promise.allSettled([provider(), provider(), provider()]);
    assert.equal(calls.length, 1);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      const err = (r as PromiseRejectedResult).reason as AssumeRoleError;
      assert.ok(err instanceof AssumeRoleError);
      assert.equal(err.retryable, false);
      assert.match(err.message, /access denied \(AccessDenied\)\. Check the role's trust policy/);
    }
  });
});

describe('roleAssumableWithoutExternalId (trust policy must require the external id)', () => {
  // MinIO's STS ignores ExternalId, and moto evaluates no trust policy (docs/events-aws.md), so AWS's answers
  // are mocked here (aws-sdk-client-mock).
  it('is true when AWS lets the role be assumed without an external id, false when it refuses', async () => {
    const { mockClient } = await import('aws-sdk-client-mock');
    const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts');
    const { roleAssumableWithoutExternalId } = await import('../../src/aws/credentials');
    const sts = new STSClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const mock = mockClient(sts);
    mock
      .on(AssumeRoleCommand)
      .resolves({ Credentials: { AccessKeyId: 'x', SecretAccessKey: 'y', SessionToken: 'z', Expiration: new Date() } });
    assert.equal(await roleAssumableWithoutExternalId(conn, undefined, sts), true);
    const sent = mock.commandCalls(AssumeRoleCommand)[0]?.args[0].input;
    assert.equal(sent?.RoleArn, conn.roleArn);
    assert.equal(sent?.ExternalId, undefined, 'the probe must not send the external id');

    mock.reset();
    mock.on(AssumeRoleCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    assert.equal(await roleAssumableWithoutExternalId(conn, undefined, sts), false);

    mock.reset();
    mock.on(AssumeRoleCommand).rejects(Object.assign(new Error('slow down'), { name: 'Throttling' }));
    await assert.rejects(roleAssumableWithoutExternalId(conn, undefined, sts), /slow down/);
    assert.equal(
      await roleAssumableWithoutExternalId({ ...conn, roleArn: undefined } as ConnectionDef, undefined, sts),
      false,
    );
  });
});

describe('S3ClientCache: EventBridge and SQS clients of a connection', () => {
  const keys = {
    name: 'k',
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    accessKey: 'AKIAEXAMPLE',
    secretKey: 'not-a-real-secret',
  } as ConnectionDef;

  it('are cached per connection, on its endpoint, and name the command in their errors (deploy tells the IAM action from it)', async () => {
    const cache = new S3ClientCache({ externalId: () => 'ext' });
    try {
      const sqs = cache.sqsFor(keys);
      assert.equal(cache.sqsFor(keys), sqs);
      assert.equal(cache.eventBridgeFor(keys), cache.eventBridgeFor(keys));
      assert.equal((await sqs.config.endpoint?.())?.port, 9);
      await assert.rejects(
        sqs.send(new GetQueueUrlCommand({ QueueName: 'q' })),
        (err: Error & { command?: string }) => err.command === 'GetQueueUrlCommand',
      );
      await assert.rejects(
        cache.eventBridgeFor(keys).send(new DescribeRuleCommand({ Name: 'r' })),
        (err: Error & { command?: string }) => err.command === 'DescribeRuleCommand',
      );
    } finally {
      cache.destroy();
    }
  });
});
