/**
 * Conformance cases of the types: every type family converted, out-of-range
 * and malformed values quarantined, times and their offsets, nested values,
 * DEFAULTs. Each loads into a fresh destination of the current target.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixture, input, load } from './harness';
import { col, ds } from './schema';

export function typeCases(): void {
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
  });
}
