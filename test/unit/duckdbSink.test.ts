import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Column, ColumnType, DataSourceDef, FileFormat } from '../../src/datafiles/types';
import {
  DuckDbSink,
  FileUnreadableError,
  sampleDataSource,
  tableDdl,
  type IngestFileInput,
  type IngestFilesOutcome,
} from '../../src/sinks/duckdb';

// ---------------------------------------------------------------- helpers

/** Minimal parser of the schema type language, for building fixtures by hand. */
function parseType(text: string): ColumnType {
  const t = text.trim();
  const m = /^(\w+)(?:\((.*)\))?$/s.exec(t);
  if (!m) throw new Error(`bad type ${text}`);
  const name = m[1]!;
  const args = m[2] === undefined ? [] : splitArgs(m[2]);
  const ints: Record<string, [8 | 16 | 32 | 64, boolean]> = {
    Int8: [8, true],
    Int16: [16, true],
    Int32: [32, true],
    Int64: [64, true],
    UInt8: [8, false],
    UInt16: [16, false],
    UInt32: [32, false],
    UInt64: [64, false],
  };
  if (ints[name]) return { kind: 'Int', bits: ints[name]![0], signed: ints[name]![1] };
  const unq = (s: string) => s.trim().replace(/^'(.*)'$/, '$1');
  switch (name) {
    case 'String':
      return { kind: 'String' };
    case 'UUID':
      return { kind: 'UUID' };
    case 'Bool':
      return { kind: 'Bool' };
    case 'Float32':
      return { kind: 'Float', bits: 32 };
    case 'Float64':
      return { kind: 'Float', bits: 64 };
    case 'Date':
      return { kind: 'Date' };
    case 'Date32':
      return { kind: 'Date32' };
    case 'FixedString':
      return { kind: 'FixedString', length: Number(args[0]) };
    case 'Decimal':
      return { kind: 'Decimal', precision: Number(args[0]), scale: Number(args[1]) };
    case 'DateTime':
      return args[0] ? { kind: 'DateTime', timezone: unq(args[0]) } : { kind: 'DateTime' };
    case 'DateTime64':
      return args[1]
        ? { kind: 'DateTime64', precision: Number(args[0]), timezone: unq(args[1]) }
        : { kind: 'DateTime64', precision: Number(args[0] ?? 3) };
    case 'Nullable':
      return { kind: 'Nullable', inner: parseType(args[0]!) };
    case 'LowCardinality':
      return { kind: 'LowCardinality', inner: parseType(args[0]!) };
    case 'Array':
      return { kind: 'Array', element: parseType(args[0]!) };
    case 'Map':
      return { kind: 'Map', key: parseType(args[0]!), value: parseType(args[1]!) };
  }
  throw new Error(`unknown type ${text}`);
}
function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** `col('amount Float32 `json:$.a` DEFAULT 0')`-like builder. */
function col(name: string, typeText: string, opts: { jsonPath?: string; defaultExpr?: string } = {}): Column {
  return { name, typeText, type: parseType(typeText), line: 1, ...opts };
}
function ds(name: string, schema: Column[]): DataSourceDef {
  return { name, path: `${name}.datasource`, schema, engine: 'MergeTree' };
}

let dir: string;
let seq = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3c-duckdb-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fixture(name: string, content: string | Buffer): Promise<string> {
  const p = join(dir, `${++seq}-${name}`);
  await writeFile(p, content);
  return p;
}
function input(
  d: DataSourceDef,
  localPath: string,
  format: FileFormat,
  extra: Partial<IngestFileInput> = {},
): IngestFileInput {
  return {
    dataSource: d,
    localPath,
    format,
    compression: 'none',
    bucket: 'bkt',
    key: `data/${d.name}.${format}`,
    etag: '"etag-1"',
    size: 123,
    lastModified: '2024-05-01T00:00:00Z',
    jobId: 'job-1',
    ...extra,
  };
}

