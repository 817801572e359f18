/**
 * The DuckLake destination end to end (issue 21): a Temporal dev server, MinIO,
 * embedded PostgreSQL, and two product workers in separate OS processes on one
 * ingest task queue, both with `destination: ducklake` (the lake's secrets by
 * name from the project's secret store). `s3c deploy` of an `@once` data
 * source over 40 CSV files: every row once in the lake, each version once in
 * the ledger, whichever worker loaded it; then one worker SIGKILLed during
 * another sync and started again.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkspaceConfig } from '../../src/config';
import { defaultSecretsFile, SecretStore } from '../../src/datafiles';
import { DuckLakeSink, resolveLake } from '../../src/sinks/ducklake';
import { childWorker, type ChildWorker } from '../helpers/childWorker';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres';
import { idNameDataSource, minioConnection, startTestStack, type TestStack } from '../helpers/stack';

const FILES = 40;
const ROWS = 50;

/** `count` CSV files of ROWS rows under `prefix`, ids from `first` on. */
async function putFiles(t: TestStack, prefix: string, count: number, first = 0): Promise<void> {
  for (let f = 0; f < count; f++) {
    const rows = Array.from({ length: ROWS }, (_, i) => `${first + f * ROWS + i},name${f * ROWS + i}`);
    await t.put('landing', `${prefix}/${String(f).padStart(3, '0')}.csv`, `id,name\n${rows.join('\n')}\n`);
  }
}

describe('DuckLake destination: two worker processes, one lake, a sync through Temporal', () => {
  let t: TestStack | undefined;
  let postgres: TestPostgres | undefined;
  const workers: ChildWorker[] = [];
  let workspace: WorkspaceConfig;
  /** The secrets, to check that no worker printed one. */
  const secrets: string[] = [];

  before(async () => {
    [t, postgres] = await Promise.all([
      startTestStack({ worker: false, workspace: { filesPerMinute: 0 } }),
      startTestPostgres(),
    ]);
    await Promise.all([t.createBucket('landing'), t.createBucket('lake')]);
    await putFiles(t, 'events', FILES);
    await putFiles(t, 'crash', FILES * 2);
    const { port, user, password, database } = postgres.server;
    secrets.push(password, t.minio.secretKey);
    new SecretStore(defaultSecretsFile(t.projectDir)).set(
      'LAKE_URL',
      `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    );
    workspace = {
      ...t.workspace,
      destination: 'ducklake',
      // The MinIO keys are the secrets of the stack's connection (storeMinioSecrets).
      lake: {
        catalog: 'LAKE_URL',
        dataPath: 's3://lake/data/',
        s3: {
          endpoint: t.minio.endpoint,
          region: 'us-east-1',
          accessKeyId: 'TEST_S3_ACCESS_KEY',
          secretAccessKey: 'TEST_S3_SECRET',
        },
      },
    };
    for (const n of [1, 2]) {
      const dir = join(t.root, `worker-${n}`);
      mkdirSync(dir, { recursive: true });
      const stack = t;
      workers.push(
        await childWorker({ dir, projectDir: t.projectDir, temporal: () => stack.stack.temporal, workspace }),
      );
    }
    await Promise.all(workers.map((w) => w.start()));
  });

  function openLake(stack: TestStack): Promise<DuckLakeSink> {
    return DuckLakeSink.open(
      resolveLake(workspace.lake!, (name) => new SecretStore(defaultSecretsFile(stack.projectDir)).get(name)),
    );
  }

  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all([t?.stop(), postgres?.stop()]);
  });

  it('loads every file once into the lake, whichever worker takes it', async () => {
    const stack = t!;
    stack.write('minio.connection', minioConnection());
    stack.write('events.datasource', idNameDataSource('s3://landing/events/*.csv', { schedule: '@once' }));
    const out = await stack.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr);
    const state = await stack
      .waitForState('events', (s) => s.initialSyncDone && s.status === 'resting', 240_000)
      .catch((e: unknown) => {
        throw new Error(`${String(e)}\nworker logs:\n${workers.map((w) => w.output().slice(-2000)).join('\n---\n')}`);
      });
    assert.deepEqual(
      [state.counters.filesLoaded, state.counters.rows, state.counters.filesFailed],
      [FILES, FILES * ROWS, 0],
    );
    const sink = await openLake(stack);
    try {
      assert.equal(await sink.rowCount('events'), FILES * ROWS);
      assert.deepEqual(await sink.query('SELECT count(DISTINCT id) AS n, min(id) AS lo, max(id) AS hi FROM events'), [
        { n: FILES * ROWS, lo: 0, hi: FILES * ROWS - 1 },
      ]);
      const ledger = await sink.ledger('events');
      assert.equal(ledger.length, FILES);
      assert.equal(new Set(ledger.map((e) => e.key)).size, FILES);
      assert.ok(ledger.every((e) => e.rows === ROWS));
    } finally {
      await sink.close();
    }
    for (const w of workers) {
      assert.doesNotMatch(w.output(), /worker failed/);
      for (const secret of secrets) assert.ok(!w.output().includes(secret), 'a worker printed a secret of the lake');
    }
  });

  it('a worker SIGKILLed mid-sync and restarted: nothing lost, nothing doubled', async () => {
    const stack = t!;
    stack.write('crash.datasource', idNameDataSource('s3://landing/crash/*.csv', { schedule: '@once' }));
    const out = await stack.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr);
    await stack.waitForState('crash', (s) => s.counters.filesLoaded >= 5, 240_000);
    await workers[0]!.kill();
    await workers[0]!.start();
    const state = await stack
      .waitForState('crash', (s) => s.initialSyncDone && s.status === 'resting', 300_000)
      .catch((e: unknown) => {
        throw new Error(`${String(e)}\nworker logs:\n${workers.map((w) => w.output().slice(-2000)).join('\n---\n')}`);
      });
    assert.deepEqual([state.counters.filesLoaded, state.counters.filesFailed], [FILES * 2, 0]);
    const sink = await openLake(stack);
    try {
      assert.deepEqual(await sink.query('SELECT count(*) AS n, count(DISTINCT id) AS d FROM crash'), [
        { n: FILES * 2 * ROWS, d: FILES * 2 * ROWS },
      ]);
      const ledger = await sink.ledger('crash');
      assert.equal(ledger.length, FILES * 2);
      assert.equal(new Set(ledger.map((e) => e.key)).size, FILES * 2);
    } finally {
      await sink.close();
    }
  });
});
