/**
 * Deploy rules end to end (R1.4, R2, R2.3) on real parts: MinIO, a Temporal
 * dev server and a worker, the s3c CLI in the project folder. One stack for
 * the whole file; the tests run in order and build on each other.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { minioConnection, startTestStack, type TestStack } from '../helpers/stack';
import { deploymentPath } from '../../src/util/stateLayout';
import { dataSourceWorkflowId } from '../../src/contract';

function datasource(uri: string, schedule: string, connection = 'minio'): string {
  return `DESCRIPTION >
    Events landing from CSV files

SCHEMA >
    \`timestamp\` DateTime \`json:$.timestamp\`,
    \`session_id\` String \`json:$.session_id\`

ENGINE "MergeTree"
ENGINE_SORTING_KEY "timestamp"

IMPORT_CONNECTION_NAME ${connection}
IMPORT_BUCKET_URI ${uri}
IMPORT_SCHEDULE ${schedule}
`;
}

const CSV = (ts: string, session: string): string => `timestamp,session_id\n${ts},${session}\n`;

/** `<workflow id> <status>` of every data source workflow run the server knows. */
async function dataSourceWorkflows(t: TestStack): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of t.stack.client.workflow.list({ query: `WorkflowType = 'dataSourceWorkflow'` }))
    ids.push(`${w.workflowId} ${w.status.name}`);
  return ids.sort();
}