/** Runs SQL on a scratch in-memory DuckDB (fixture generation). */
async function scratch(sql: string[]): Promise<void> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    for (const s of sql) await conn.run(s);
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/** Rows of a table, JSON-friendly (bigints as strings), ordered. */
async function rowsOf(dbPath: string, sql: string): Promise<unknown[]> {
  const inst = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  const conn = await inst.connect();
  try {
    await conn.run("SET TimeZone='UTC'");
    const r = await conn.runAndReadAll(sql);
    return JSON.parse(JSON.stringify(r.getRowObjectsJson()));
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/**
 * Ingests each input into a fresh database, closes it, and returns the results
 * plus a reader of the closed database file.
 */
async function load(inputs: IngestFileInput[]): Promise<{
  results: Awaited<ReturnType<DuckDbSink['ingestFile']>>[];
  read: (sql: string) => Promise<unknown[]>;
  dbPath: string;
}> {
  const dbPath = join(dir, `db${++seq}.duckdb`);
  const sink = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
  const results = [];
  try {
    for (const i of inputs) {
      const r = await sink.ingestFile(i);
      results.push(r);
      // A clean file is loaded in one pass; only files with bad rows take the tolerant path.
      if (!r.alreadyLoaded) {
        assert.equal(sink.lastLoadPath, r.quarantined > 0 ? 'tolerant' : r.rows > 0 ? 'fast' : sink.lastLoadPath);
      }
    }
  } finally {
    await sink.close();
  }
  return { results, dbPath, read: (sql) => rowsOf(dbPath, sql) };
}

/** Quarantine rows without the volatile insertion_date. */
function quarantineSql(name: string, order = 'c__line'): string {
  return `SELECT * EXCLUDE (insertion_date) FROM ${name}_quarantine ORDER BY ${order}`;
}

// ---------------------------------------------------------------- tests

describe('CSV', () => {
  const d = ds('sales', [col('id', 'Int32'), col('name', 'String'), col('amount', 'Float32')]);

  it('maps by header (any order) and quarantines bad values with exact errors', async () => {
    const file = await fixture('a.csv', 'amount,id,name\n1.5,1,x\nabc,2,y\n3,3,"z, quoted"\n');
    const { results, read } = await load([input(d, file, 'csv')]);
    assert.deepEqual(
      { ...results[0], loadedAt: undefined },
      { rows: 2, quarantined: 1, alreadyLoaded: false, jobId: 'job-1', loadedAt: undefined },
    );
    assert.deepEqual(await read('SELECT * FROM sales ORDER BY id'), [
      { id: 1, name: 'x', amount: 1.5 },
      { id: 3, name: 'z, quoted', amount: 3 },
    ]);
    assert.deepEqual(await read(quarantineSql('sales')), [
      {
        id: '2',
        name: 'y',
        amount: 'abc',
        c__error_column: ['amount'],
        c__error: ["value 'abc' on column 'amount' is not Float32"],
        c__import_id: 'job-1',
        c__object_key: 'data/sales.csv',
        c__line: '3',
      },
    ]);
  });

  it('maps by position when the first row is data', async () => {
    const file = await fixture('b.csv', '1,x,1.5\n2,y,2.5\n');
    const { results, read } = await load([input(d, file, 'csv')]);
    assert.equal(results[0]!.rows, 2);
    assert.deepEqual(await read('SELECT * FROM sales ORDER BY id'), [
      { id: 1, name: 'x', amount: 1.5 },
      { id: 2, name: 'y', amount: 2.5 },
    ]);
  });

  it('detects ; and tab delimiters, CRLF line ends and a BOM', async () => {
    const semi = await fixture('c.csv', '\uFEFFid;name;amount\r\n1;x;1.5\r\n');
    const tab = await fixture('d.csv', '2\ty\t2.5\n');
    const { read } = await load([input(d, semi, 'csv'), input(d, tab, 'csv', { key: 'tab.csv' })]);
    assert.deepEqual(await read('SELECT * FROM sales ORDER BY id'), [
      { id: 1, name: 'x', amount: 1.5 },
      { id: 2, name: 'y', amount: 2.5 },
    ]);
  });

  it('reads the whole first line to detect the delimiter, however long', async () => {
    // The first ';' is past the first 8 KiB read of the file.
    const long = 'n'.repeat(20_000);
    const file = await fixture(
      'long-first.csv',
      `1;${long};1.5\n2;y;2.5\n`.replace('1;', '1'.padStart(9000, '0') + ';'),
    );
    const { results, read } = await load([input(d, file, 'csv')]);
    assert.equal(results[0]!.rows, 2);
    assert.deepEqual(await read('SELECT id, length(name)::INT AS n, amount FROM sales ORDER BY id'), [
      { id: 1, n: 20_000, amount: 1.5 },
      { id: 2, n: 1, amount: 2.5 },
    ]);
  });

  it('loads .csv.gz', async () => {
    const file = await fixture('e.csv.gz', gzipSync('id,name,amount\n1,x,1.5\n2,y,2\n'));
    const { results, read } = await load([input(d, file, 'csv', { compression: 'gzip' })]);
    assert.equal(results[0]!.rows, 2);
    assert.deepEqual(await read('SELECT * FROM sales ORDER BY id'), [
      { id: 1, name: 'x', amount: 1.5 },
      { id: 2, name: 'y', amount: 2 },
    ]);
  });

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

  it('quarantines rows with the wrong number of fields, with line numbers, and keeps the others', async () => {
    const file = await fixture('f.csv', 'id,name,amount\n1,a,1\n2,b\n3,c,3,extra\n4,d,4\nx,e,5\n6,f,6\n');
    const { results, read } = await load([input(d, file, 'csv')]);
    assert.deepEqual([results[0]!.rows, results[0]!.quarantined], [3, 3]);
    assert.deepEqual(await read('SELECT id FROM sales ORDER BY id'), [{ id: 1 }, { id: 4 }, { id: 6 }]);
    assert.deepEqual(await read(quarantineSql('sales')), [
      {
        id: null,
        name: null,
        amount: null,
        c__error_column: [],
        c__error: ["line 3 has the wrong number of fields (Expected Number of Columns: 3 Found: 2): '2,b'"],
        c__import_id: 'job-1',
        c__object_key: 'data/sales.csv',
        c__line: '3',
      },
      {
        id: null,
        name: null,
        amount: null,
        c__error_column: [],
        c__error: ["line 4 has the wrong number of fields (Expected Number of Columns: 3 Found: 4): '3,c,3,extra'"],
        c__import_id: 'job-1',
        c__object_key: 'data/sales.csv',
        c__line: '4',
      },
      {
        id: 'x',
        name: 'e',
        amount: '5',
        c__error_column: ['id'],
        c__error: ["value 'x' on column 'id' is not Int32"],
        c__import_id: 'job-1',
        c__object_key: 'data/sales.csv',
        c__line: '6',
      },
    ]);
  });

  it("empty fields: String gets '', Nullable gets NULL, other non-Nullable types are quarantined", async () => {
    const d2 = ds('empties', [col('id', 'Int32'), col('s', 'String'), col('n', 'Nullable(Int32)'), col('k', 'Int32')]);
    const file = await fixture('g.csv', 'id,s,n,k\n1,,,7\n2,"",5,\n');
    const { read } = await load([input(d2, file, 'csv')]);
    assert.deepEqual(await read('SELECT * FROM empties ORDER BY id'), [{ id: 1, s: '', n: null, k: 7 }]);
    assert.deepEqual(await read('SELECT id, c__error_column, c__error, c__line FROM empties_quarantine'), [
      {
        id: '2',
        c__error_column: ['k'],
        c__error: ["missing value on column 'k' (Int32 is not Nullable)"],
        c__line: '3',
      },
    ]);
  });

  it('header-only and empty files load 0 rows and are recorded in the ledger', async () => {
    const headerOnly = await fixture('h.csv', 'id,name,amount\n');
    const empty = await fixture('i.csv', '');
    const emptyGz = await fixture('j.csv.gz', '');
    const { results, read } = await load([
      input(d, headerOnly, 'csv', { key: 'h.csv' }),
      input(d, empty, 'csv', { key: 'i.csv' }),
      input(d, emptyGz, 'csv', { key: 'j.csv.gz', compression: 'gzip' }),
    ]);
    assert.deepEqual(
      results.map((r) => [r.rows, r.quarantined, r.alreadyLoaded]),
      [
        [0, 0, false],
        [0, 0, false],
        [0, 0, false],
      ],
    );
    assert.deepEqual(await read('SELECT count(*)::INT AS n FROM sales'), [{ n: 0 }]);
    assert.deepEqual(await read('SELECT key, rows FROM s3c_ledger ORDER BY key'), [
      { key: 'h.csv', rows: '0' },
      { key: 'i.csv', rows: '0' },
      { key: 'j.csv.gz', rows: '0' },
    ]);
  });
});

describe('NDJSON', () => {
  const d = ds('ev', [
    col('id', 'Int64', { jsonPath: '$.id' }),
    col('city', 'String', { jsonPath: '$.geo.city' }),
    col('first_tag', 'Nullable(String)', { jsonPath: '$.tags[0]' }),
    col('tags', 'Array(String)', { jsonPath: '$.tags[:]' }),
    col('spaced', 'Nullable(Int32)', { jsonPath: "$['key with spaces']" }),
    col('doc', 'String', { jsonPath: '$' }),
    col('plain', 'Nullable(Float64)'),
  ]);
  const lines = [
    '{"id":1,"geo":{"city":"Paris"},"tags":["a","b"],"key with spaces":7,"plain":1.5}',
    '{"id":2,"geo":{"city":"Oslo"},"tags":[]}',
  ];
  const expected = [
    {
      id: '1',
      city: 'Paris',
      first_tag: 'a',
      tags: ['a', 'b'],
      spaced: 7,
      doc: '{"id":1,"geo":{"city":"Paris"},"tags":["a","b"],"key with spaces":7,"plain":1.5}',
      plain: 1.5,
    },
    {
      id: '2',
      city: 'Oslo',
      first_tag: null,
      tags: [],
      spaced: null,
      doc: '{"id":2,"geo":{"city":"Oslo"},"tags":[]}',
      plain: null,
    },
  ];

  for (const ext of ['ndjson', 'jsonl', 'json']) {
    it(`loads .${ext} with nested paths, index, [:], quoted keys and $`, async () => {
      const file = await fixture(`a.${ext}`, lines.join('\n') + '\n');
      const { results, read } = await load([input(d, file, 'ndjson', { key: `a.${ext}` })]);
      assert.deepEqual([results[0]!.rows, results[0]!.quarantined], [2, 0]);
      assert.deepEqual(await read('SELECT * FROM ev ORDER BY id'), expected);
    });
  }

  it('same paths without `$` (read through read_json) give the same values', async () => {
    const noDoc = ds(
      'ev',
      d.schema.filter((c) => c.name !== 'doc'),
    );
    const file = await fixture('nodoc.ndjson', lines.join('\n') + '\n');
    const { read } = await load([input(noDoc, file, 'ndjson')]);
    assert.deepEqual(
      await read('SELECT * FROM ev ORDER BY id'),
      expected.map(({ doc: _doc, ...rest }) => rest),
    );
  });

  it('loads .ndjson.gz (CRLF, blank lines)', async () => {
    const file = await fixture('b.ndjson.gz', gzipSync(lines.join('\r\n') + '\r\n\r\n'));
    const { read } = await load([input(d, file, 'ndjson', { compression: 'gzip' })]);
    assert.deepEqual(await read('SELECT * FROM ev ORDER BY id'), expected);
  });

  // Whatever way the gzip text reaches DuckDB, it must give the rows of the plain file.
  it('.ndjson.gz gives the same values as .ndjson (escapes, numbers, nested, nulls, leading spaces)', async () => {
    const d2 = ds('same', [
      col('s', 'Nullable(String)'),
      col('n', 'Nullable(Float64)'),
      col('i', 'Nullable(Int64)'),
      col('b', 'Nullable(Bool)'),
      col('city', 'Nullable(String)', { jsonPath: '$.o.city' }),
      col('o', 'Nullable(String)'),
      col('a', 'Array(Int32)'),
      col('t', 'Nullable(DateTime64(3))'),
    ]);
    const text =
      [
        '{"s":"plain","n":1.5,"i":9007199254740993,"b":true,"o":{"city":"Paris","zip":75001},"a":[1,2],"t":"2024-01-02 03:04:05.678"}',
        '{"s":"esc \\"q\\" \\\\ \\u00e9 \\n","n":1e3,"i":-4,"b":false,"o":{"city":null},"a":[],"t":"2024-01-02T03:04:05Z"}',
        '  {"s":"leading spaces","n":-0.25,"o":{},"a":[]}',
        '',
        '{"s":null,"n":null,"i":null,"b":null,"o":null,"a":[],"t":null}',
        '{"extra":"ignored","s":"ünï 😀","n":2,"o":{"city":"Oslo"},"a":[3]}',
        '{"a":[]}',
      ].join('\n') + '\n';
    const plain = await load([input(d2, await fixture('same.ndjson', text), 'ndjson')]);
    const gz = await load([
      input(d2, await fixture('same.ndjson.gz', gzipSync(text)), 'ndjson', { compression: 'gzip' }),
    ]);
    assert.deepEqual([gz.results[0]!.rows, gz.results[0]!.quarantined], [6, 0]);
    const all = 'SELECT * FROM same ORDER BY s NULLS FIRST, n NULLS FIRST';
    const rows = await gz.read(all);
    assert.deepEqual(rows, await plain.read(all));
    assert.deepEqual(rows[rows.length - 1], {
      s: 'ünï 😀',
      n: 2,
      i: null,
      b: null,
      city: 'Oslo',
      o: '{"city":"Oslo"}',
      a: [3],
      t: null,
    });
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes('.s3c-')),
      [],
    );
  });

  for (const gz of [false, true]) {
    it(`quarantines invalid JSON lines with the raw line, and bad values, with line numbers${gz ? ' (.ndjson.gz)' : ''}`, async () => {
      const d2 = ds('ev2', [col('id', 'Int64'), col('v', 'Nullable(Float32)')]);
      const text =
        ['{"id":1,"v":1}', '{"id":2, oops', '', '[1,2]', '{"id":"x","v":"y"}', '{"v":2}', '{"id":6}'].join('\n') + '\n';
      const file = await fixture(gz ? 'c.ndjson.gz' : 'c.ndjson', gz ? gzipSync(text) : text);
      const { results, read } = await load([input(d2, file, 'ndjson', gz ? { compression: 'gzip' } : {})]);
      assert.deepEqual([results[0]!.rows, results[0]!.quarantined], [2, 4]);
      assert.deepEqual(await read('SELECT * FROM ev2 ORDER BY id'), [
        { id: '1', v: 1 },
        { id: '6', v: null },
      ]);
      assert.deepEqual(
        await read('SELECT id, v, c__error_column, c__error, c__line FROM ev2_quarantine ORDER BY c__line'),
        [
          {
            id: null,
            v: null,
            c__error_column: [],
            c__error: [`line 2 is not valid JSON: '{"id":2, oops'`],
            c__line: '2',
          },
          { id: null, v: null, c__error_column: [], c__error: [`line 4 is not a JSON object: '[1,2]'`], c__line: '4' },
          {
            id: 'x',
            v: 'y',
            c__error_column: ['id', 'v'],
            c__error: ["value 'x' on column 'id' is not Int64", "value 'y' on column 'v' is not Nullable(Float32)"],
            c__line: '5',
          },
          {
            id: null,
            v: '2',
            c__error_column: ['id'],
            c__error: ["missing value on column 'id' (Int64 is not Nullable)"],
            c__line: '6',
          },
        ],
      );
    });
  }
});

