/**
 * How a running data source follows its bucket and its deployed settings, on
 * real parts (Temporal dev server, MinIO, DuckDB, the s3c CLI):
 * - an idle `@auto` poll lists and starts no job (issue 18 item 13);
 * - `@auto` keeps polling after a first sync in which every file failed
 *   (issue 19 item 2);
 * - a workspace setting changed by deploy reaches the running workflows
 *   (issue 18 item 10: `filesPerMinute` raised from 0).
 * One stack; the tests run in order (the last one turns the limit on).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { cliEnv, idNameDataSource, minioConnection, startTestStack, type TestStack } from '../helpers/stack';
import { repoRoot } from '../../src/local/tools';
import { dataSourceWorkflowId, limiterStateQuery, limiterWorkflowId } from '../../src/contract';

const POLL_S = 2;
const PERIOD_S = 3;

function csv(...rows: [number, string][]): string {
  return `id,name\n${rows.map(([id, name]) => `${id},${name}`).join('\n')}\n`;
}

describe('@auto polling and settings from deploy', () => {
  let t: TestStack;

  before(async () => {
    t = await startTestStack({
      workspace: { pollIntervalSeconds: POLL_S, filesPerMinute: 0, rateLimitPeriodSeconds: PERIOD_S },
    });
    await t.createBucket('poll');
    t.write('minio.connection', minioConnection());
  });

  after(async () => {
    await t?.stop();
  });

  /** Runs the CLI with the stack's settings, `filesPerMinute` replaced. */
  function cliWithLimit(
    args: string[],
    filesPerMinute: number,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = cliEnv(t.stack.temporal.temporal.address, { ...t.workspace, filesPerMinute });
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(repoRoot, 'bin', 's3c.js'), ...args],
        { cwd: t.projectDir, env, timeout: 120_000 },
        (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
        },
      ).stdin?.end();
    });
  }

  async function deploy(): Promise<void> {
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}`);
  }

  /** Job workflows of a data source, as the Web UI lists them. */
  async function jobWorkflows(dataSource: string): Promise<number> {
    let n = 0;
    for await (const _ of t.stack.client.workflow.list({
      query: `WorkflowType = 'jobWorkflow' AND S3cDataSource = '${dataSource}'`,
    }))
      n++;
    return n;
  }

  it('an idle @auto data source lists every poll but starts a job only for new files', async () => {
    await t.put('poll', 'idle/1.csv', csv([1, 'a']));
    t.write('idle.datasource', idNameDataSource('s3://poll/idle/*.csv', { schedule: '@auto' }));
    await deploy();
    const first = await t.waitForState(
      'idle',
      (s) => s.initialSyncDone && s.status === 'idle' && s.counters.filesLoaded === 1,
    );
    // Five poll intervals with nothing new.
    await sleep(5 * POLL_S * 1000);
    assert.equal(await jobWorkflows('idle'), 1, 'a poll that found nothing started a job');
    // The polls still listed: the cursor moved on as a job finding nothing would have moved it.
    const idle = await t.waitForState('idle', () => true);
    assert.ok(
      idle.cursor.watermark! > first.cursor.watermark!,
      `watermark ${idle.cursor.watermark} did not move past ${first.cursor.watermark}`,
    );
    assert.equal(idle.counters.syncs, 1);

    // A new file: one job, the file loaded once.
    await t.put('poll', 'idle/2.csv', csv([2, 'b']));
    await t.waitForState('idle', (s) => s.counters.filesLoaded === 2 && s.status === 'idle', 30_000);
    await sleep(3 * POLL_S * 1000);
    assert.equal(await jobWorkflows('idle'), 2);
    const ledger = await t.stack.worker!.sink.ledger('idle');
    assert.deepEqual(ledger.map((e) => e.key).sort(), ['idle/1.csv', 'idle/2.csv']);
    assert.equal(await t.stack.worker!.sink.rowCount('idle'), 2);
  });

  it('@auto keeps following the bucket after a first sync in which every file failed', async () => {
    // Fails for good (not gzip): the first sync ends in error.
    await t.put('poll', 'failing/bad.csv.gz', 'not gzip at all');
    t.write('failing.datasource', idNameDataSource('s3://poll/failing/*', { schedule: '@auto' }));
    await deploy();
    const failed = await t.waitForState('failing', (s) => s.counters.syncs === 1 && s.status === 'idle', 60_000);
    assert.equal(failed.counters.filesFailed, 1);
    assert.equal(failed.initialSyncDone, false);

    // Files that land later are loaded by the polls; the failed version is not retried.
    await t.put('poll', 'failing/good.csv', csv([3, 'c']));
    const state = await t.waitForState('failing', (s) => s.counters.filesLoaded === 1 && s.status === 'idle', 30_000);
    assert.equal(state.counters.filesFailed, 1);
    // An overwrite of the failed file is a new version: tried again, and loaded.
    await t.put('poll', 'failing/bad.csv.gz', (await import('node:zlib')).gzipSync(csv([4, 'd'])));
    await t.waitForState('failing', (s) => s.counters.filesLoaded === 2, 30_000);
    const rows = await t.stack.worker!.sink.query('SELECT id FROM failing ORDER BY id');
    assert.deepEqual(
      rows.map((r) => Number(r.id)),
      [3, 4],
    );
  });

  it('a settings signal that does not fit is ignored and recorded; one that fits changes the poll interval in place', async () => {
    const handle = t.stack.client.workflow.getHandle(dataSourceWorkflowId('local', 'idle'));
    const before = await t.waitForState('idle', () => true);
    for (const args of [
      [],
      [null],
      ['fast'],
      [{ pollIntervalSeconds: -1 }],
      [{ pollIntervalSeconds: 2, rateLimited: 'yes' }],
    ]) {
      await handle.signal('settings', ...args);
    }
    const rejected = await t.waitForState(
      'idle',
      (s) => (s.rejectedSignals?.count ?? 0) === (before.rejectedSignals?.count ?? 0) + 5,
    );
    assert.deepEqual(
      rejected.rejectedSignals!.last.slice(-5).map((r) => r.signal),
      Array(5).fill('settings'),
    );
    assert.equal(rejected.rejectedSignals!.last.at(-5)!.reason, 'no payload');

    // An hour between polls: a new file waits ...
    await handle.signal('settings', { pollIntervalSeconds: 3600 });
    await sleep(2 * POLL_S * 1000);
    await t.put('poll', 'idle/3.csv', csv([5, 'e']));
    await sleep(3 * POLL_S * 1000);
    assert.equal((await t.waitForState('idle', () => true)).counters.filesLoaded, 2);
    // ... until the interval is short again (counted from the last listing: at once).
    await handle.signal('settings', { pollIntervalSeconds: POLL_S });
    await t.waitForState('idle', (s) => s.counters.filesLoaded === 3, 15_000);
  });

  it('raising filesPerMinute from 0 and deploying limits the running data sources', async () => {
    t.write('limited.datasource', idNameDataSource('s3://poll/limited/*.csv', { schedule: '@on-demand' }));
    await deploy();
    const limiter = t.stack.client.workflow.getHandle(limiterWorkflowId('local'));
    const unlimited = (await limiter.query(limiterStateQuery)).granted;
    for (let i = 0; i < 3; i++) await t.put('poll', `limited/a${i}.csv`, csv([10 + i, 'a']));
    const firstSync = await t.cli(['datasource', 'sync', 'limited', '--yes']);
    assert.match(firstSync.stdout, /files: 3 found, 3 done/);
    // Unlimited: the job took no tokens.
    assert.equal((await limiter.query(limiterStateQuery)).granted, unlimited);

    // The same datafiles, deployed with a limit of 1 file per period.
    const redeployed = await cliWithLimit(['deploy'], 1);
    assert.equal(redeployed.code, 0, `${redeployed.stdout}\n${redeployed.stderr}`);
    assert.match(redeployed.stdout, /= datasource limited: unchanged/);
    assert.equal((await limiter.query(limiterStateQuery)).config.filesPerPeriod, 1);
    for (let i = 0; i < 3; i++) await t.put('poll', `limited/b${i}.csv`, csv([20 + i, 'b']));
    const startedAt = Date.now();
    const limitedSync = await cliWithLimit(['datasource', 'sync', 'limited', '--yes'], 1);
    assert.match(limitedSync.stdout, /files: 3 found, 3 done/);
    const state = await limiter.query(limiterStateQuery);
    // One token per file, ...
    assert.equal(state.granted - unlimited, 3, JSON.stringify(state.recentGrants));
    // ... one per period: three files need at least two full periods.
    assert.ok(Date.now() - startedAt >= 2 * PERIOD_S * 1000, `took ${Date.now() - startedAt} ms`);
    assert.equal(await t.stack.worker!.sink.rowCount('limited'), 6);
  });
});
