/**
 * The DuckLake destination (issue 21, item 2) on real parts: embedded
 * PostgreSQL (the catalog), MinIO (the Parquet files), DuckDB with the
 * extensions loaded by path. Formats, quarantine and the ledger as on the
 * DuckDB file; exactly once when two loader processes race on the same
 * versions.
 */
import { SQL_DEFAULT_ROW_LIMIT, SQL_DEFAULT_TIMEOUT_MS, SQL_MAX_RESULT_BYTES } from '../../src/contract/sql';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { ConfigError } from '../../src/config';
import { parseDataSource } from '../../src/datafiles';
import { repoRoot } from '../../src/local/tools';
import type { IngestFileInput, IngestFileResult } from '../../src/sinks/destination';
import { DuckLakeSink, resolveLake, TOKEN_TABLES, type LakeAccess } from '../../src/sinks/ducklake';
import { startTestLake, type TestLake } from '../helpers/lakeStack';

const DATASOURCE = 'SCHEMA >\n    `id` Int32,\n    `name` String,\n    `amount` Nullable(Float64)\n';

describe('DuckLake destination: embedded PostgreSQL + MinIO', () => {
  let lake: TestLake | undefined;
  let dir: string;
  let access: LakeAccess;
  let seq = 0;

  before(async () => {
    lake = await startTestLake();
    ({ dir, access } = lake);
  });

  after(async () => {
    await lake?.stop();
  });

  /** Writes `content` to a new file; the input that loads it as version `etag` of `key`. */
  function input(
    name: string,
    format: IngestFileInput['format'],
    content: string | Buffer | undefined,
    over: Partial<IngestFileInput> = {},
  ): IngestFileInput {
    const localPath = join(dir, `in-${++seq}.${format}`);
    if (content !== undefined) writeFileSync(localPath, content);
    const dataSource = parseDataSource(DATASOURCE, `${name}.datasource`);
    return {
      dataSource,
      localPath,
      format,
      compression: 'none',
      bucket: 'src',
      key: `${name}/${seq}.${format}`,
      etag: `"e${seq}"`,
      size: content?.length ?? 0,
      lastModified: '2026-12-01T00:00:00Z',
      jobId: 'job-1',
      ...over,
    };
  }

  function csvRows(from: number, n: number): string {
    return Array.from({ length: n }, (_, i) => `${from + i},name${from + i},${(from + i) / 2}`).join('\n') + '\n';
  }

  it('refuses a catalog URL with its password in s3c.yaml, and names the secret (not its value) when one is missing', async () => {
    const lake = {
      catalog: 'postgresql://s3c:hunter2@127.0.0.1:5432/ducklake',
      dataPath: 's3://b/p/',
      s3: { region: 'us-east-1', accessKeyId: 'K', secretAccessKey: 'S' },
    };
    assert.throws(
      () => resolveLake(lake, () => 'x'),
      (e: Error) => e instanceof ConfigError && !e.message.includes('hunter2'),
    );
    assert.throws(
      () => resolveLake({ ...lake, catalog: 'LAKE_URL' }, () => undefined),
      (e: Error) => e instanceof ConfigError && /the secret LAKE_URL is not set/.test(e.message),
    );
    // A catalog that cannot be reached: DuckDB's error names the host, not the password or the keys.
    const wrong = { ...access, catalog: { ...access.catalog, port: 1, password: 'not-this-pw-123' } };
    await assert.rejects(
      DuckLakeSink.open(wrong),
      (e: Error) =>
        /Unable to connect to Postgres/.test(e.message) &&
        !e.message.includes('not-this-pw-123') &&
        !e.message.includes(access.s3.secretAccessKey),
    );
  });

  it('loads CSV, NDJSON and Parquet, quarantines bad rows, and records each version once', async () => {
    const sink = await DuckLakeSink.open(access, { fileDirectories: [dir] });
    try {
      const parquetPath = join(dir, 'rows.parquet');
      const duck = await DuckDBInstance.create(':memory:');
      const c = await duck.connect();
      await c.run(
        `COPY (SELECT range::INTEGER AS id, 'p' || range AS name, range / 4 AS amount FROM range(3000, 3500)) TO '${parquetPath}' (FORMAT parquet)`,
      );
      c.closeSync();
      duck.closeSync();
      const csv = input('sales', 'csv', 'id,name,amount\n' + csvRows(1, 1000));
      const ndjson = input(
        'sales',
        'ndjson',
        Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: 2000 + i, name: `n${i}`, amount: i })).join('\n') +
          '\n',
      );
      const parquet = input('sales', 'parquet', undefined, { localPath: parquetPath, size: 1 });
      const bad = input('sales', 'csv', 'id,name,amount\n' + csvRows(5000, 20) + 'x,bad,1\n5100,ok,notanumber\n');
      const results: IngestFileResult[] = [];
      for (const i of [csv, ndjson, parquet, bad]) results.push(await sink.ingestFile(i));
      assert.deepEqual(
        results.map((r) => [r.rows, r.quarantined, r.alreadyLoaded]),
        [
          [1000, 0, false],
          [200, 0, false],
          [500, 0, false],
          [20, 2, false],
        ],
      );
      assert.equal(await sink.rowCount('sales'), 1720);
      assert.deepEqual(await sink.query('SELECT min(id) AS lo, max(id) AS hi, count(DISTINCT id) AS n FROM sales'), [
        { lo: 1, hi: 5019, n: 1720 },
      ]);
      assert.deepEqual(await sink.query('SELECT c__line, c__error_column FROM sales_quarantine ORDER BY c__line'), [
        { c__line: 22, c__error_column: ['id'] },
        { c__line: 23, c__error_column: ['amount'] },
      ]);
      const ledger = await sink.ledger('sales');
      assert.deepEqual(
        ledger.map((e) => [e.key, e.etag, e.rows, e.quarantined]).sort(),
        [csv, ndjson, parquet, bad]
          .map((i, k) => [i.key, i.etag.replace(/"/g, ''), results[k]!.rows, results[k]!.quarantined])
          .sort(),
      );
      // A second load of a version loads nothing and returns the first one's result.
      const again = await sink.ingestFile(csv);
      assert.deepEqual(
        [again.rows, again.alreadyLoaded, again.loadedAt],
        [1000, true, ledger.find((e) => e.key === csv.key)!.loadedAt],
      );
      assert.equal(await sink.rowCount('sales'), 1720);
      // The batch path on the lake too: two small files in one call, then again (already loaded).
      const batch = [input('sales', 'csv', csvRows(7000, 5)), input('sales', 'csv', csvRows(7100, 5))];
      const outs = await sink.ingestFiles(batch);
      assert.deepEqual(
        outs.map((o) => o.ok && [o.result.rows, o.result.alreadyLoaded]),
        [
          [5, false],
          [5, false],
        ],
      );
      assert.deepEqual(
        (await sink.ingestFiles(batch)).map((o) => o.ok && o.result.alreadyLoaded),
        [true, true],
      );
      assert.equal(await sink.rowCount('sales'), 1730);
      assert.equal((await sink.ledger('sales')).length, 6);
      // Every token table has its one row.
      for (let n = 0; n < TOKEN_TABLES; n++)
        assert.equal(await sink.rowCount(`s3c_token_${String(n).padStart(2, '0')}`), 1);
      // `s3c sql` on the lake: read-only, the same checks as on the DuckDB file.
      const limits = {
        rowLimit: SQL_DEFAULT_ROW_LIMIT,
        timeoutMs: SQL_DEFAULT_TIMEOUT_MS,
        maxBytes: SQL_MAX_RESULT_BYTES,
      };
      const answer = await sink.runSql({
        sql: 'SELECT count(*) AS n, count(DISTINCT id) AS ids FROM sales',
        ...limits,
      });
      assert.deepEqual(answer.data, [['1730', '1730']]);
      await assert.rejects(
        sink.runSql({ sql: 'DELETE FROM sales', ...limits }),
        /DELETE|read-only|not allowed|refused/i,
      );
      assert.equal(await sink.rowCount('sales'), 1730);
    } finally {
      await sink.close();
    }
  });

  it('ENGINE_PARTITION_KEY partitions the lake table by month; ENGINE_TTL deletes rows on the lake', async () => {
    const sink = await DuckLakeSink.open(access, { fileDirectories: [dir] });
    try {
      const ds = parseDataSource(
        'SCHEMA >\n    `id` Int32,\n    `ts` DateTime\n\nENGINE_PARTITION_KEY "toYYYYMM(ts)"\n',
        'events.datasource',
      );
      await sink.ensureTables(ds);
      assert.deepEqual(sink.warnings, []);
      const old = Array.from({ length: 30 }, (_, i) => `${i},2020-01-01 00:00:00`).join('\n');
      const fresh = Array.from({ length: 20 }, (_, i) => `${100 + i},2026-12-01 00:00:00`).join('\n');
      const i = { ...input('events', 'csv', old + '\n' + fresh + '\n'), dataSource: ds };
      assert.equal((await sink.ingestFile(i)).rows, 50);
      const files = await sink.query(
        "SELECT data_file FROM ducklake_list_files('s3c_lake', 'events') ORDER BY data_file",
      );
      assert.deepEqual(
        files.map((f) => /year=(\d+)\/month=(\d+)\//.exec(String(f.data_file))?.slice(1)),
        [
          ['2020', '1'],
          ['2026', '12'],
        ],
      );
      const odd = parseDataSource(
        'SCHEMA >\n    `id` Int32\n\nENGINE_PARTITION_KEY "intHash32(id) % 4"\n',
        'odd.datasource',
      );
      await sink.ensureTables(odd);
      assert.match(
        sink.warnings.join('\n'),
        /odd: ENGINE_PARTITION_KEY intHash32\(id\) % 4 is not a DuckLake partitioning/,
      );
      const deleted = await sink.expireRows(
        'events',
        { column: 'ts', amount: 30, unit: 'day' },
        new Date('2026-12-03T00:00:00Z'),
      );
      assert.equal(deleted, 30);
      assert.equal(await sink.rowCount('events'), 20);
    } finally {
      await sink.close();
    }
  });

  it('two loader processes racing on the same 20 versions load each version once', async (t) => {
    const inputs = Array.from({ length: 20 }, (_, v) => input('race', 'csv', csvRows(v * 1000, 1000)));
    const startAt = Date.now() + 9_000;
    const child = (order: IngestFileInput[]) =>
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'test', 'helpers', 'lakeLoaderChild.ts')],
        {
          cwd: repoRoot,
          env: {
            ...process.env,
            S3C_TEST_LAKE_ACCESS: JSON.stringify(access),
            S3C_TEST_INPUTS: JSON.stringify(order),
            S3C_TEST_FILE_DIRS: JSON.stringify([dir]),
            S3C_TEST_START_AT: String(startAt),
          },
          timeout: 240_000,
        },
      );
    // Same order in both: every version is contended.
    const outs = await Promise.all([child(inputs), child(inputs)]);
    const runs = outs.map(
      (o) => JSON.parse(o.stdout.trim().split('\n').pop()!) as { results: IngestFileResult[]; conflicts: number },
    );
    t.diagnostic(
      `commit conflicts retried: ${runs.map((r) => r.conflicts).join(' + ')}; first loads: ${runs.map((r) => r.results.filter((x) => !x.alreadyLoaded).length).join(' + ')}`,
    );
    for (let v = 0; v < 20; v++) {
      const pair = runs.map((r) => r.results[v]!);
      assert.deepEqual(
        pair.map((r) => r.rows),
        [1000, 1000],
        `version ${v}: both report the rows`,
      );
      assert.equal(pair.filter((r) => !r.alreadyLoaded).length, 1, `version ${v}: loaded by exactly one process`);
      assert.equal(pair[0]!.loadedAt, pair[1]!.loadedAt, `version ${v}: the loser returns the winner's result`);
    }
    const sink = await DuckLakeSink.open(access, { fileDirectories: [dir] });
    try {
      assert.equal(await sink.rowCount('race'), 20_000);
      assert.deepEqual(await sink.query('SELECT count(DISTINCT id) AS n FROM race'), [{ n: 20_000 }]);
      const ledger = await sink.ledger('race');
      assert.equal(ledger.length, 20);
      assert.deepEqual(ledger.map((e) => e.key).sort(), inputs.map((i) => i.key).sort());
    } finally {
      await sink.close();
    }
  });
});
