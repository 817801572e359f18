/**
 * The DuckLake destination end to end (issue 21): a Temporal dev server, MinIO,
 * embedded PostgreSQL, and two product workers in separate OS processes on one
 * ingest task queue, both with `destination: ducklake` (the lake's secrets by
 * name from the project's secret store). `s3c deploy` of an `@once` data
 * source over 40 CSV files: every row once in the lake, each version once in
 * the ledger, whichever worker loaded it, while `s3c sql` (answered by a
 * worker straight from the lake) sees the rows committed so far; then one
 * worker SIGKILLed during another sync and started again; then the catalog's
 * PostgreSQL restarted during a third.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkspaceConfig } from '../../src/config';
import { repoRoot } from '../../src/local/tools';
import { defaultSecretsFile, SecretStore } from '../../src/datafiles';
import { DuckLakeSink, resolveLake } from '../../src/sinks/ducklake';
import { childWorker, type ChildWorker } from '../helpers/childWorker';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres';
import { cliEnv, idNameDataSource, minioConnection, startTestStack, type TestStack } from '../helpers/stack';

const FILES = 40;
const ROWS = 50;

/**
 * `SELECT count(*)` of `table` through `s3c sql` (a query workflow that a
 * worker answers from the lake); undefined while the table does not exist yet.
 */
async function sqlCount(t: TestStack, table: string): Promise<number | undefined> {
  const out = await t.cli(['sql', '--format', 'json', `SELECT count(*) AS n FROM ${table}`]);
  if (out.code !== 0 && /does not exist/.test(out.stderr)) return undefined;
  assert.equal(out.code, 0, out.stderr);
  return Number((JSON.parse(out.stdout) as { data: { n: unknown }[] }).data[0]!.n);
}

/** Runs sqlCount on `table` again and again until `done` settles; the counts seen. */
async function countsWhile(t: TestStack, table: string, done: Promise<unknown>): Promise<number[]> {
  let settled = false;
  void done.finally(() => (settled = true)).catch(() => undefined);
  const counts: number[] = [];
  while (!settled) {
    const n = await sqlCount(t, table);
    if (n !== undefined) counts.push(n);
  }
  return counts;
}

/**
 * `s3c deploy` with the workspace's rate limit at `filesPerSecond`: a sync
 * then loads a few files per commit over several seconds, so that a query or
 * a restart lands between its commits (unlimited, 80 small files load in one
 * batch).
 */
function deployThrottled(t: TestStack, filesPerSecond: number): Promise<void> {
  const env = cliEnv(t.stack.temporal.temporal.address, {
    ...t.workspace,
    filesPerMinute: filesPerSecond,
    rateLimitPeriodSeconds: 1,
  });
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin', 's3c.js'), 'deploy'],
      { cwd: t.projectDir, env, timeout: 120_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`deploy: ${String(err)}\n${stdout}\n${stderr}`)) : resolve()),
    ).stdin?.end();
  });
}

/**
 * Waits until `table` on the lake holds at least `rows` rows (read by the
 * test's own sink: the data source's counters move only when a job ends).
 */
