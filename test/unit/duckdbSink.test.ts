import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FileFormat } from '../../src/datafiles/types';
import {
  DuckDbSink,
  FileUnreadableError,
  sampleDataSource,
  tableDdl,
  type IngestFilesOutcome,
} from '../../src/sinks/duckdb';
import { runConformance } from '../helpers/conformance';
import { fixture, input, load, scratch, useTarget } from '../helpers/conformance/harness';
import { col, ds } from '../helpers/conformance/schema';
import { duckdbFileTarget, type ConformanceTarget } from '../helpers/conformance/target';

// ---------------------------------------------------------------- helpers

let dir: string;
let seq = 0;
/** The DuckDB file under `dir`: what `fixture`, `input` and `load` work with here. */
let target: ConformanceTarget;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3c-duckdb-test-'));
  target = duckdbFileTarget(dir);
  useTarget(target);
});
afterEach(() => target.release());
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- tests

// Formats, quarantine, gzip failures and exactly once: the table both destinations run.
describe('conformance table, on the DuckDB file', () => runConformance(() => target));

describe('CSV', () => {
  const d = ds('sales', [col('id', 'Int32'), col('name', 'String'), col('amount', 'Float32')]);

  // A .csv.gz is read through a pipe fed by the gzip check (feedGzipThroughFifo).
  // A bad row near the start stops DuckDB long before the feed ends: the
  // tolerant path reads the gzip file itself, and its stream is checked again.
  describe('.csv.gz bigger than what DuckDB reads at once, a bad row near the start', () => {
    // ~44 MB of text, more than DuckDB's 32 MB CSV buffer: wide rows rather
    // than many, since the time goes per row, not per byte.
    const n = 400_000;
    const name = 'n'.repeat(100);
    let text: string;
    before(() => {
      const lines = ['id,name,amount'];
      for (let i = 1; i <= n; i++) lines.push(i === 2 || i === n ? `x${i},${name},1` : `${i},${name},1`);
      text = lines.join('\n') + '\n';
    });

    it('loads the good rows and quarantines the bad ones', async () => {
      const file = await fixture('big-bad.csv.gz', gzipSync(text, { level: 1 }));
      const { results, read } = await load([input(d, file, 'csv', { compression: 'gzip' })]);
      assert.deepEqual([results[0]!.rows, results[0]!.quarantined], [n - 2, 2]);
      assert.deepEqual(await read('SELECT count(*)::INT AS n, min(id) AS lo, max(id) AS hi FROM sales'), [
        { n: n - 2, lo: 1, hi: n - 1 },
      ]);
      assert.deepEqual(await read('SELECT id, c__line FROM sales_quarantine ORDER BY c__line'), [
        { id: 'x2', c__line: '3' },
        { id: `x${n}`, c__line: String(n + 1) },
      ]);
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f.includes('.s3c-')),
        [],
      );
    });

    it('a wrong CRC at the end still fails the file', async () => {
      const bad = Buffer.from(gzipSync(text, { level: 1 }));
      bad[bad.length - 6]! ^= 0xff;
      const file = await fixture('big-bad-crc.csv.gz', bad);
      const sink = await DuckDbSink.open(join(dir, `db${++seq}.duckdb`), { fileDirectories: [dir] });
      try {
        await assert.rejects(sink.ingestFile(input(d, file, 'csv', { compression: 'gzip' })), (e: unknown) => {
          assert.ok(e instanceof FileUnreadableError, String(e));
          assert.match(e.message, /incorrect data check/);
          return true;
        });
        assert.equal(await sink.rowCount('sales'), 0);
        assert.deepEqual(await sink.ledger('sales'), []);
      } finally {
        await sink.close();
      }
    });
  });
});

