/**
 * The parts of the DuckLake destination, proved together before it is built
 * (issue 21, item 3): embedded PostgreSQL (the catalog) and MinIO (the Parquet
 * files) on random loopback ports; DuckDB loads the three extensions by path
 * from `.tools/duckdb-extensions`, with downloads off. What this found is
 * written up in docs/ducklake.md.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CreateBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { defaultSecretsFile, SecretStore } from '../../src/datafiles';
import { freePort, spawnManaged, startMinio, waitUntil, type MinioServer } from '../../src/local/processes';
import { minioS3Client } from '../../src/local/stack';
import { repoRoot } from '../../src/local/tools';
import { DUCKDB_EXTENSION_VERSION, loadDuckdbExtensions } from '../../src/util/duckdbExtensions';
import { inChildProcess, openLake, sqlLiteral, type LakeConfig } from '../helpers/lake';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres';

const BUCKET = 'lake';
/** DuckLake keeps inserts of up to 10 rows inline in the catalog; more rows than that make a Parquet file. */
const ROWS = 1000;
const CONFLICT =
  /^TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction\.\nTransaction conflict - attempting to delete from table with index "\d+" - but another transaction has deleted from it$/;

describe('DuckLake parts: embedded PostgreSQL, MinIO, the extensions by path', () => {
  const dir = mkdtempSync(join(tmpdir(), 's3c-lakeparts-'));
  let postgres: TestPostgres | undefined;
  let minio: MinioServer | undefined;
  let s3: S3Client;
  let config: LakeConfig;
  const open: { closeSync(): void }[] = [];
  let startMs = 0;

  /** A new DuckDB on the lake; closed after the tests. */
  async function lake(): Promise<DuckDBConnection> {
    const { instance, connection } = await openLake(config);
    open.push(connection, instance);
    return connection;
  }

  async function scalar(connection: DuckDBConnection, sql: string): Promise<unknown> {
    return (await connection.runAndReadAll(sql)).getRowsJson()[0]?.[0];
  }

  async function parquetKeys(): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'data/' }));
    return (listed.Contents ?? []).map((o) => o.Key ?? '').filter((k) => k.endsWith('.parquet'));
  }

  before(async () => {
    const started = Date.now();
    [postgres, minio] = await Promise.all([
      startTestPostgres(),
      startMinio({ dataDir: join(dir, 'minio'), stateDir: dir }),
    ]);
    startMs = Date.now() - started;
    s3 = minioS3Client(minio);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const { port, user, password, database } = postgres.server;
    config = {
      postgres: { port, user, password, database },
      s3: { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey },
      dataPath: `s3://${BUCKET}/data/`,
    };
  });

  after(async () => {
    for (const handle of open.reverse()) handle.closeSync();
    await Promise.all([postgres?.stop(), minio?.stop()]);
    s3?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('DuckDB loads ducklake, httpfs and postgres_scanner by path, of its own version', async (t) => {
    t.diagnostic(`PostgreSQL (initdb + start) and MinIO ready in ${startMs} ms`);
    const connection = await lake();
    assert.equal(await scalar(connection, 'SELECT version()'), `v${DUCKDB_EXTENSION_VERSION}`);
    // Loaded from a file and never installed (DuckDB's INSTALL would copy it under ~/.duckdb): install_mode NOT_INSTALLED.
    const sql =
      "SELECT extension_name, extension_version FROM duckdb_extensions() WHERE loaded AND install_mode = 'NOT_INSTALLED' ORDER BY 1";
    const loaded = (await connection.runAndReadAll(sql)).getRowsJson();
    t.diagnostic(`loaded by path: ${loaded.map(([name, version]) => `${String(name)} ${String(version)}`).join(', ')}`);
    assert.deepEqual(
      loaded.map(([name]) => name),
      ['ducklake', 'httpfs', 'postgres_scanner'],
    );
    assert.equal(await scalar(connection, "SELECT current_setting('autoinstall_known_extensions')"), false);
  });

  it('rows committed in a transaction land as Parquet in MinIO, and another process reads them', async (t) => {
    const writer = await lake();
    await writer.run('CREATE TABLE events (id INTEGER, name VARCHAR)');
    const started = Date.now();
    await writer.run('BEGIN');
    await writer.run(`INSERT INTO events SELECT i, 'n' || i FROM range(${ROWS}) t(i)`);
    await writer.run("INSERT INTO events VALUES (-1, 'inlined')");
    await writer.run('COMMIT');
    t.diagnostic(`${ROWS + 1} rows committed in ${Date.now() - started} ms`);
    assert.ok((await parquetKeys()).length >= 1, 'no Parquet file under s3://lake/data/');
    const readStarted = Date.now();
    const rows = await inChildProcess(config, ['SELECT count(*)::INTEGER, sum(id)::BIGINT FROM events']);
    t.diagnostic(
      `a second process (node + tsx, extensions, attach, query) read them in ${Date.now() - readStarted} ms`,
    );
    assert.deepEqual(rows, [[ROWS + 1, String((ROWS * (ROWS - 1)) / 2 - 1)]]);
  });

  it('two processes committing to one table at the same time both commit: appends do not conflict', async (t) => {
    const commits = 5;
    const batch = (tag: string): string[] =>
      Array.from({ length: commits }, (_, i) => [
        `BEGIN`,
        `INSERT INTO appends SELECT '${tag}', ${i}, i FROM range(100) t(i)`,
        'COMMIT',
      ]).flat();
    const setup = await lake();
    await setup.run('CREATE TABLE appends (writer VARCHAR, batch INTEGER, i INTEGER)');
    const started = Date.now();
    await Promise.all([inChildProcess(config, batch('a')), inChildProcess(config, batch('b'))]);
    t.diagnostic(`2 processes × ${commits} commits of 100 rows in ${Date.now() - started} ms`);
    const counts = (
      await setup.runAndReadAll('SELECT writer, count(*)::INTEGER FROM appends GROUP BY 1 ORDER BY 1')
    ).getRowsJson();
    assert.deepEqual(counts, [
      ['a', commits * 100],
      ['b', commits * 100],
    ]);
  });

  it('an insert-only ledger does not see a race: both writers of one key commit', async () => {
    const [a, b] = [await lake(), await lake()];
    await a.run('CREATE TABLE ledger_insert_only (version_key VARCHAR)');
    await Promise.all([a.run('BEGIN'), b.run('BEGIN')]);
    await a.run("INSERT INTO ledger_insert_only VALUES ('v1')");
    await b.run("INSERT INTO ledger_insert_only VALUES ('v1')");
    await a.run('COMMIT');
    await b.run('COMMIT');
    assert.equal(await scalar(a, "SELECT count(*)::INTEGER FROM ledger_insert_only WHERE version_key = 'v1'"), 2);
  });

  it('two transactions that delete from one table conflict: the second commit fails and none of its rows (data and ledger) land', async (t) => {
    const [a, b] = [await lake(), await lake()];
    await a.run('CREATE TABLE claims (version_key VARCHAR)');
    await a.run('CREATE TABLE claimed_rows (writer VARCHAR, i INTEGER)');
    await a.run("INSERT INTO claims VALUES ('v1'), ('v2')");
    await Promise.all([a.run('BEGIN'), b.run('BEGIN')]);
    for (const [connection, writer] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      await connection.run(`INSERT INTO claimed_rows SELECT '${writer}', i FROM range(${ROWS}) t(i)`);
      // Different rows: DuckLake checks deletes per table, not per row.
      await connection.run(`DELETE FROM claims WHERE version_key = '${writer === 'a' ? 'v1' : 'v2'}'`);
    }
    await a.run('COMMIT');
    const failed = await b.run('COMMIT').then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    t.diagnostic(`the second commit failed with: ${JSON.stringify(failed)}`);
    assert.match(failed ?? 'it committed', CONFLICT);
    await b.run('ROLLBACK').catch(() => undefined);
    assert.deepEqual(
      (await a.runAndReadAll('SELECT writer, count(*)::INTEGER FROM claimed_rows GROUP BY 1')).getRowsJson(),
      [['a', ROWS]],
    );
    assert.deepEqual((await b.runAndReadAll('SELECT version_key FROM claims')).getRowsJson(), [['v2']]);
  });

  it('a transaction over data and ledger that rolls back leaves no rows, no snapshot and no Parquet file (written at INSERT, deleted at ROLLBACK)', async (t) => {
    const connection = await lake();
    await connection.run('CREATE TABLE data (id INTEGER)');
    await connection.run('CREATE TABLE ledger (version_key VARCHAR, row_count INTEGER)');
    const snapshots = await scalar(connection, 'SELECT max(snapshot_id)::INTEGER FROM lake.snapshots()');
    const filesBefore = (await parquetKeys()).length;
    await connection.run('BEGIN');
    await connection.run(`INSERT INTO data SELECT i FROM range(${ROWS}) t(i)`);
    await connection.run(`INSERT INTO ledger VALUES ('v1', ${ROWS})`);
    // DuckLake writes the Parquet file at INSERT time, before COMMIT; ROLLBACK deletes it.
    assert.equal((await parquetKeys()).length, filesBefore + 1, 'the insert wrote its file before the commit');
    await connection.run('ROLLBACK');
    assert.equal(await scalar(connection, 'SELECT count(*)::INTEGER FROM data'), 0);
    assert.equal(await scalar(connection, 'SELECT count(*)::INTEGER FROM ledger'), 0);
    assert.equal(await scalar(connection, 'SELECT max(snapshot_id)::INTEGER FROM lake.snapshots()'), snapshots);
    const other = await inChildProcess(config, [
      'SELECT (SELECT count(*) FROM data)::INTEGER, (SELECT count(*) FROM ledger)::INTEGER',
    ]);
    assert.deepEqual(other, [[0, 0]]);
    const filesAfter = (await parquetKeys()).length;
    t.diagnostic(`Parquet files in MinIO: ${filesBefore} before the rolled-back insert, ${filesAfter} after`);
    assert.equal(filesAfter, filesBefore, 'the rolled-back insert left no file');
  });
});

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveProbe(true);
    });
    socket.once('error', () => resolveProbe(false));
  });
}