function deployment(t: TestStack): string | undefined {
  const path = deploymentPath(t.projectDir);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

describe('deploy rules on a real stack', () => {
  let t: TestStack;
  const WRONG_SECRET = 'wR0ng-s3cret-V4lue-do-not-print';
  const WRONG_KEY = 'WRONGKEYID0123456789';

  before(async () => {
    t = await startTestStack();
    await t.createBucket('landing');
    await t.put('landing', 'events/2024-01.csv', CSV('2024-01-01 10:00:00', 's1'));
    t.write('minio.connection', minioConnection());
  });

  after(async () => {
    await t?.stop();
  });

  it('deploy --check of a data source on a bucket that does not exist fails naming the bucket', async () => {
    t.write('ghost.datasource', datasource('s3://no-such-bucket/events/*.csv', '@once'));
    try {
      const out = await t.cli(['deploy', '--check']);
      assert.notEqual(out.code, 0);
      assert.match(
        out.stderr,
        /^✗ \/.*\/ghost\.datasource:12: bucket no-such-bucket does not exist \(data source ghost, connection minio, region us-east-1\)\. Create the bucket or fix IMPORT_BUCKET_URI$/m,
      );
      assert.match(out.stderr, /deploy refused: 1 problem\(s\); nothing was changed/);
      assert.equal(deployment(t), undefined);
      assert.deepEqual(await dataSourceWorkflows(t), []);
    } finally {
      rmSync(join(t.projectDir, 'ghost.datasource'));
    }
  });

  it('deploy --check of a connection with wrong keys fails clearly, without printing the secret', async () => {
    assert.equal((await t.cli(['secret', 'set', 'WRONG_S3_SECRET', WRONG_SECRET])).code, 0);
    assert.equal((await t.cli(['secret', 'set', 'WRONG_S3_KEY', WRONG_KEY])).code, 0);
    const connection = (key: string, secret: string): string =>
      `TYPE s3\nS3_REGION "us-east-1"\nS3_ENDPOINT {{ tb_secret("TEST_S3_ENDPOINT") }}\nS3_ACCESS_KEY {{ tb_secret("${key}") }}\nS3_SECRET {{ tb_secret("${secret}") }}\n`;
    t.write('keyed.datasource', datasource('s3://landing/events/*.csv', '@once', 'badkeys'));
    try {
      // A known key with the wrong secret.
      t.write('badkeys.connection', connection('TEST_S3_ACCESS_KEY', 'WRONG_S3_SECRET'));
      let out = await t.cli(['deploy', '--check']);
      assert.notEqual(out.code, 0);
      assert.match(
        out.stderr,
        /^✗ \/.*\/badkeys\.connection:5: connection badkeys cannot access bucket landing for data source keyed: its S3_SECRET does not match its S3_ACCESS_KEY \(SignatureDoesNotMatch\)\. Check S3_SECRET \(value not shown\)$/m,
      );
      assert.ok(!`${out.stdout}${out.stderr}`.includes(WRONG_SECRET), 'the secret value was printed');
      assert.ok(!`${out.stdout}${out.stderr}`.includes(t.minio.accessKey), 'the access key was printed');

      // An unknown key.
      t.write('badkeys.connection', connection('WRONG_S3_KEY', 'WRONG_S3_SECRET'));
      out = await t.cli(['deploy', '--check']);
      assert.notEqual(out.code, 0);
      assert.match(
        out.stderr,
        /^✗ \/.*\/badkeys\.connection:4: connection badkeys cannot access bucket landing for data source keyed: the store does not know its S3_ACCESS_KEY \(InvalidAccessKeyId\)\. Check S3_ACCESS_KEY and S3_SECRET \(values not shown\)$/m,
      );
      for (const value of [WRONG_SECRET, WRONG_KEY, t.minio.secretKey, t.minio.endpoint]) {
        assert.ok(
          !`${out.stdout}${out.stderr}`.includes(value),
          `a secret value was printed: ${out.stdout}${out.stderr}`,
        );
      }
      assert.equal(deployment(t), undefined);
      assert.deepEqual(await dataSourceWorkflows(t), []);
    } finally {
      rmSync(join(t.projectDir, 'keyed.datasource'));
      rmSync(join(t.projectDir, 'badkeys.connection'));
    }
  });

  it('deploys an @once data source that loads the existing file', async () => {
    t.write('events.datasource', datasource('s3://landing/events/*.csv', '@once'));
    const check = await t.cli(['deploy', '--check']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(
      check.stdout,
      /^\+ connection minio: create \(region us-east-1, static keys, endpoint \{\{ tb_secret\("TEST_S3_ENDPOINT"\) \}\}\)$/m,
    );
    assert.ok(!check.stdout.includes(t.minio.endpoint), 'the endpoint secret was printed');
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^started workflow datasource\/local\/events$/m);
    const state = await t.waitForState('events', (s) => s.initialSyncDone && s.status === 'resting');
    assert.equal(state.counters.filesLoaded, 1);
  });

  it('a deploy with bad datafiles exits non-zero, reports every error and changes nothing', async () => {
    const deployedBefore = deployment(t);
    assert.ok(deployedBefore);
    const workflowsBefore = await dataSourceWorkflows(t);
    assert.deepEqual(workflowsBefore, ['datasource/local/events RUNNING']);
    t.write(
      'broken.datasource',
      datasource('s3://landing/broken/*.csv', '@sometimes').replace('`session_id` String', '`session_id` Strang'),
    );
    try {
      const out = await t.cli(['deploy']);
      assert.notEqual(out.code, 0);
      assert.match(
        out.stderr,
        /^✗ \/.*\/broken\.datasource:6: Unknown column type: found "Strang", expected one of .*; did you mean "String"\?$/m,
      );
      assert.match(
        out.stderr,
        /^✗ \/.*\/broken\.datasource:13: Invalid IMPORT_SCHEDULE: found "@sometimes", expected .*$/m,
      );
      assert.match(out.stderr, /deploy refused: 2 problem\(s\); nothing was changed/);
      assert.equal(deployment(t), deployedBefore);
      assert.deepEqual(await dataSourceWorkflows(t), workflowsBefore);
    } finally {
      rmSync(join(t.projectDir, 'broken.datasource'));
    }
  });

  it('a refused R2.3 change leaves the running workflow and the deployment untouched', async () => {
    const deployedBefore = deployment(t);
    const handle = t.stack.client.workflow.getHandle(dataSourceWorkflowId('local', 'events'));
    const runBefore = (await handle.describe()).runId;

    t.write('events.datasource', datasource('s3://landing/other/*.csv', '@once'));
    let out = await t.cli(['deploy']);
    assert.notEqual(out.code, 0);
    assert.match(
      out.stderr,
      /^✗ \/.*\/events\.datasource:12: IMPORT_BUCKET_URI of data source events cannot change in place \(deployed: s3:\/\/landing\/events\/\*\.csv; now: s3:\/\/landing\/other\/\*\.csv\); the only change allowed in place is IMPORT_SCHEDULE from @once or @on-demand to @auto\. To change it: 1\) remove the connection from the data source \(delete its IMPORT_\* settings, or the data source\), 2\) run `s3c deploy`, 3\) add the connection again with the new values, 4\) run `s3c deploy` again\.$/m,
    );

    t.write('events.datasource', datasource('s3://landing/events/*.csv', '@on-demand'));
    out = await t.cli(['deploy']);
    assert.notEqual(out.code, 0);
    assert.match(
      out.stderr,
      /^✗ \/.*\/events\.datasource:13: IMPORT_SCHEDULE of data source events cannot change in place \(deployed: @once; now: @on-demand\); .*$/m,
    );

    t.write('events.datasource', datasource('s3://landing/events/*.csv', '@once'));
    t.write('minio.connection', minioConnection().replace('"us-east-1"', '"eu-west-1"'));
    out = await t.cli(['deploy']);
    assert.notEqual(out.code, 0);
    assert.match(
      out.stderr,
      /^✗ \/.*\/minio\.connection:2: S3_REGION of connection minio cannot change from us-east-1 to eu-west-1 while data source events uses it\. To change it: 1\) remove the connection from data source events .*$/m,
    );
    t.write('minio.connection', minioConnection());

    assert.equal(deployment(t), deployedBefore);
    const description = await handle.describe();
    assert.equal(description.status.name, 'RUNNING');
    assert.equal(description.runId, runBefore);
    const state = await t.waitForState('events', () => true);
    assert.equal(state.schedule, '@once');
    assert.equal(state.bucketUri, 's3://landing/events/*.csv');
    assert.deepEqual(await dataSourceWorkflows(t), ['datasource/local/events RUNNING']);
  });

  it('@once → @auto deploys as an update, and the workflow then follows the bucket', async () => {
    t.write('events.datasource', datasource('s3://landing/events/*.csv', '@auto'));
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(
      out.stdout,
      /^~ datasource events: update \(s3:\/\/landing\/events\/\*\.csv @auto, 2 columns; IMPORT_SCHEDULE @once → @auto: .*\)$/m,
    );
    assert.match(out.stdout, /^updated workflow datasource\/local\/events \(@auto\)$/m);
    const deployed = JSON.parse(deployment(t)!) as {
      dataSources: Record<string, { def: { import: { schedule: unknown } } }>;
    };
    assert.deepEqual(deployed.dataSources.events?.def.import.schedule, { kind: 'auto' });

    await t.waitForState('events', (s) => s.schedule === '@auto');
    // A file that lands afterwards is picked up by the @auto polling (2 s in tests).
    await t.put('landing', 'events/2024-02.csv', CSV('2024-02-01 08:30:00', 's2'));
    const state = await t.waitForState('events', (s) => s.counters.filesLoaded === 2, 60_000);
    assert.equal(state.counters.filesFailed, 0);
    assert.equal(await t.stack.worker!.sink.rowCount('events'), 2);

    // Deploying the same files again changes nothing.
    const again = await t.cli(['deploy']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^= datasource events: unchanged/m);
    assert.match(again.stdout, /No changes\./);
    // The update continued the same workflow as new; one run is running.
    assert.deepEqual(
      (await dataSourceWorkflows(t)).filter((w) => !w.endsWith(' CONTINUED_AS_NEW')),
      ['datasource/local/events RUNNING'],
    );
  });

  it('@on-demand → @auto deploys as an update too: every file since the last sync, then the bucket followed', async () => {
    await t.put('landing', 'manual/2024-01.csv', CSV('2024-01-01 10:00:00', 'm1'));
    t.write('manual.datasource', datasource('s3://landing/manual/*.csv', '@on-demand'));
    let out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr);
    const idle = await t.waitForState('manual', () => true);
    assert.equal(idle.counters.syncs, 0);

    t.write('manual.datasource', datasource('s3://landing/manual/*.csv', '@auto'));
    out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(
      out.stdout,
      /^~ datasource manual: update \(s3:\/\/landing\/manual\/\*\.csv @auto, 2 columns; IMPORT_SCHEDULE @on-demand → @auto: .*\)$/m,
    );
    assert.match(out.stdout, /^updated workflow datasource\/local\/manual \(@auto\)$/m);
    // The file that was there before the change is loaded, then a new one by polling.
    await t.waitForState('manual', (s) => s.schedule === '@auto' && s.counters.filesLoaded === 1, 60_000);
    await t.put('landing', 'manual/2024-02.csv', CSV('2024-02-01 08:30:00', 'm2'));
    const state = await t.waitForState('manual', (s) => s.counters.filesLoaded === 2, 60_000);
    assert.equal(state.counters.filesFailed, 0);
    assert.equal(await t.stack.worker!.sink.rowCount('manual'), 2);
    assert.deepEqual((await dataSourceWorkflows(t)).filter((w) => w.startsWith('datasource/local/manual ')).sort(), [
      'datasource/local/manual CONTINUED_AS_NEW',
      'datasource/local/manual RUNNING',
    ]);
  });
});