// The table DDL with the ledger's primary key, and the memory limit of the file's DuckDB.
describe('DuckDB file only', () => {
  it('builds DDL with the documented type mapping', () => {
    const d = ds('ddl', [
      col('a', 'LowCardinality(String)'),
      col('b', 'Nullable(UInt16)'),
      col('c', 'Decimal(20, 4)'),
      col('e', "DateTime('UTC')"),
      col('f', 'DateTime64(3)'),
      col('g', 'DateTime64(9)'),
      col('h', 'Array(Nullable(Int8))'),
      col('i', 'Map(String, Array(Float32))'),
      col('j', 'Int64', { defaultExpr: '42' }),
    ]);
    const [table, quarantine, ledger] = tableDdl(d);
    assert.equal(
      table,
      'CREATE TABLE IF NOT EXISTS "ddl" ("a" VARCHAR NOT NULL, "b" USMALLINT, "c" DECIMAL(20, 4) NOT NULL, ' +
        '"e" TIMESTAMPTZ NOT NULL, "f" TIMESTAMP_MS NOT NULL, "g" TIMESTAMP_NS NOT NULL, "h" TINYINT[] NOT NULL, ' +
        '"i" MAP(VARCHAR, FLOAT[]) NOT NULL, "j" BIGINT NOT NULL DEFAULT (CAST((42) AS BIGINT)))',
    );
    assert.match(
      quarantine!,
      /^CREATE TABLE IF NOT EXISTS "ddl_quarantine" \("a" VARCHAR, "b" VARCHAR, .*c__error_column VARCHAR\[\], c__error VARCHAR\[\], c__import_id VARCHAR, insertion_date TIMESTAMP, c__object_key VARCHAR, c__line BIGINT\)$/,
    );
    assert.match(ledger!, /PRIMARY KEY \(data_source, bucket, key, etag\)/);
  });

  it('runs DuckDB under the memory limit it is given, and still loads', async () => {
    const d = ds('limited', [col('id', 'Int32')]);
    const file = await fixture('limited.csv', 'id\n1\n2\n');
    const sink = await DuckDbSink.open(join(dir, `db${++seq}.duckdb`), {
      memoryLimit: '256MB',
      fileDirectories: [dir],
    });
    try {
      const [setting] = await sink.query(`SELECT current_setting('memory_limit') AS v`);
      // DuckDB shows 256 MB (10^6 bytes) in MiB.
      assert.equal(setting?.v, '244.1 MiB');
      assert.equal((await sink.ingestFile(input(d, file, 'csv'))).rows, 2);
    } finally {
      await sink.close();
    }
  });
});

describe('tables', () => {
  it('ensureTables is idempotent and refuses a DEFAULT DuckDB cannot evaluate', async () => {
    const dbPath = join(dir, `db${++seq}.duckdb`);
    const sink = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
    try {
      const d = ds('idem', [col('id', 'Int32'), col('s', 'Nullable(String)')]);
      await sink.ensureTables(d);
      await sink.ensureTables(d);
      assert.equal(await sink.rowCount('idem'), 0);
      assert.equal(await sink.rowCount('idem_quarantine'), 0);
      assert.equal(await sink.rowCount('s3c_ledger'), 0);
      await assert.rejects(
        sink.ensureTables(ds('baddef', [col('x', 'Int32', { defaultExpr: 'noSuchFunction(1)' })])),
        /baddef\.datasource:1: DEFAULT noSuchFunction\(1\) of column 'x' cannot be used with DuckDB/,
      );
    } finally {
      await sink.close();
    }
  });

  it("NDJSON lines longer than DuckDB's default 2 MB line limit still load", async () => {
    const d = ds('longl', [col('id', 'Int32'), col('s', 'String')]);
    const big = 'x'.repeat(3_000_000);
    const file = await fixture('long.ndjson', `${JSON.stringify({ id: 1, s: big })}\n{"id":2,"s":"y"}\n`);
    const { results, read } = await load([input(d, file, 'ndjson')]);
    assert.deepEqual([results[0]!.rows, results[0]!.quarantined], [2, 0]);
    assert.deepEqual(await read('SELECT id, length(s) AS n FROM longl ORDER BY id'), [
      { id: 1, n: '3000000' },
      { id: 2, n: '1' },
    ]);
  });

  it('a long line after a bad row loads too (the tolerant pass retries with a larger line limit)', async () => {
    const d = ds('longb', [col('id', 'Int32'), col('s', 'String')]);
    const big = 'y'.repeat(2_500_000);
    const file = await fixture(
      'longb.ndjson',
      `{"id":"bad","s":"a"}\n${JSON.stringify({ id: 2, s: big })}\n{"id":3,"s":"c"}\n`,
    );
    const { results, read } = await load([input(d, file, 'ndjson')]);
    assert.deepEqual([results[0]!.rows, results[0]!.quarantined], [2, 1]);
    assert.deepEqual(await read('SELECT id, length(s) AS n FROM longb ORDER BY id'), [
      { id: 2, n: '2500000' },
      { id: 3, n: '1' },
    ]);
    assert.deepEqual(await read('SELECT c__error, c__line FROM longb_quarantine'), [
      { c__error: ["value 'bad' on column 'id' is not Int32"], c__line: '1' },
    ]);
  });
});