/** Modes of everything under `dir` that is not 0700 (folders) or 0600 (files). */
function notPrivate(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    const mode = (st.mode & 0o777).toString(8);
    if (mode !== (st.isDirectory() ? '700' : '600')) found.push(`${mode} ${path}`);
    if (st.isDirectory()) found.push(...notPrivate(path));
  }
  return found;
}

describe('s3c local start --lake', () => {
  const dir = mkdtempSync(join(tmpdir(), 's3c-locallake-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'starts PostgreSQL beside Temporal, prints its URL, stores it as a secret that DuckLake attaches with; s3c local stop stops it all',
    { timeout: 300_000 },
    async (t) => {
      const project = join(dir, 'project');
      mkdirSync(project);
      const [port, uiPort, postgresPort, apiPort] = [
        await freePort(),
        await freePort(),
        await freePort(),
        await freePort(),
      ];
      const logFile = join(dir, 'local-start.log');
      const args = [
        'local',
        'start',
        '--lake',
        '--postgres-port',
        String(postgresPort),
        '--port',
        String(port),
        '--ui-port',
        String(uiPort),
      ];
      const env = { ...process.env, S3C_API_PORT: String(apiPort), S3C_API_TOKEN: 'local-lake-test-token' };
      const cli = spawnManaged('s3c local start', process.execPath, [join(repoRoot, 'bin', 's3c.js'), ...args], {
        cwd: project,
        logFile,
        env,
      });
      try {
        const started = Date.now();
        await waitUntil(
          's3c local start --lake',
          async () => readFileSync(logFile, 'utf8').includes('Ready.'),
          cli,
          240_000,
        );
        t.diagnostic(`s3c local start --lake ready in ${Date.now() - started} ms`);
        assert.match(
          readFileSync(logFile, 'utf8'),
          new RegExp(`PostgreSQL \\(DuckLake catalog\\): postgresql://s3c@127\\.0\\.0\\.1:${postgresPort}/ducklake\n`),
        );
        const url = new SecretStore(defaultSecretsFile(project)).get('LOCAL_POSTGRES_URL') ?? '';
        assert.match(url, new RegExp(`^postgresql://s3c:[\\w-]+@127\\.0\\.0\\.1:${postgresPort}/ducklake$`));
        assert.ok(
          !readFileSync(logFile, 'utf8').includes(url.split(/[:@]/)[2] ?? 'none'),
          'the password is not printed',
        );
        // DuckDB's postgres extension takes a libpq URL as well as key=value pairs.
        const instance = await DuckDBInstance.create(':memory:');
        const connection = await instance.connect();
        await loadDuckdbExtensions(connection);
        await connection.run(
          `ATTACH ${sqlLiteral(`ducklake:postgres:${url}`)} AS lake (DATA_PATH ${sqlLiteral(join(dir, 'lake-files/'))})`,
        );
        await connection.run('CREATE TABLE lake.t AS SELECT 42 AS answer');
        assert.equal((await connection.runAndReadAll('SELECT answer FROM lake.t')).getRowsJson()[0]?.[0], 42);
        connection.closeSync();
        instance.closeSync();
        assert.deepEqual(
          notPrivate(join(project, '.s3c', 'local', 'postgres')),
          [],
          'the cluster is private: folders 0700, files 0600',
        );
        const stop = await promisify(execFile)(process.execPath, [join(repoRoot, 'bin', 's3c.js'), 'local', 'stop'], {
          cwd: project,
        });
        assert.match(stop.stdout, /✓ Stopped\./);
        assert.equal(await cli.exited, '0');
        assert.equal(await accepts(postgresPort), false, 'PostgreSQL is stopped');
        assert.ok(
          readFileSync(join(project, '.s3c', 'local', 'postgres.log'), 'utf8').includes('database system is shut down'),
        );
        assert.ok(!existsSync(join(project, '.s3c', 'local', 'local.pid')));
        const again = await promisify(execFile)(process.execPath, [join(repoRoot, 'bin', 's3c.js'), 'local', 'stop'], {
          cwd: project,
        });
        assert.match(again.stdout, /No `s3c local start` is running for this project\./);
      } finally {
        await cli.stop();
      }
    },
  );
});