describe('Parquet', () => {
  const d = ds('pq', [
    col('id', 'Int32', { jsonPath: '$.id' }),
    col('name', 'String', { jsonPath: '$.name' }),
    col('city', 'Nullable(String)', { jsonPath: '$.geo.city' }),
    col('second', 'Nullable(Int64)', { jsonPath: '$.nums[1]' }),
    col('nums', 'Array(Int64)', { jsonPath: '$.nums[:]' }),
    col('spaced', 'Nullable(String)', { jsonPath: "$['key with spaces']" }),
    col('ts', 'DateTime', { jsonPath: '$.ts' }),
  ]);
  const select =
    "SELECT 1 AS id, 'a' AS name, {'city': 'Paris'} AS geo, [10, 20] AS nums, 'sp' AS \"key with spaces\", TIMESTAMP '2024-01-02 03:04:05' AS ts " +
    "UNION ALL SELECT 2, 'b', {'city': NULL}, [30], NULL, TIMESTAMP '2024-02-03 04:05:06'";
  const expected = [
    { id: 1, name: 'a', city: 'Paris', second: '20', nums: ['10', '20'], spaced: 'sp', ts: '2024-01-02 03:04:05' },
    { id: 2, name: 'b', city: null, second: null, nums: ['30'], spaced: null, ts: '2024-02-03 04:05:06' },
  ];

  for (const codec of ['snappy', 'gzip', 'zstd', 'brotli', 'lz4']) {
    it(`reads codec ${codec} with nested paths`, async () => {
      const file = join(dir, `${++seq}-${codec}.parquet`);
      await scratch([`COPY (${select}) TO '${file}' (FORMAT parquet, COMPRESSION ${codec})`]);
      const { results, read } = await load([input(d, file, 'parquet')]);
      assert.deepEqual([results[0]!.rows, results[0]!.quarantined], [2, 0]);
      assert.deepEqual(await read('SELECT * FROM pq ORDER BY id'), expected);
    });
  }

  it('reads .parquet.gz', async () => {
    const file = join(dir, `${++seq}-x.parquet`);
    await scratch([`COPY (${select}) TO '${file}' (FORMAT parquet, COMPRESSION zstd)`]);
    const gz = await fixture('x.parquet.gz', gzipSync(await readFile(file)));
    const { read } = await load([input(d, gz, 'parquet', { compression: 'gzip' })]);
    assert.deepEqual(await read('SELECT * FROM pq ORDER BY id'), expected);
  });

  it('quarantines rows that do not convert, with the row number; missing columns are missing values; $ is the row as JSON', async () => {
    const d2 = ds('pq2', [
      col('id', 'UInt8', { jsonPath: '$.id' }),
      col('label', 'Int32', { jsonPath: '$.label' }),
      col('absent', 'Nullable(String)', { jsonPath: '$.nope.deeper' }),
      col('row', 'String', { jsonPath: '$' }),
    ]);
    const file = join(dir, `${++seq}-q.parquet`);
    await scratch([
      `COPY (SELECT * FROM (VALUES (1, '10'), (300, '20'), (3, 'x'), (4, NULL)) v(id, label)) TO '${file}' (FORMAT parquet)`,
    ]);
    const { results, read } = await load([input(d2, file, 'parquet')]);
    assert.deepEqual([results[0]!.rows, results[0]!.quarantined], [1, 3]);
    assert.deepEqual(await read('SELECT * FROM pq2'), [
      { id: 1, label: 10, absent: null, row: '{"id":1,"label":"10"}' },
    ]);
    assert.deepEqual(
      await read('SELECT id, label, c__error_column, c__error, c__line FROM pq2_quarantine ORDER BY c__line'),
      [
        {
          id: '300',
          label: '20',
          c__error_column: ['id'],
          c__error: ["value '300' on column 'id' is not UInt8"],
          c__line: '2',
        },
        {
          id: '3',
          label: 'x',
          c__error_column: ['label'],
          c__error: ["value 'x' on column 'label' is not Int32"],
          c__line: '3',
        },
        {
          id: '4',
          label: null,
          c__error_column: ['label'],
          c__error: ["missing value on column 'label' (Int32 is not Nullable)"],
          c__line: '4',
        },
      ],
    );
  });
});