describe('ingestFiles (several files at once)', () => {
  const d = ds('many', [col('id', 'Int32'), col('name', 'String')]);
  const inputsOf = async (specs: { name: string; content: string | Buffer; gz?: boolean; format?: FileFormat }[]) =>
    Promise.all(
      specs.map(async (s) =>
        input(d, await fixture(s.name, s.content), s.format ?? 'csv', {
          key: `data/${s.name}`,
          etag: `e-${s.name}`,
          compression: s.gz ? 'gzip' : 'none',
        }),
      ),
    );

  it('loads small files of one layout with one statement, one ledger entry and one result per file', async () => {
    const dbPath = join(dir, `db${++seq}.duckdb`);
    const sink = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
    try {
      const inputs = await inputsOf([
        { name: 'a.csv', content: 'id,name\n1,a\n2,b\n' },
        { name: 'b.csv', content: 'name,id\nc,3\n' },
        { name: 'c.csv', content: 'id,name\n4,d\n5,e\n6,f\n' },
        { name: 'd.csv.gz', content: gzipSync('id,name\n7,g\n'), gz: true },
        { name: 'e.csv', content: 'id,name\n' },
        { name: 'f.csv', content: '' },
      ]);
      const out = await sink.ingestFiles(inputs);
      assert.deepEqual(
        out.map((o) =>
          o.ok ? [o.result.rows, o.result.quarantined, o.result.alreadyLoaded, o.result.jobId] : o.error.message,
        ),
        [
          [2, 0, false, 'job-1'],
          [1, 0, false, 'job-1'],
          [3, 0, false, 'job-1'],
          [1, 0, false, 'job-1'],
          [0, 0, false, 'job-1'],
          [0, 0, false, 'job-1'],
        ],
      );
      // a.csv, c.csv, d.csv.gz and e.csv share a layout: one statement; b.csv (other column order) alone; f.csv is empty.
      assert.deepEqual(sink.batchStats, { batches: 1, files: 4, calls: 1, turns: 1 });
      assert.deepEqual(
        (await sink.query('SELECT id, name FROM many ORDER BY id')).map((r) => `${r.id}${r.name}`),
        ['1a', '2b', '3c', '4d', '5e', '6f', '7g'],
      );
      const ledger = await sink.ledger('many');
      assert.deepEqual(
        ledger.map((e) => [e.key, e.etag, e.rows, e.quarantined, e.size, e.jobId]).sort(),
        inputs.map((i, n) => [i.key, i.etag, [2, 1, 3, 1, 0, 0][n], 0, 123, 'job-1']).sort(),
      );
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f.includes('.s3c-')),
        [],
        'no temporary file is left behind',
      );

      // A second call: every version is already loaded and nothing is read again.
      const again = await sink.ingestFiles(inputs.map((i) => ({ ...i, jobId: 'job-2', etag: `"${i.etag}"` })));
      assert.ok(again.every((o) => o.ok && o.result.alreadyLoaded && o.result.jobId === 'job-1'));
      assert.deepEqual(
        again.map((o) => o.ok && o.result.rows),
        [2, 1, 3, 1, 0, 0],
      );
      assert.equal(await sink.rowCount('many'), 7);
    } finally {
      await sink.close();
    }
  });

  it('a bad row is quarantined and an unreadable file fails alone; the other files still load, once', async () => {
    const dbPath = join(dir, `db${++seq}.duckdb`);
    const sink = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
    try {
      const good = gzipSync('id,name\n9,z\n');
      const inputs = await inputsOf([
        { name: 'g1.csv', content: 'id,name\n1,a\n2,b\n' },
        { name: 'g2.csv', content: 'id,name\nx,bad\n3,c\n' },
        { name: 'g3.csv.gz', content: good.subarray(0, good.length - 4), gz: true },
        { name: 'g4.csv', content: 'id,name\n4,d\n' },
        { name: 'g5.csv', content: 'id,name\n5,e\n' },
      ]);
      inputs.push({ ...inputs[0]!, localPath: join(dir, 'no-such-file.csv'), key: 'data/gone.csv', etag: 'gone' });
      const out = await sink.ingestFiles(inputs);
      assert.deepEqual(
        out.map((o) => (o.ok ? [o.result.rows, o.result.quarantined] : o.error instanceof FileUnreadableError)),
        [[2, 0], [1, 1], true, [1, 0], [1, 0], true],
      );
      const e2 = out[2]!;
      assert.ok(!e2.ok && /s3:\/\/bkt\/data\/g3\.csv\.gz: truncated gzip data/.test(e2.error.message));
      const e5 = out[5]!;
      assert.ok(!e5.ok && /s3:\/\/bkt\/data\/gone\.csv: .*not found/.test(e5.error.message));
      assert.deepEqual(
        (await sink.query('SELECT id FROM many ORDER BY id')).map((r) => r.id),
        [1, 2, 3, 4, 5],
      );
      assert.deepEqual(await sink.query('SELECT c__object_key, c__line, c__error FROM many_quarantine'), [
        { c__object_key: 'data/g2.csv', c__line: 2, c__error: ["value 'x' on column 'id' is not Int32"] },
      ]);
      assert.deepEqual((await sink.ledger('many')).map((e) => e.key).sort(), [
        'data/g1.csv',
        'data/g2.csv',
        'data/g4.csv',
        'data/g5.csv',
      ]);
    } finally {
      await sink.close();
    }
  });

  it('a version repeated in one call loads once; recordInLedger=false neither reads nor writes the ledger', async () => {
    const dbPath = join(dir, `db${++seq}.duckdb`);
    const sink = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
    try {
      const [a, b] = await inputsOf([
        { name: 'r1.csv', content: 'id,name\n1,a\n' },
        { name: 'r2.csv', content: 'id,name\n2,b\n3,c\n' },
      ]);
      const out = await sink.ingestFiles([a!, b!, { ...a!, jobId: 'job-x' }]);
      assert.deepEqual(
        out.map((o) => o.ok && [o.result.rows, o.result.alreadyLoaded, o.result.jobId]),
        [
          [1, false, 'job-1'],
          [2, false, 'job-1'],
          [1, true, 'job-1'],
        ],
      );
      assert.equal(await sink.rowCount('many'), 3);
      // Samples: loaded again, no ledger change.
      const sample = await sink.ingestFiles([a!, b!].map((i) => ({ ...i, jobId: 'sample', recordInLedger: false })));
      assert.deepEqual(
        sample.map((o) => o.ok && [o.result.rows, o.result.alreadyLoaded]),
        [
          [1, false],
          [2, false],
        ],
      );
      assert.equal(await sink.rowCount('many'), 6);
      assert.deepEqual(
        (await sink.ledger('many')).map((e) => e.jobId),
        ['job-1', 'job-1'],
      );
    } finally {
      await sink.close();
    }
  });

  it('calls that wait for the sink together load in one turn, each with its own outcomes', async () => {
    const dbPath = join(dir, `db${++seq}.duckdb`);
    const sink = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
    try {
      const [x1, x2, y1, y2, z1] = await inputsOf([
        { name: 'x1.csv', content: 'id,name\n1,a\n' },
        { name: 'x2.csv', content: 'id,name\n2,b\n3,c\n' },
        { name: 'y1.csv', content: 'id,name\n4,d\n' },
        { name: 'y2.csv', content: 'id,name\nbad,e\n5,f\n' },
        { name: 'z1.csv', content: 'id,name\n6,g\n7,h\n8,i\n' },
      ]);
      // The first call holds the sink; the next two wait together, then load as one.
      const first = sink.ingestFiles([x1!, x2!]);
      await new Promise((r) => setImmediate(r));
      const second = sink.ingestFiles([y1!, y2!]);
      const third = sink.ingestFiles([z1!, { ...x1!, jobId: 'job-9' }]);
      const rows = (out: IngestFilesOutcome[]) =>
        out.map((o) => (o.ok ? [o.result.rows, o.result.quarantined, o.result.alreadyLoaded] : 'failed'));
      assert.deepEqual(rows(await first), [
        [1, 0, false],
        [2, 0, false],
      ]);
      assert.deepEqual(rows(await second), [
        [1, 0, false],
        [1, 1, false],
      ]);
      assert.deepEqual(rows(await third), [
        [3, 0, false],
        [1, 0, true],
      ]);
      assert.equal(sink.batchStats.calls, 3);
      assert.equal(sink.batchStats.turns, 2, 'the second and third call shared a turn');
      assert.deepEqual(
        (await sink.query('SELECT id FROM many ORDER BY id')).map((r) => r.id),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      assert.deepEqual((await sink.ledger('many')).map((e) => [e.key, e.rows, e.quarantined]).sort(), [
        ['data/x1.csv', 1, 0],
        ['data/x2.csv', 2, 0],
        ['data/y1.csv', 1, 0],
        ['data/y2.csv', 1, 1],
        ['data/z1.csv', 3, 0],
      ]);
    } finally {
      await sink.close();
    }
  });

  it('finds exactly the loaded versions: not another ETag, bucket or data source of the same key', async () => {
    const sink = await DuckDbSink.open(join(dir, `db${++seq}.duckdb`), { fileDirectories: [dir] });
    try {
      const [v] = await inputsOf([{ name: 'v1.csv', content: 'id,name\n1,a\n' }]);
      assert.ok((await sink.ingestFiles([v!]))[0]!.ok);
      const found = await sink.findLoadedMany('many', 'bkt', [
        { key: 'data/v1.csv', etag: '"e-v1.csv"' },
        { key: 'data/v1.csv', etag: 'other-etag' },
        { key: 'data/v2.csv', etag: 'e-v1.csv' },
      ]);
      assert.deepEqual([...found.keys()], ['data/v1.csv\u0000e-v1.csv']);
      assert.equal(found.get('data/v1.csv\u0000e-v1.csv')!.rows, 1);
      assert.equal(
        (await sink.findLoadedMany('many', 'other-bucket', [{ key: 'data/v1.csv', etag: 'e-v1.csv' }])).size,
        0,
      );
      assert.equal((await sink.findLoadedMany('other', 'bkt', [{ key: 'data/v1.csv', etag: 'e-v1.csv' }])).size, 0);
    } finally {
      await sink.close();
    }
  });

  it('a call waiting when the sink closes is rejected', async () => {
    const sink = await DuckDbSink.open(join(dir, `db${++seq}.duckdb`), { fileDirectories: [dir] });
    const [w] = await inputsOf([{ name: 'w1.csv', content: 'id,name\n1,a\n' }]);
    const closing = sink.close();
    await assert.rejects(sink.ingestFiles([w!]), /is closed/);
    await closing;
  });

  it('batches NDJSON and Parquet files too', async () => {
    const dbPath = join(dir, `db${++seq}.duckdb`);
    const sink = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
    const p1 = join(dir, `${++seq}-p1.parquet`);
    const p2 = join(dir, `${++seq}-p2.parquet`);
    await scratch([
      `COPY (SELECT 10 + i AS id, 'p' || i AS name FROM range(3) t(i)) TO '${p1}' (FORMAT parquet)`,
      `COPY (SELECT 20 AS id, 'q' AS name) TO '${p2}' (FORMAT parquet)`,
    ]);
    try {
      const nd = await inputsOf([
        { name: 'n1.ndjson', content: '{"id":1,"name":"a"}\n{"id":2,"name":"b"}\n', format: 'ndjson' },
        { name: 'n2.ndjson.gz', content: gzipSync('{"id":3,"name":"c"}\n'), gz: true, format: 'ndjson' },
      ]);
      const pq = [p1, p2].map((p, k) => input(d, p, 'parquet', { key: `data/p${k}.parquet`, etag: `p${k}` }));
      const out = await sink.ingestFiles([...nd, ...pq]);
      assert.deepEqual(
        out.map((o) => o.ok && o.result.rows),
        [2, 1, 3, 1],
      );
      assert.deepEqual(sink.batchStats, { batches: 2, files: 4, calls: 1, turns: 1 });
      assert.deepEqual(
        (await sink.query('SELECT id FROM many ORDER BY id')).map((r) => r.id),
        [1, 2, 3, 10, 11, 12, 20],
      );
      assert.equal((await sink.ledger('many')).length, 4);
    } finally {
      await sink.close();
    }
  });
});

