/**
 * Conformance cases of the formats: CSV, NDJSON and Parquet, plain and gzip,
 * rows mapped and converted, bad rows quarantined with their line numbers and
 * error texts. Each loads into a fresh destination of the current target.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { fixture, fixturePath, input, load, quarantineSql, scratch, strayFiles } from './harness';
import { col, ds } from './schema';

export function csvCases(): void {
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
      const d2 = ds('empties', [
        col('id', 'Int32'),
        col('s', 'String'),
        col('n', 'Nullable(Int32)'),
        col('k', 'Int32'),
      ]);
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
}

export function ndjsonCases(): void {
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
      const all = 'SELECT * FROM same ORDER BY s NULLS FIRST, n NULLS FIRST';
      // The plain file's rows are read before the next load: a fresh destination may be the same lake, emptied.
      const plain = await (await load([input(d2, await fixture('same.ndjson', text), 'ndjson')])).read(all);
      const gz = await load([
        input(d2, await fixture('same.ndjson.gz', gzipSync(text)), 'ndjson', { compression: 'gzip' }),
      ]);
      assert.deepEqual([gz.results[0]!.rows, gz.results[0]!.quarantined], [6, 0]);
      const rows = await gz.read(all);
      assert.deepEqual(rows, plain);
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
      assert.deepEqual(await strayFiles(), []);
    });

    for (const gz of [false, true]) {
      it(`quarantines invalid JSON lines with the raw line, and bad values, with line numbers${gz ? ' (.ndjson.gz)' : ''}`, async () => {
        const d2 = ds('ev2', [col('id', 'Int64'), col('v', 'Nullable(Float32)')]);
        const text =
          ['{"id":1,"v":1}', '{"id":2, oops', '', '[1,2]', '{"id":"x","v":"y"}', '{"v":2}', '{"id":6}'].join('\n') +
          '\n';
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
            {
              id: null,
              v: null,
              c__error_column: [],
              c__error: [`line 4 is not a JSON object: '[1,2]'`],
              c__line: '4',
            },
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
}

export function parquetCases(): void {
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
        const file = fixturePath(`${codec}.parquet`);
        await scratch([`COPY (${select}) TO '${file}' (FORMAT parquet, COMPRESSION ${codec})`]);
        const { results, read } = await load([input(d, file, 'parquet')]);
        assert.deepEqual([results[0]!.rows, results[0]!.quarantined], [2, 0]);
        assert.deepEqual(await read('SELECT * FROM pq ORDER BY id'), expected);
      });
    }

    it('reads .parquet.gz', async () => {
      const file = fixturePath('x.parquet');
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
      const file = fixturePath('q.parquet');
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
}
