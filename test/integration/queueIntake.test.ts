/**
 * The SQS queue intake end to end on the AWS emulator moto (issue 22,
 * docs/events-aws.md): a connection whose S3_ENDPOINT is moto and whose role
 * lives in the bucket owner's account; `s3c deploy` of an `@auto` data source
 * (poll interval one hour) creates the queue, the rule and the intake
 * workflow; objects put into the bucket reach the table through
 * S3 → EventBridge → SQS → signal, with exact counts: keys with spaces, `+`,
 * `%` and unicode, an overwrite, keys outside the pattern, a burst of 500;
 * the worker stopped while events arrive loses nothing and doubles nothing.
 * One stack; the tests run in order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateBucketCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import {
  intakeQueueNames,
  MAX_RECEIVE_COUNT,
  queueUrl,
  RETENTION_SECONDS,
  VISIBILITY_TIMEOUT_SECONDS,
} from '../../src/aws/queueIntake';
import { eventRuleName } from '../../src/aws/notifications';
import {
  eventsTaskQueue,
  queueIntakeStateQuery,
  queueIntakeWorkflowId,
  type QueueIntakeState,
} from '../../src/contract/queueIntake';
import { startWorker, type RunningWorker } from '../../src/worker';
import { assertTableMatchesFiles, csvRows, eventually, range } from '../helpers/faults';
import {
  MOTO_OWNER_ACCOUNT,
  MOTO_OWNER_ROLE_ARN,
  MOTO_REGION,
  motoConnection,
  motoRoleClients,
  startMoto,
  storeMotoSecrets,
  type MotoClients,
  type MotoServer,
} from '../helpers/moto';
import { idNameDataSource, startTestStack, workflowBundle, type TestStack } from '../helpers/stack';

const OWNER_ACCOUNT = MOTO_OWNER_ACCOUNT;
const ROLE_ARN = MOTO_OWNER_ROLE_ARN;
const BUCKET = 'landing-q';

describe('queue intake on moto: S3 → EventBridge → SQS → signal', () => {
  let t: TestStack;
  let moto: MotoServer;
  let owner: MotoClients;
  /** The worker in use: the stack's, then the one started again. */
  let worker: RunningWorker;
  let restarted: RunningWorker | undefined;
  const files: Record<string, number | number[]> = {};
  /** The owner's notification configuration before deploy: teardown must leave it byte-identical. */
  let ownerNotifications: string;
  const ids: number[] = [];
  const motoDir = mkdtempSync(join(tmpdir(), 's3c-moto-intake-'));

  before(async () => {
    // Both at once: each takes seconds to start.
    [t, moto] = await Promise.all([
      startTestStack({ workspace: { pollIntervalSeconds: 3600, filesPerMinute: 0, events: { intake: 'queue' } } }),
      startMoto({ stateDir: motoDir }),
    ]);
    worker = t.stack.worker!;
    owner = await motoRoleClients(moto, ROLE_ARN);
    await owner.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await ownerQueueConfiguration();
    ownerNotifications = await notifications();
    storeMotoSecrets(t.projectDir, moto);
    t.write('s3c.yaml', 'events:\n  intake: queue\n');
    t.write('aws.connection', motoConnection());
    t.write('q.datasource', idNameDataSource(`s3://${BUCKET}/in/*.csv`, { schedule: '@auto', connection: 'aws' }));
  });

  after(async () => {
    await restarted?.shutdown();
    owner?.destroy();
    await moto?.stop();
    await t?.stop();
    rmSync(motoDir, { recursive: true, force: true });
  });

  /** The owner's own S3 → SQS notification on the bucket, which deploy and teardown must keep. */
  async function ownerQueueConfiguration(): Promise<void> {
    const { QueueUrl } = await owner.sqs.send(new CreateQueueCommand({ QueueName: 'owner-notifications' }));
    const arn = (await owner.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] })))
      .Attributes!.QueueArn!;
    const filter = {
      Key: {
        FilterRules: [
          { Name: 'prefix' as const, Value: 'logs/' },
          { Name: 'suffix' as const, Value: '.gz' },
        ],
      },
    };
    const config = { Id: 'owner-logs', QueueArn: arn, Events: ['s3:ObjectCreated:*' as const], Filter: filter };
    await owner.s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: BUCKET,
        NotificationConfiguration: { QueueConfigurations: [config] },
      }),
    );
  }

  async function notifications(): Promise<string> {
    const { $metadata: _, ...config } = await owner.s3.send(
      new GetBucketNotificationConfigurationCommand({ Bucket: BUCKET }),
    );
    return JSON.stringify(config);
  }

  async function put(key: string, from: number, count: number): Promise<void> {
    await owner.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: csvRows(from, count) }));
  }

  /** Puts a file the data source selects, and records what the table must then hold. */
  async function putSelected(key: string, from: number, count: number): Promise<void> {
    await put(key, from, count);
    const before = files[key];
    files[key] = before === undefined ? count : [...(Array.isArray(before) ? before : [before]), count];
    ids.push(...range(from, count));
  }

  /** The table holds every row once; the ledger, each version once (an overwritten key: one row count per version). */
  async function tableMatches(): Promise<void> {
    await assertTableMatchesFiles(worker.sink, 'q', { ids, files: files as Record<string, number> });
  }

  async function intakeState(): Promise<QueueIntakeState> {
    return t.stack.client.workflow.getHandle(queueIntakeWorkflowId('local', 'aws')).query(queueIntakeStateQuery);
  }

  async function queueDepth(): Promise<number> {
    const { QueueUrl } = await owner.sqs.send(
      new GetQueueUrlCommand({ QueueName: intakeQueueNames('local', 'aws').queue }),
    );
    const out = await owner.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(out.Attributes?.ApproximateNumberOfMessages) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible)
    );
  }

  async function loaded(count: number, timeoutMs = 60_000): Promise<void> {
    await t.waitForState('q', (s) => s.counters.filesLoaded === count && s.status !== 'syncing', timeoutMs);
  }

  it('deploy creates the queue, its dead-letter queue and the rule in the owner account, and starts the intake', async () => {
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /EventBridge rule delivers to SQS queue s3c-local-aws/);
    assert.match(out.stdout, /started workflow queue\/local\/aws/);
    await t.waitForState('q', (s) => s.initialSyncDone);
    const names = intakeQueueNames('local', 'aws');
    const { QueueUrl } = await owner.sqs.send(new GetQueueUrlCommand({ QueueName: names.queue }));
    const attrs = (await owner.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] })))
      .Attributes!;
    assert.equal(attrs.MessageRetentionPeriod, String(RETENTION_SECONDS));
    const redrive = JSON.parse(attrs.RedrivePolicy!) as { deadLetterTargetArn: string; maxReceiveCount: number };
    assert.equal(redrive.deadLetterTargetArn, `arn:aws:sqs:${MOTO_REGION}:${OWNER_ACCOUNT}:${names.deadLetter}`);
    assert.equal(Number(redrive.maxReceiveCount), MAX_RECEIVE_COUNT);
    // moto does not check queue policies (docs/events-aws.md): assert the one we wrote.
    const policy = JSON.parse(attrs.Policy!) as { Statement: { Principal: unknown; Condition: unknown }[] };
    assert.deepEqual(policy.Statement[0]!.Principal, { Service: 'events.amazonaws.com' });
    assert.deepEqual(policy.Statement[0]!.Condition, {
      ArnLike: { 'aws:SourceArn': `arn:aws:events:${MOTO_REGION}:${OWNER_ACCOUNT}:rule/s3c-local-*` },
    });
    const targets = await owner.eb.send(new ListTargetsByRuleCommand({ Rule: eventRuleName('local', 'q') }));
    assert.deepEqual(
      targets.Targets?.map((x) => [x.Id, x.Arn]),
      [['s3c-queue', attrs.QueueArn]],
    );
  });

  it('deploying the same project again changes nothing', async () => {
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.doesNotMatch(out.stdout, /started workflow|EventBridge rule|SQS queue/);
  });

  it('keys with spaces, +, % and unicode are loaded through the queue, long before the hourly poll; others are not', async () => {
    const started = Date.now();
    await putSelected('in/a b.csv', 1, 2);
    await putSelected('in/c+d.csv', 3, 2);
    await putSelected('in/e%20f.csv', 5, 2);
    await putSelected('in/été ü 東京.csv', 7, 2);
    await put('out/x.csv', 100, 1);
    await put('in/sub/y.csv', 101, 1);
    await put('in/z.txt', 102, 1);
    await loaded(4);
    assert.ok(Date.now() - started < 60_000, `took ${Date.now() - started} ms`);
    await tableMatches();
    const state = await eventually('intake counters', async () => {
      const s = await intakeState();
      return s.counters.deleted === 6 ? s : undefined;
    });
    // out/x.csv is outside the rule's prefix: never sent. The other two reach the intake and match no data source.
    assert.equal(state.counters.byDataSource.q?.objects, 4);
    assert.equal(state.counters.unmatched, 2);
    assert.equal(state.counters.received, 6);
    assert.equal(await queueDepth(), 0);
  });

  it('an overwrite is a new version, loaded', async () => {
    await putSelected('in/a b.csv', 11, 3);
    await loaded(5);
    await tableMatches();
  });

  it('a burst of 500 objects: each loaded once', async () => {
    const started = Date.now();
    for (let i = 0; i < 500; i += 25) {
      await Promise.all(range(i, 25).map((n) => putSelected(`in/burst-${n}.csv`, 1000 + n, 1)));
    }
    await loaded(505, 180_000);
    await tableMatches();
    const state = await eventually('intake counters', async () => {
      const s = await intakeState();
      return s.counters.byDataSource.q?.objects === 505 ? s : undefined;
    });
    assert.equal(state.counters.received, state.counters.deleted);
    assert.equal(await queueDepth(), 0);
    const ls = await t.cli(['datasource', 'ls']);
    assert.match(
      ls.stdout,
      /^q: events: 505 object\(s\) through SQS queue s3c-local-aws, the last at \d{4}-\d\d-\d\dT/m,
      ls.stdout,
    );
    process.stderr.write(`burst of 500 loaded through the queue in ${Date.now() - started} ms\n`);
  });

  /** Sets the intake queue's visibility timeout (seconds). */
  async function setVisibilityTimeout(seconds: number): Promise<void> {
    const url = await queueUrl(owner.sqs, intakeQueueNames('local', 'aws').queue);
    await owner.sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: String(seconds) } }),
    );
  }

  it('the worker stopped while events arrive, then started: nothing lost, nothing doubled', async () => {
    // A long poll cut by the shutdown still takes messages on moto until its wait ends (up to 20 s), and
    // hides them for the visibility timeout the queue had when that poll began. Instead of waiting the poll
    // out, the timeout is made 5 s, and one more event ends the poll under way, so that the polls after it
    // (the one the shutdown cuts among them) hide what they take for 5 s only. A message that comes back
    // while the restarted worker still handles it is received twice: harmless, and proved so below.
    await setVisibilityTimeout(5);
    await putSelected('in/before-stop.csv', 4000, 1);
    await loaded(506);
    await worker.shutdown();
    for (let n = 0; n < 20; n++) await putSelected(`in/offline-${n}.csv`, 5000 + n, 1);
    assert.equal(await queueDepth(), 20, 'the events wait in the queue');
    restarted = await startWorker({
      projectDir: t.projectDir,
      // One ingest slot: the next test shows that the intake's long poll does not take it.
      temporal: { ...t.stack.temporal, worker: { ...t.stack.temporal.worker, maxConcurrentActivityTaskExecutions: 1 } },
      workspace: t.workspace,
      connection: t.stack.workerConnection!,
      workflowBundle: await workflowBundle(),
    });
    worker = restarted;
    await loaded(526, 120_000);
    await tableMatches();
    await eventually('queue drained', async () => ((await queueDepth()) === 0 ? true : undefined));
    await setVisibilityTimeout(VISIBILITY_TIMEOUT_SECONDS);
  });

  it('with a single ingest slot, a sync asked while the intake long-polls proceeds: drainQueue runs on its own task queue', async () => {
    const handle = t.stack.client.workflow.getHandle(queueIntakeWorkflowId('local', 'aws'));
    const queues = new Set<string>();
    for (const event of (await handle.fetchHistory()).events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name === 'drainQueue') queues.add(scheduled.taskQueue?.name ?? '');
    }
    assert.deepEqual([...queues], [eventsTaskQueue(t.stack.temporal.taskQueues.ingest)]);
    // The queue is quiet: the round now waits up to 300 s for a message. Were it on the ingest queue, the
    // restarted worker's one slot would be its, and this sync would wait for the round to end.
    await eventually('intake idle', async () => ((await queueDepth()) === 0 ? true : undefined));
    await putSelected('in/after-restart.csv', 6000, 2);
    const started = Date.now();
    await loaded(527, 60_000);
    const out = await t.cli(['datasource', 'sync', 'q', '--yes']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    await tableMatches();
    assert.ok(Date.now() - started < 60_000, `took ${Date.now() - started} ms`);
  });

  /** What deploy printed and left when q's events went: its rule, the intake, both queues (the owner's stays). */
  async function assertWiringRemoved(stdout: string): Promise<void> {
    assert.match(stdout, /EventBridge target and rule of q removed/);
    assert.match(stdout, /stopped workflow queue\/local\/aws/);
    assert.match(stdout, /deleted SQS queue\(s\) s3c-local-aws, s3c-local-aws-dlq/);
    await assert.rejects(owner.eb.send(new ListTargetsByRuleCommand({ Rule: eventRuleName('local', 'q') })), {
      name: 'ResourceNotFoundException',
    });
    const queues = (await owner.sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [];
    assert.deepEqual(
      queues.map((u) => u.split('/').pop()),
      ['owner-notifications'],
    );
  }

  /** Deploys the project; its output. */
  async function deploy(): Promise<string> {
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    return out.stdout;
  }

  it("switching q away from @auto (its IMPORT_* settings removed, as deploy asks) removes its rule, the queues and the intake, and leaves the owner's notifications byte-identical; back to @auto wires it again", async () => {
    // Deploy refuses @auto → another schedule in place; the way away is to remove the import first.
    const withImport = idNameDataSource(`s3://${BUCKET}/in/*.csv`, { schedule: '@auto', connection: 'aws' });
    t.write('q.datasource', withImport.slice(0, withImport.indexOf('IMPORT_CONNECTION_NAME')));
    const away = await deploy();
    await assertWiringRemoved(away);
    assert.equal(await notifications(), ownerNotifications);
    t.write('q.datasource', withImport);
    const back = await deploy();
    assert.match(back, /EventBridge rule delivers to SQS queue s3c-local-aws/);
    assert.match(back, /started workflow queue\/local\/aws/);
  });

  it("removing the data source removes the rule, the queues and the intake; the owner's notifications stay byte-identical", async () => {
    const { rmSync } = await import('node:fs');
    rmSync(`${t.projectDir}/q.datasource`);
    await assertWiringRemoved(await deploy());
    const handle = t.stack.client.workflow.getHandle(queueIntakeWorkflowId('local', 'aws'));
    await eventually('intake ended', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    assert.equal(await notifications(), ownerNotifications);
  });
});