describe('sample tables (issue #19, item 3)', () => {
  it('replaceSampleTables empties <name>__sample and its quarantine, and leaves <name> alone', async () => {
    const d = ds('orders', [col('id', 'Int32'), col('name', 'String')]);
    const sink = await DuckDbSink.open(join(dir, `db${++seq}.duckdb`), { fileDirectories: [dir] });
    try {
      await sink.ensureTables(d);
      await sink.ingestFile(
        input(d, await fixture('prod.csv', 'id,name\n1,a\n'), 'csv', { key: 'prod.csv', etag: 'p' }),
      );
      await sink.replaceSampleTables(d);
      const sampled = input(sampleDataSource(d), await fixture('sampled.csv', 'id,name\n2,b\nx,bad\n'), 'csv', {
        key: 'sampled.csv',
        etag: 's',
        recordInLedger: false,
      });
      assert.equal((await sink.ingestFile(sampled)).rows, 1);
      assert.deepEqual(
        [await sink.rowCount('orders__sample'), await sink.rowCount('orders__sample_quarantine')],
        [1, 1],
      );
      // The next sample job starts from empty sample tables; production and its ledger are untouched.
      await sink.replaceSampleTables(d);
      assert.deepEqual(
        [await sink.rowCount('orders__sample'), await sink.rowCount('orders__sample_quarantine')],
        [0, 0],
      );
      assert.equal(await sink.rowCount('orders'), 1);
      assert.deepEqual(
        (await sink.ledger('orders')).map((e) => e.key),
        ['prod.csv'],
      );
      assert.deepEqual(await sink.ledger('orders__sample'), []);
    } finally {
      await sink.close();
    }
  });
});
