/**
 * Faults of the machinery (R5.3): the worker SIGKILLed mid-download and
 * mid-insert, then restarted; the Temporal dev server restarted mid-sync on
 * its SQLite file; a restarted worker sweeps the scratch folder (downloads)
 * of the one that died. The worker runs in a child process
 * (test/helpers/workerProcess.ts); MinIO sits behind the fault proxy, which
 * slows downloads so that the faults land while files are in flight.
 *
 * Every scenario ends by comparing the table with the files: each row once,
 * each version once in the ledger. The DuckDB file is read by this process
 * only while the child worker is stopped (one process per file).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { dataSourceState, jobReport, requestSync } from '../../src/client/dataSources';
import { defaultSecretsFile, SecretStore } from '../../src/datafiles';
import { DuckDbSink } from '../../src/sinks/duckdb';
import type { DataSourceState } from '../../src/contract';
import { childWorker, type ChildWorker } from '../helpers/childWorker';
import { startFaultProxy, objectGet, type FaultProxy } from '../helpers/faultProxy';
import {
  allHistoriesText,
  assertNoSecrets,
  assertTableMatchesFiles,
  csvRows,
  eventually,
  range,
} from '../helpers/faults';
import { idNameDataSource, minioConnection, startTestStack, type TestStack } from '../helpers/stack';

function datasource(uri: string): string {
  return idNameDataSource(uri);
}

describe('faults: worker killed, Temporal restarted', () => {
  let t: TestStack;
  let proxy: FaultProxy;
  let worker: ChildWorker;

  before(async () => {
    t = await startTestStack({
      worker: false,
      persistentTemporal: true,
      workspace: { filesPerMinute: 0, pollIntervalSeconds: 3600 },
    });
    proxy = await startFaultProxy(t.minio.endpoint);
    new SecretStore(defaultSecretsFile(t.projectDir)).set('TEST_S3_ENDPOINT', proxy.endpoint);
    await t.createBucket('faults');
    t.write('minio.connection', minioConnection());
    t.write('crash.datasource', datasource('s3://faults/crash/*.csv'));
    t.write('restart.datasource', datasource('s3://faults/restart/*.csv'));
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    worker = await childWorker({
      dir: t.root,
      projectDir: t.projectDir,
      temporal: () => t.stack.temporal,
      workspace: t.workspace,
    });
    await worker.start();
  });

  after(async () => {
    await worker?.stop();
    await proxy?.close();
    await t?.stop();
  });

  /** Reads the DuckDB file in this process while the child worker is stopped. */
  async function withSink<T>(fn: (sink: DuckDbSink) => Promise<T>): Promise<T> {
    const sink = await DuckDbSink.open(t.workspace.duckdbPath);
    try {
      return await fn(sink);
    } finally {
      await sink.close();
    }
  }

  /**
   * Downloads of the child worker that are complete on disk (ingest dirs still present: not yet loaded and removed).
   * They are under the sink's scratch folder (s3c-sink-*), the only one its DuckDB may read.
   */
  function downloadsOnDisk(): number[] {
    const sizes: number[] = [];
    for (const sinkDir of readdirSync(worker.tmpDir).filter((d) => d.startsWith('s3c-sink-'))) {
      let dirs: string[];
      try {
        dirs = readdirSync(join(worker.tmpDir, sinkDir));
      } catch {
        continue; // a sink closed meanwhile
      }
      for (const dir of dirs) {
        if (!dir.startsWith('s3c-ingest-')) continue;
        try {
          sizes.push(statSync(join(worker.tmpDir, sinkDir, dir, 'object')).size);
        } catch {
          /* not created yet, or removed meanwhile */
        }
      }
    }
    return sizes;
  }

  async function syncAndWait(name: string, timeoutMs: number, during?: () => Promise<void>): Promise<DataSourceState> {
    const before = await dataSourceState(t.stack.client, 'local', name);
    await requestSync(t.stack.client, 'local', name, { origin: 'test' });
    await during?.();
    return eventually(
      `sync of ${name}`,
      async () => {
        const s = await dataSourceState(t.stack.client, 'local', name);
        return s && s.counters.syncs > (before?.counters.syncs ?? 0) && s.status !== 'syncing' && s.pendingSyncs === 0
          ? s
          : undefined;
      },
      timeoutMs,
      500,
    );
  }

  it('worker SIGKILLed with one file mid-download and one mid-insert: after a restart, every row once', async () => {
    // slow.csv streams for ~20 s through the proxy; big.csv (1M rows) downloads fast and takes a while to insert.
    const slow = csvRows(1, 20_000);
    const big = csvRows(1_000_000, 1_000_000);
    await t.put('faults', 'crash/slow.csv', slow);
    await t.put('faults', 'crash/big.csv', big);
    for (let i = 0; i < 3; i++) await t.put('faults', `crash/small-${i}.csv`, csvRows(100 + i * 10, 10));
    proxy.throttleNext(1, { chunkBytes: 8 * 1024, delayMs: 80 }, objectGet('crash/slow.csv'));

    await requestSync(t.stack.client, 'local', 'crash', { origin: 'test' });
    // The moment: big.csv is on the worker's disk in full (downloaded, not yet loaded and cleaned up)
    // while slow.csv is still streaming.
    // Both conditions at once: big.csv loads while it downloads (a CSV over
    // 1 MiB streams), so it can be whole on disk before slow.csv's activity
    // has sent its GET.
    const slowGetStarted = () => proxy.log.some((r) => r.path.endsWith('crash/slow.csv') && r.method === 'GET');
    await eventually(
      'big.csv downloaded and slow.csv mid-download',
      async () => (downloadsOnDisk().includes(Buffer.byteLength(big)) && slowGetStarted() ? true : undefined),
      120_000,
      5,
    );
    assert.ok(slowGetStarted(), 'slow.csv download has started');
    assert.ok(!downloadsOnDisk().includes(Buffer.byteLength(slow)), 'slow.csv is mid-download at the kill');
    await worker.kill();

    // Right after the crash: the insert of big.csv is all or nothing (rows and ledger in one transaction).
    await withSink(async (sink) => {
      const bigRows = Number((await sink.query(`SELECT count(*) AS n FROM crash WHERE id >= 1000000`))[0]?.n);
      const inLedger = (await sink.ledger('crash')).some((e) => e.key === 'crash/big.csv');
      assert.equal(
        bigRows,
        inLedger ? 1_000_000 : 0,
        'big.csv is loaded entirely with its ledger entry, or not at all',
      );
    });

    await worker.start();
    // The activities of the dead worker are retried once their heartbeat times out (2 minutes).
    const state = await eventually(
      'the sync to finish after the restart',
      async () => {
        const s = await dataSourceState(t.stack.client, 'local', 'crash');
        return s && s.counters.syncs >= 1 && s.status !== 'syncing' ? s : undefined;
      },
      240_000,
      1000,
    );
    assert.equal(state.counters.filesLoaded, 5);
    assert.equal(state.counters.filesFailed, 0);
    const job = await jobReport(t.stack.client, state.lastJobId!);
    assert.equal(job.status, 'done');
    assert.equal(job.statistics.files_done, 5);
    assert.deepEqual(job.errors, []);

    // A second sync finds nothing new.
    const again = await syncAndWait('crash', 60_000);
    assert.equal(again.counters.filesLoaded, 5);
    await worker.stop();
    await withSink((sink) =>
      assertTableMatchesFiles(sink, 'crash', {
        ids: [
          ...range(1, 20_000),
          ...range(1_000_000, 1_000_000),
          ...range(100, 10),
          ...range(110, 10),
          ...range(120, 10),
        ],
        files: {
          'crash/slow.csv': 20_000,
          'crash/big.csv': 1_000_000,
          'crash/small-0.csv': 10,
          'crash/small-1.csv': 10,
          'crash/small-2.csv': 10,
        },
      }),
    );
    await worker.start();
  });

  it('Temporal dev server restarted mid-sync (SQLite file): the sync completes, every row once', async () => {
    for (let i = 0; i < 3; i++) await t.put('faults', `restart/${i}.csv`, csvRows(10_000 * (i + 1), 5_000));
    // Each download streams for several seconds, so the restart lands while they are in flight.
    proxy.throttleNext(3, { chunkBytes: 8 * 1024, delayMs: 100 }, objectGet('restart/'));
    const state = await syncAndWait('restart', 180_000, async () => {
      await eventually(
        'downloads in flight',
        async () =>
          proxy.log.filter((r) => r.path.includes('faults/restart/') && r.method === 'GET').length >= 1
            ? true
            : undefined,
        60_000,
        50,
      );
      await t.restartTemporal(2000);
    });
    assert.equal(state.counters.filesLoaded, 3);
    assert.equal(state.counters.filesFailed, 0);
    assert.equal(state.counters.rows, 15_000);
    const job = await jobReport(t.stack.client, state.lastJobId!);
    assert.equal(job.status, 'done');
    assert.equal(job.statistics.row_count, 15_000);
    // The history survived the restart: the data source's first run is still the one running.
    const again = await syncAndWait('restart', 60_000);
    assert.equal(again.counters.filesLoaded, 3);
    await worker.stop();
    await withSink((sink) =>
      assertTableMatchesFiles(sink, 'restart', {
        ids: [...range(10_000, 5_000), ...range(20_000, 5_000), ...range(30_000, 5_000)],
        files: { 'restart/0.csv': 5_000, 'restart/1.csv': 5_000, 'restart/2.csv': 5_000 },
      }),
    );
    await worker.start();
  });

  it("a worker start removes the scratch folders of dead workers (their downloads), never a live one's", async () => {
    const sinkDirs = (): string[] =>
      readdirSync(worker.tmpDir)
        .filter((d) => d.startsWith('s3c-sink-'))
        .sort();
    const crashed = sinkDirs();
    assert.equal(crashed.length, 1, 'the running worker has one scratch folder');
    writeFileSync(join(worker.tmpDir, crashed[0]!, 'left-download'), Buffer.alloc(1 << 20));
    // A folder another live process owns (this test's), one of a dead process, one from before owner files.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    const folder = (name: string, owner?: number): string => {
      const dir = join(worker.tmpDir, name);
      mkdirSync(join(dir, 's3c-ingest-x'), { recursive: true });
      writeFileSync(join(dir, 's3c-ingest-x', 'object'), Buffer.alloc(1 << 20));
      if (owner !== undefined) writeFileSync(join(dir, 'owner.json'), JSON.stringify({ pid: owner, host: hostname() }));
      return name;
    };
    const live = folder('s3c-sink-live', process.pid);
    folder('s3c-sink-dead', gone);
    const legacy = folder('s3c-sink-legacy');
    const fresh = folder('s3c-sink-fresh-legacy');
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(worker.tmpDir, legacy), hourAgo, hourAgo);

    await worker.kill();
    await worker.start();
    const now = sinkDirs();
    assert.equal(
      now.filter((d) => ![live, fresh].includes(d)).length,
      1,
      `only the new worker's folder is added: ${now.join(', ')}`,
    );
    assert.ok(
      now.includes(live) && now.includes(fresh),
      `a live worker's folder and a recent unowned one stay: ${now.join(', ')}`,
    );
    for (const d of [...crashed, 's3c-sink-dead', legacy]) assert.ok(!now.includes(d), `${d} is swept`);
    for (const d of [live, fresh]) rmSync(join(worker.tmpDir, d), { recursive: true });
  });

  it('no secret value in workflow histories or the worker log', async () => {
    const secrets = { TEST_S3_SECRET: t.minio.secretKey, TEST_S3_ENDPOINT: proxy.endpoint };
    assertNoSecrets(await allHistoriesText(t.stack.client), secrets, 'workflow history');
    await sleep(0);
    assertNoSecrets(worker.output(), secrets, 'worker log');
  });
});