describe('types', () => {
  it('converts every type family and quarantines out-of-range and malformed values', async () => {
    const d = ds('types', [
      col('n', 'Int32'),
      col('i8', 'Nullable(Int8)'),
      col('u8', 'Nullable(UInt8)'),
      col('i64', 'Nullable(Int64)'),
      col('u64', 'Nullable(UInt64)'),
      col('f32', 'Nullable(Float32)'),
      col('f64', 'Nullable(Float64)'),
      col('dec', 'Nullable(Decimal(10, 2))'),
      col('d', 'Nullable(Date)'),
      col('d32', 'Nullable(Date32)'),
      col('dt', 'Nullable(DateTime)'),
      col('dtz', "Nullable(DateTime('Europe/Berlin'))"),
      col('dt64', 'Nullable(DateTime64(3))'),
      col('dt64ns', 'Nullable(DateTime64(9))'),
      col('uuid', 'Nullable(UUID)'),
      col('b', 'Nullable(Bool)'),
      col('arr', 'Nullable(Array(Int32))'),
      col('m', 'Nullable(Map(String, Int32))'),
      col('lc', 'LowCardinality(String)'),
      col('fs', 'Nullable(FixedString(3))'),
    ]);
    const good = {
      n: 1,
      i8: -128,
      u8: 255,
      i64: '-9223372036854775808',
      u64: '18446744073709551615',
      f32: 1.5,
      f64: 2.25,
      dec: '12.34',
      d: '2024-01-02',
      d32: '1900-01-01',
      dt: '2024-01-02 03:04:05+02:00',
      dtz: '2024-01-02 03:04:05',
      dt64: '2024-01-02 03:04:05.123',
      dt64ns: '2024-01-02 03:04:05.123456789',
      uuid: '550e8400-e29b-41d4-a716-446655440000',
      b: true,
      arr: [1, 2],
      m: { a: 1 },
      lc: 'low',
      fs: 'abc',
    };
    const bad = [
      ['i8', 128],
      ['u8', -1],
      ['u8', 256],
      ['i64', '9223372036854775808'],
      ['u64', -1],
      ['n', 1.5],
      ['n', 'abc'],
      ['f32', 'x'],
      ['dec', '123456789.1'],
      ['d', '2024-13-01'],
      ['dt', 'yesterday'],
      ['dt64', 'nope'],
      ['uuid', 'not-a-uuid'],
      ['b', 'maybe'],
      ['arr', [1, 'x']],
      ['m', { a: 'x' }],
      ['fs', 'abcd'],
    ] as const;
    const lines = [JSON.stringify(good), ...bad.map(([k, v], i) => JSON.stringify({ n: 100 + i, lc: 'l', [k]: v }))];
    const file = await fixture('types.ndjson', lines.join('\n'));
    const { results, read } = await load([input(d, file, 'ndjson')]);
    assert.deepEqual([results[0]!.rows, results[0]!.quarantined], [1, bad.length]);
    assert.deepEqual(await read('SELECT * FROM types'), [
      {
        n: 1,
        i8: -128,
        u8: 255,
        i64: '-9223372036854775808',
        u64: '18446744073709551615',
        f32: 1.5,
        f64: 2.25,
        dec: '12.34',
        d: '2024-01-02',
        d32: '1900-01-01',
        dt: '2024-01-02 01:04:05',
        dtz: '2024-01-02 02:04:05+00',
        dt64: '2024-01-02 03:04:05.123',
        dt64ns: '2024-01-02 03:04:05.123456789',
        uuid: '550e8400-e29b-41d4-a716-446655440000',
        b: true,
        arr: [1, 2],
        m: [{ key: 'a', value: 1 }],
        lc: 'low',
        fs: 'abc',
      },
    ]);
    const q = (await read('SELECT c__error_column, c__error FROM types_quarantine ORDER BY c__line')) as {
      c__error_column: string[];
      c__error: string[];
    }[];
    const typeOf = Object.fromEntries(d.schema.map((c) => [c.name, c.typeText]));
    assert.deepEqual(
      q,
      bad.map(([k, v]) => ({
        c__error_column: [k],
        c__error: [
          `value '${typeof v === 'object' ? JSON.stringify(v) : String(v)}' on column '${k}' is not ${typeOf[k]}`,
        ],
      })),
    );
  });

  it('reads DateTime from epoch seconds and keeps DateTime64 precision', async () => {
    const d = ds('ts', [
      col('a', 'DateTime'),
      col('b', 'DateTime64(6)'),
      col('c', "DateTime64(3, 'America/New_York')"),
    ]);
    const file = await fixture('ts.csv', 'a,b,c\n1700000000,2024-01-02T03:04:05.123456Z,2024-07-01 12:00:00.5\n');
    const { read } = await load([input(d, file, 'csv')]);
    assert.deepEqual(await read('SELECT * FROM ts'), [
      { a: '2023-11-14 22:13:20', b: '2024-01-02 03:04:05.123456', c: '2024-07-01 16:00:00.5+00' },
    ]);
  });

  it('applies a UTC offset at every precision, before 1970 and outside the nanosecond range too', async () => {
    const d = ds('tz', [
      col('id', 'Int32'),
      col('s', 'DateTime'),
      col('ms', 'DateTime64(3)'),
      col('ns', 'DateTime64(9)'),
    ]);
    const rows = [
      [1, '2024-01-02 03:04:05+02:00', '2024-01-02 03:04:05.123', '2024-01-02 03:04:05.123456789-01:30'],
      [2, '2024-01-02 3:4:5+02:00', '2024-01-02 3:4:5.5Z', '2024-01-02 3:04:05.000000001 UTC'],
      [3, '1969-12-31 23:59:59.9999999', '1900-01-01 00:00:00.999+01:00', '1969-12-31 22:00:00.5-02:00'],
      [4, '2300-06-01 00:00:00-02:00', '2262-04-12 00:00:00+00:00', '1970-01-01 00:00:00.0000001+00:00'],
    ];
    const file = await fixture('tz.csv', `id,s,ms,ns\n${rows.map((r) => r.join(',')).join('\n')}\n`);
    const { results, read } = await load([input(d, file, 'csv')]);
    assert.deepEqual([results[0]!.rows, results[0]!.quarantined], [4, 0]);
    assert.deepEqual(await read('SELECT * FROM tz ORDER BY id'), [
      { id: 1, s: '2024-01-02 01:04:05', ms: '2024-01-02 03:04:05.123', ns: '2024-01-02 04:34:05.123456789' },
      { id: 2, s: '2024-01-02 01:04:05', ms: '2024-01-02 03:04:05.5', ns: '2024-01-02 03:04:05.000000001' },
      { id: 3, s: '1969-12-31 23:59:59.999999', ms: '1899-12-31 23:00:00.999', ns: '1970-01-01 00:00:00.5' },
      { id: 4, s: '2300-06-01 02:00:00', ms: '2262-04-12 00:00:00', ns: '1970-01-01 00:00:00.0000001' },
    ]);
  });

  it('reads arrays and maps from CSV in JSON and in literal syntax', async () => {
    const d = ds('nested', [col('id', 'Int32'), col('a', 'Array(String)'), col('m', 'Map(String, Float64)')]);
    const file = await fixture('n.csv', `id,a,m\n1,"[""x"",""y z""]","{""k"":1.5}"\n2,"['p','q']","{k=2}"\n`);
    const { read } = await load([input(d, file, 'csv')]);
    assert.deepEqual(await read('SELECT * FROM nested ORDER BY id'), [
      { id: 1, a: ['x', 'y z'], m: [{ key: 'k', value: 1.5 }] },
      { id: 2, a: ['p', 'q'], m: [{ key: 'k', value: 2 }] },
    ]);
  });

  it('applies DEFAULT values when a value is missing', async () => {
    const d = ds('defs', [
      col('id', 'Int32'),
      col('n', 'Int32', { defaultExpr: '0' }),
      col('s', 'String', { defaultExpr: "'it\\'s'" }),
      col('t', 'DateTime', { defaultExpr: 'now()' }),
      col('day', 'Date', { defaultExpr: "toDate('2020-02-02')" }),
    ]);
    const file = await fixture(
      'defs.ndjson',
      '{"id":1}\n{"id":2,"n":5,"s":"x","t":"2024-01-01 00:00:00","day":"2024-03-03"}\n{"id":3,"n":"bad"}\n',
    );
    const { results, read } = await load([input(d, file, 'ndjson')]);
    assert.deepEqual([results[0]!.rows, results[0]!.quarantined], [2, 1]);
    assert.deepEqual(await read("SELECT id, n, s, t > TIMESTAMP '2025-01-01' AS recent, day FROM defs ORDER BY id"), [
      { id: 1, n: 0, s: "it's", recent: true, day: '2020-02-02' },
      { id: 2, n: 5, s: 'x', recent: false, day: '2024-03-03' },
    ]);
    assert.deepEqual(await read('SELECT c__error FROM defs_quarantine'), [
      { c__error: ["value 'bad' on column 'n' is not Int32"] },
    ]);
  });

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
});

