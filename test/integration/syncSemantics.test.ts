/**
 * Durable sync semantics on real parts (R5, R8): @on-demand, @auto with
 * polling (local mode), overwritten objects, an upload in progress across two
 * syncs, the workspace rate limit across three data sources, the cursor
 * surviving continue-as-new, and what the CLI shows while it waits (progress,
 * `s3c job NAME`, the sample table: issue #19 items 3 and 12).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { idNameDataSource, minioConnection, startTestStack, type TestStack } from '../helpers/stack';
import { dataSourceState, jobReport } from '../../src/client/dataSources';
import { dataSourceWorkflowId, limiterStateQuery, limiterWorkflowId } from '../../src/contract';

function datasource(uri: string, schedule: string): string {
  return idNameDataSource(uri, { schedule });
}

function csv(...rows: [number, string][]): string {
  return `id,name\n${rows.map(([id, name]) => `${id},${name}`).join('\n')}\n`;
}

describe('sync semantics', () => {
  let t: TestStack;
  const RATE_FILES = 2;
  const RATE_PERIOD_S = 3;

  before(async () => {
    t = await startTestStack({
      workspace: {
        pollIntervalSeconds: 2,
        filesPerMinute: RATE_FILES,
        rateLimitPeriodSeconds: RATE_PERIOD_S,
        maxHistoryEvents: 150,
      },
    });
    await t.createBucket('sync');
    t.write('minio.connection', minioConnection());
  });

  after(async () => {
    await t?.stop();
  });

  async function ids(table: string): Promise<number[]> {
    const rows = await t.stack.worker!.sink.query(`SELECT id FROM ${table} ORDER BY id`);
    return rows.map((r) => Number(r.id));
  }

  async function deploy(): Promise<void> {
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}`);
  }

  it('@on-demand loads nothing until a sync, then only files new since the last sync', async () => {
    await t.put('sync', 'ondemand/1.csv', csv([1, 'a'], [2, 'b']));
    t.write('ondemand.datasource', datasource('s3://sync/ondemand/*.csv', '@on-demand'));
    await deploy();
    // Give the workflow time to (not) act.
    await new Promise((r) => setTimeout(r, 3000));
    const idle = await dataSourceState(t.stack.client, 'local', 'ondemand');
    assert.equal(idle?.counters.syncs, 0);
    assert.deepEqual(await ids('ondemand'), []);

    const first = await t.cli(['datasource', 'sync', 'ondemand', '--yes']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(await ids('ondemand'), [1, 2]);

    await t.put('sync', 'ondemand/2.csv', csv([3, 'c']));
    const second = await t.cli(['datasource', 'sync', 'ondemand', '--yes']);
    assert.match(second.stdout, /files: 1 found, 1 done, 0 failed/);
    assert.deepEqual(await ids('ondemand'), [1, 2, 3]);
  });

  it('@auto loads existing files, then new and overwritten files by polling', async () => {
    await t.put('sync', 'auto/1.csv', csv([10, 'x']));
    t.write('auto.datasource', datasource('s3://sync/auto/**/*.csv', '@auto'));
    await deploy();
    await t.waitForState('auto', (s) => s.counters.rows === 1);
    await t.put('sync', 'auto/deeper/2.csv', csv([11, 'y']));
    await t.waitForState('auto', (s) => s.counters.rows === 2, 30_000);
    // Overwrite: a new ETag is a new version, loaded again.
    await t.put('sync', 'auto/1.csv', csv([12, 'z']));
    await t.waitForState('auto', (s) => s.counters.rows === 3, 30_000);
    assert.deepEqual(await ids('auto'), [10, 11, 12]);
    const ledger = await t.stack.worker!.sink.ledger('auto');
    assert.equal(ledger.filter((e) => e.key === 'auto/1.csv').length, 2);
  });

  // MinIO stamps a multipart object with its completion time, where S3 stamps the
  // start of the upload; the cursor rule for S3's stamping is unit-tested in
  // test/unit/cursor.test.ts. Here: the end-to-end promise, loaded exactly once.
  it('an upload begun before a sync and completed after it is loaded exactly once', async () => {
    t.write('race.datasource', datasource('s3://sync/race/*.csv', '@on-demand'));
    await deploy();
    const key = 'race/big.csv';
    const started = await t.s3.send(new CreateMultipartUploadCommand({ Bucket: 'sync', Key: key }));
    // A part must be 5 MiB except the last: one part, uploaded before the sync.
    const body = `id,name\n${Array.from({ length: 200_000 }, (_, i) => `${100_000 + i},padding-so-that-the-part-is-over-5-MiB`).join('\n')}\n`;
    assert.ok(body.length > 5 * 1024 * 1024);
    const part = await t.s3.send(
      new UploadPartCommand({ Bucket: 'sync', Key: key, UploadId: started.UploadId, PartNumber: 1, Body: body }),
    );
    await t.put('sync', 'race/small.csv', csv([1, 'small']));
    const during = await t.cli(['datasource', 'sync', 'race', '--yes']);
    assert.match(during.stdout, /files: 1 found, 1 done/);
    await t.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'sync',
        Key: key,
        UploadId: started.UploadId,
        MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] },
      }),
    );
    const afterUpload = await t.cli(['datasource', 'sync', 'race', '--yes']);
    assert.match(afterUpload.stdout, /files: 1 found, 1 done/);
    const again = await t.cli(['datasource', 'sync', 'race', '--yes']);
    assert.match(again.stdout, /files: 0 found/);
    assert.equal(await t.stack.worker!.sink.rowCount('race'), 200_001);
  });

  it('three data sources together never exceed the workspace limit', async () => {
    for (const ds of ['rl_a', 'rl_b', 'rl_c']) {
      for (let i = 0; i < 3; i++) await t.put('sync', `${ds}/${i}.csv`, csv([i, ds]));
      t.write(`${ds}.datasource`, datasource(`s3://sync/${ds}/*.csv`, '@once'));
    }
    const limiter = t.stack.client.workflow.getHandle(limiterWorkflowId('local'));
    const grantedBefore = (await limiter.query(limiterStateQuery)).granted;
    const startedAt = Date.now();
    await deploy();
    for (const ds of ['rl_a', 'rl_b', 'rl_c']) await t.waitForState(ds, (s) => s.counters.filesLoaded === 3, 90_000);
    const elapsed = (Date.now() - startedAt) / 1000;
    const state = await limiter.query(limiterStateQuery);
    // Each of the 9 files took one token, ...
    assert.equal(state.granted - grantedBefore, 9, JSON.stringify(state.recentGrants));
    // ... and no window of one period saw more than the limit.
    const times = state.recentGrants
      .flatMap((g) => Array.from({ length: g.count }, () => Date.parse(g.at)))
      .sort((a, b) => a - b);
    for (let i = RATE_FILES; i < times.length; i++) {
      assert.ok(
        times[i]! - times[i - RATE_FILES]! >= RATE_PERIOD_S * 1000,
        `more than ${RATE_FILES} grants within ${RATE_PERIOD_S}s`,
      );
    }
    // 9 files at 2 per 3 s need at least 4 full periods.
    assert.ok(elapsed >= 4 * RATE_PERIOD_S, `took ${elapsed}s`);
  });

  it('sample --wait and sync show progress as they wait; `s3c job NAME` shows the latest job (issue #19, items 3 and 12)', async () => {
    const PROGRESS = /^progress: \d+ files found, \d+ done, \d+ failed; \d+ rows loaded, \d+ quarantined$/m;
    // Five files at 2 per 3 s: each wait lasts several polls.
    for (let i = 1; i <= 5; i++) await t.put('sync', `progress/${i}.csv`, csv([100 + i, `p${i}`]));
    t.write('progress.datasource', datasource('s3://sync/progress/*.csv', '@on-demand'));
    await deploy();
    const none = await t.cli(['job', 'progress']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /data source progress has no job yet/);

    const sample = await t.cli(['datasource', 'sample', 'progress', '--max-files', '3', '--wait']);
    assert.equal(sample.code, 0, sample.stderr);
    assert.match(sample.stdout, /into table progress__sample, emptied first; the table progress is not touched/);
    // Not a terminal: plain lines, no carriage returns.
    assert.match(sample.stdout, PROGRESS);
    assert.ok(!sample.stdout.includes('\r'), sample.stdout);
    const sampleId = /Sample job (\S+) started/.exec(sample.stdout)?.[1];
    assert.ok(sampleId, sample.stdout);
    const lastSample = await t.cli(['job', 'progress']);
    assert.equal(lastSample.code, 0, lastSample.stderr);
    assert.match(lastSample.stdout, new RegExp(`^Job ${sampleId} \\(sample\\) done$`, 'm'));
    assert.equal((await ids('progress__sample')).length, 3);
    assert.deepEqual(await ids('progress'), []);

    const sync = await t.cli(['datasource', 'sync', 'progress', '--yes']);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, PROGRESS);
    assert.ok(!sync.stdout.includes('\r'), sync.stdout);
    assert.match(sync.stdout, /files: 5 found, 5 done, 0 failed/);
    const syncId = (await dataSourceState(t.stack.client, 'local', 'progress'))?.lastJobId;
    const lastSync = await t.cli(['job', 'progress']);
    assert.match(lastSync.stdout, new RegExp(`^Job ${syncId} \\(sync\\) done$`, 'm'));
    // A job id still works as before.
    assert.match((await t.cli(['job', sampleId])).stdout, new RegExp(`^Job ${sampleId} \\(sample\\) done$`, 'm'));
    // Each row once in production; the sample table keeps the sampled rows.
    assert.deepEqual(await ids('progress'), [101, 102, 103, 104, 105]);
    assert.equal((await ids('progress__sample')).length, 3);
  });

  it('continue-as-new keeps the cursor and counters', async () => {
    const handle = t.stack.client.workflow.getHandle(dataSourceWorkflowId('local', 'ondemand'));
    const firstRun = (await handle.describe()).runId;
    const before = await dataSourceState(t.stack.client, 'local', 'ondemand');
    assert.ok(before?.cursor.watermark);
    // Syncs with nothing new grow the history until it continues as new (limit 150 events in this test).
    let runId = firstRun;
    for (let i = 0; i < 12 && runId === firstRun; i++) {
      const out = await t.cli(['datasource', 'sync', 'ondemand', '--yes']);
      assert.equal(out.code, 0, out.stderr);
      runId = (await t.stack.client.workflow.getHandle(dataSourceWorkflowId('local', 'ondemand')).describe()).runId;
    }
    assert.notEqual(runId, firstRun, 'the workflow did not continue as new');
    const afterCan = await dataSourceState(t.stack.client, 'local', 'ondemand');
    assert.equal(afterCan?.counters.rows, 3);
    assert.equal(afterCan?.counters.filesLoaded, 2);
    assert.ok(afterCan!.cursor.watermark! >= before!.cursor.watermark!);
    // A file added now is loaded once; nothing older comes back.
    await t.put('sync', 'ondemand/3.csv', csv([4, 'd']));
    const out = await t.cli(['datasource', 'sync', 'ondemand', '--yes']);
    assert.match(out.stdout, /files: 1 found, 1 done/);
    assert.deepEqual(await ids('ondemand'), [1, 2, 3, 4]);
    const last = await dataSourceState(t.stack.client, 'local', 'ondemand');
    const job = await jobReport(t.stack.client, last!.lastJobId!);
    assert.equal(job.status, 'done');
  });
});