async function lakeRowsReach(sink: DuckLakeSink, table: string, rows: number, timeoutMs = 240_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await sink.rowCount(table).catch(() => 0);
    if (n >= rows) return n;
    if (Date.now() > deadline) throw new Error(`${table} has ${n} rows after ${timeoutMs} ms, not ${rows}`);
    await sleep(200);
  }
}

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
    await putFiles(t, 'restart', FILES * 2);
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

  /** `files` files of ROWS rows each on the lake: every row once, each version once in the ledger. */
  async function assertEachFileOnce(stack: TestStack, table: string, files: number): Promise<void> {
    const sink = await openLake(stack);
    try {
      assert.deepEqual(await sink.query(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${table}`), [
        { n: files * ROWS, d: files * ROWS },
      ]);
      const ledger = await sink.ledger(table);
      assert.equal(ledger.length, files);
      assert.equal(new Set(ledger.map((e) => e.key)).size, files);
      assert.ok(ledger.every((e) => e.rows === ROWS));
    } finally {
      await sink.close();
    }
  }

  /**
   * Deploys `<name>.datasource` (@once over `landing/<name>/`) at 4 files a
   * second, and returns once its table on the lake holds `rows` rows (how
   * many it holds then): the sync goes on.
   */
  async function syncUntil(stack: TestStack, name: string, rows: number): Promise<number> {
    stack.write(`${name}.datasource`, idNameDataSource(`s3://landing/${name}/*.csv`, { schedule: '@once' }));
    const watcher = await openLake(stack);
    try {
      await deployThrottled(stack, 4);
      return await lakeRowsReach(watcher, name, rows);
    } finally {
      await watcher.close();
    }
  }

  /** The data source's state once its first sync is done (the workers' last output in the error otherwise). */
  function synced(stack: TestStack, name: string, timeoutMs: number) {
    return stack
      .waitForState(name, (s) => s.initialSyncDone && s.status === 'resting', timeoutMs)
      .catch((e: unknown) => {
        throw new Error(`${String(e)}\nworker logs:\n${workers.map((w) => w.output().slice(-2000)).join('\n---\n')}`);
      });
  }

  it('loads every file once into the lake, whichever worker takes it; s3c sql sees the rows committed so far', async (tc) => {
    const stack = t!;
    stack.write('minio.connection', minioConnection());
    stack.write('events.datasource', idNameDataSource('s3://landing/events/*.csv', { schedule: '@once' }));
    await deployThrottled(stack, 3);
    const done = synced(stack, 'events', 240_000);
    const [counts, state] = await Promise.all([countsWhile(stack, 'events', done), done]);
    // Issue 21: queries while loading. A version's rows commit with its ledger entry, all at once.
    tc.diagnostic(`s3c sql counts during the sync: ${counts.join(', ')}`);
    assert.ok(counts.length > 0, 'no s3c sql answered during the sync');
    counts.forEach((n, i) => {
      assert.ok(i === 0 || n >= counts[i - 1]!, `counts went down: ${counts.join(', ')}`);
      assert.ok(n <= FILES * ROWS && n % ROWS === 0, `count ${n}: more than loaded, or part of a file`);
    });
    assert.equal(await sqlCount(stack, 'events'), FILES * ROWS);
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

  it('a worker SIGKILLed mid-sync and restarted: nothing lost, nothing doubled', async (tc) => {
    const stack = t!;
    const atKill = await syncUntil(stack, 'crash', 5 * ROWS);
    await workers[0]!.kill();
    await workers[0]!.start();
    tc.diagnostic(`SIGKILL at ${atKill} rows`);
    const state = await synced(stack, 'crash', 300_000);
    assert.deepEqual([state.counters.filesLoaded, state.counters.filesFailed], [FILES * 2, 0]);
    assert.ok(atKill < FILES * 2 * ROWS, 'the kill came after the sync: nothing was tested');
    await assertEachFileOnce(stack, 'crash', FILES * 2);
  });

  it('the catalog PostgreSQL restarted mid-sync: nothing lost, nothing doubled', async (tc) => {
    const stack = t!;
    const atRestart = await syncUntil(stack, 'restart', 10 * ROWS);
    // Fast shutdown: the workers' catalog sessions end, loads in flight fail and are retried.
    await postgres!.restart();
    const state = await synced(stack, 'restart', 300_000);
    tc.diagnostic(`PostgreSQL restarted at ${atRestart} rows`);
    assert.ok(atRestart < FILES * 2 * ROWS, 'the restart came after the sync: nothing was tested');
    assert.deepEqual([state.counters.filesLoaded, state.counters.filesFailed], [FILES * 2, 0]);
    await assertEachFileOnce(stack, 'restart', FILES * 2);
  });
});