describe('file-level failures', () => {
  const d = ds('ff', [col('id', 'Int32')]);

  async function expectUnreadable(i: IngestFileInput, reason: RegExp): Promise<void> {
    const dbPath = join(dir, `db${++seq}.duckdb`);
    const sink = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
    try {
      await assert.rejects(sink.ingestFile(i), (e: unknown) => {
        assert.ok(e instanceof FileUnreadableError, String(e));
        assert.equal(e.type, 'FileUnreadable');
        assert.ok(e.message.startsWith(`cannot read s3://bkt/${i.key}: `), e.message);
        assert.match(e.message, reason);
        return true;
      });
      // nothing was written
      assert.equal(await sink.rowCount('ff'), 0);
      assert.deepEqual(await sink.ledger('ff'), []);
    } finally {
      await sink.close();
    }
  }

  // DuckDB reads CSV and NDJSON gzip streams itself and stops silently where one
  // is cut: the whole stream must be checked, on the fast and the tolerant path.
  for (const format of ['csv', 'ndjson'] as const) {
    for (const badRow of [false, true]) {
      it(`truncated ${format}.gz${badRow ? ' with a bad row (tolerant path)' : ''} (and no temporary file is left behind)`, async () => {
        const rows = Array.from({ length: 5000 }, (_, i) => (badRow && i === 10 ? 'x' : String(i)));
        const text =
          format === 'csv' ? 'id\n' + rows.join('\n') : rows.map((v) => `{"id":${JSON.stringify(v)}}`).join('\n');
        const full = gzipSync(text);
        const key = `t${badRow ? 'b' : ''}.${format}.gz`;
        const file = await fixture(key, full.subarray(0, Math.floor(full.length / 2)));
        await expectUnreadable(input(d, file, format, { key, compression: 'gzip' }), /truncated gzip data/);
        assert.deepEqual(
          (await readdir(dir)).filter((f) => f.includes('.s3c-')),
          [],
        );
      });
    }
  }

  it('not gzip at all', async () => {
    const file = await fixture('n.ndjson.gz', '{"id":1}\n');
    await expectUnreadable(input(d, file, 'ndjson', { key: 'n.ndjson.gz', compression: 'gzip' }), /not gzip data/);
  });

  it('not a Parquet file', async () => {
    const file = await fixture('np.parquet', 'id\n1\n2\n3\n'.repeat(10));
    await expectUnreadable(input(d, file, 'parquet', { key: 'np.parquet' }), /not a Parquet file/);
  });

  it('LZO-compressed Parquet gets "unsupported codec"', async () => {
    const file = join(dir, `${++seq}-lzo.parquet`);
    await scratch([`COPY (SELECT 1 AS id) TO '${file}' (FORMAT parquet, COMPRESSION snappy)`]);
    // Rewrite the column chunk's codec in the footer (Thrift compact: field 4, i32, SNAPPY=1 → LZO=3).
    const buf = await readFile(file);
    const footerLen = buf.readUInt32LE(buf.length - 8);
    const start = buf.length - 8 - footerLen;
    const needle = Buffer.from([0x18, 0x02, 0x69, 0x64, 0x15, 0x02]); // path_in_schema ["id"], codec 1
    const at = buf.indexOf(needle, start);
    assert.ok(at > 0, 'codec field found');
    buf[at + 5] = 0x06;
    await writeFile(file, buf);
    await expectUnreadable(input(d, file, 'parquet', { key: 'lzo.parquet' }), /unsupported codec LZO/);
  });

  it('downloaded file missing', async () => {
    await expectUnreadable(input(d, join(dir, 'does-not-exist.csv'), 'csv', { key: 'gone.csv' }), /not found/);
  });
});

describe('exactly once', () => {
  const d = ds('once', [col('id', 'Int32')]);

  it('a version ingested twice loads its rows once; a new ETag loads again', async () => {
    const file = await fixture('o.csv', 'id\n1\n2\n');
    const dbPath = join(dir, `db${++seq}.duckdb`);
    const sink = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
    try {
      const first = await sink.ingestFile(input(d, file, 'csv', { jobId: 'job-a' }));
      const second = await sink.ingestFile(input(d, file, 'csv', { jobId: 'job-b', etag: 'etag-1' }));
      assert.deepEqual(first, { ...second, alreadyLoaded: false });
      assert.equal(second.alreadyLoaded, true);
      assert.equal(second.jobId, 'job-a');
      assert.equal(await sink.rowCount('once'), 2);
      const entry = await sink.findLoaded('once', 'data/once.csv', '"etag-1"');
      assert.deepEqual(entry, {
        dataSource: 'once',
        bucket: 'bkt',
        key: 'data/once.csv',
        etag: 'etag-1',
        size: 123,
        rows: 2,
        quarantined: 0,
        jobId: 'job-a',
        loadedAt: first.loadedAt,
      });
      assert.equal(await sink.findLoaded('once', 'data/once.csv', 'other'), undefined);

      const third = await sink.ingestFile(input(d, file, 'csv', { etag: 'etag-2' }));
      assert.equal(third.alreadyLoaded, false);
      assert.equal(await sink.rowCount('once'), 4);
      assert.deepEqual(
        (await sink.ledger('once')).map((e) => e.etag),
        ['etag-1', 'etag-2'],
      );
    } finally {
      await sink.close();
    }
    // the ledger survives a reopen
    const again = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
    try {
      const r = await again.ingestFile(input(d, file, 'csv'));
      assert.equal(r.alreadyLoaded, true);
      assert.equal(await again.rowCount('once'), 4);
    } finally {
      await again.close();
    }
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

  it('concurrent calls for the same version load it once', async () => {
    const file = await fixture('c.csv', 'id\n1\n2\n3\n');
    const dbPath = join(dir, `db${++seq}.duckdb`);
    const sink = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
    try {
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => sink.ingestFile(input(d, file, 'csv', { jobId: `j${i}` }))),
      );
      assert.equal(results.filter((r) => !r.alreadyLoaded).length, 1);
      assert.equal(await sink.rowCount('once'), 3);
      assert.equal((await sink.ledger('once')).length, 1);
    } finally {
      await sink.close();
    }
  });

  it('a failed file leaves no rows and no ledger entry, so a retry can load it', async () => {
    const dbPath = join(dir, `db${++seq}.duckdb`);
    const sink = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
    try {
      const good = gzipSync('id\n1\n2\n');
      const file = await fixture('r.csv.gz', good.subarray(0, good.length - 4));
      await assert.rejects(sink.ingestFile(input(d, file, 'csv', { compression: 'gzip' })), FileUnreadableError);
      await writeFile(file, good);
      const r = await sink.ingestFile(input(d, file, 'csv', { compression: 'gzip' }));
      assert.deepEqual([r.rows, r.alreadyLoaded], [2, false]);
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
