/**
 * `s3c datasource create --s3` (R11): the pure parts (DuckDB → schema type
 * mapping, names, JSONPaths, file text), inference on local files, and the
 * guided flow against a scripted S3 client and scripted prompts.
 */
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { S3ClientCache } from '../../src/aws/credentials';
import {
  bucketUriProblem,
  datasourceCreateS3,
  datasourceFileText,
  datasourceNameProblem,
  type DatasourcePrompts,
} from '../../src/cli/datasourceCreate';
import {
  type InferredColumn,
  InferenceError,
  columnLine,
  looksLikeData,
  inferSchema,
  jsonPathOf,
  sanitizeColumnName,
  schemaTypeOfDuckDb,
  uniqueColumnNames,
  withMissingValues,
} from '../../src/cli/schemaInference';
import { checkJsonPath, formatColumnType, parseColumnType, parseDataSource } from '../../src/datafiles';
import type { FileFormat } from '../../src/datafiles/types';
import { DuckDbSink } from '../../src/sinks/duckdb';

let duck: DuckDBInstance;
let conn: DuckDBConnection;
let dir: string;

before(async () => {
  duck = await DuckDBInstance.create(':memory:');
  conn = await duck.connect();
});
after(() => {
  conn.closeSync();
  duck.closeSync();
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3c-dscreate-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function duckType(sqlType: string) {
  const r = await conn.runAndReadAll(`SELECT CAST(NULL AS ${sqlType}) AS c`);
  return r.columnTypes()[0]!;
}

describe('DuckDB → schema type mapping', () => {
  // [DuckDB type, fraction digits seen in the sample (timestamps), schema type]
  const TABLE: [string, number | undefined, string][] = [
    ['VARCHAR', undefined, 'String'],
    ['JSON', undefined, 'String'],
    ['BOOLEAN', undefined, 'Bool'],
    ['TINYINT', undefined, 'Int8'],
    ['SMALLINT', undefined, 'Int16'],
    ['INTEGER', undefined, 'Int32'],
    ['BIGINT', undefined, 'Int64'],
    ['UTINYINT', undefined, 'UInt8'],
    ['USMALLINT', undefined, 'UInt16'],
    ['UINTEGER', undefined, 'UInt32'],
    ['UBIGINT', undefined, 'UInt64'],
    ['FLOAT', undefined, 'Float32'],
    ['DOUBLE', undefined, 'Float64'],
    ['DECIMAL(18,3)', undefined, 'Decimal(18, 3)'],
    ['DECIMAL(38,10)', undefined, 'Decimal(38, 10)'],
    ['DATE', undefined, 'Date'],
    ['TIMESTAMP', 0, 'DateTime'],
    ['TIMESTAMP', 3, 'DateTime64(3)'],
    ['TIMESTAMP', 6, 'DateTime64(6)'],
    ['TIMESTAMP', undefined, 'DateTime64(6)'],
    ['TIMESTAMP_S', undefined, 'DateTime'],
    ['TIMESTAMP_MS', 0, 'DateTime'],
    ['TIMESTAMP_MS', 3, 'DateTime64(3)'],
    ['TIMESTAMP_NS', 9, 'DateTime64(9)'],
    ['TIMESTAMP WITH TIME ZONE', 0, 'DateTime'],
    ['TIMESTAMP WITH TIME ZONE', 3, 'DateTime64(3)'],
    ['UUID', undefined, 'UUID'],
    ["ENUM('a', 'b')", undefined, 'LowCardinality(String)'],
    ['BIGINT[]', undefined, 'Array(Int64)'],
    ['VARCHAR[][]', undefined, 'Array(Array(String))'],
    ['INTEGER[3]', undefined, 'Array(Int32)'],
    ['TIMESTAMP[]', undefined, 'Array(DateTime64(6))'],
    ['MAP(VARCHAR, DOUBLE)', undefined, 'Map(String, Float64)'],
    ['MAP(BIGINT, VARCHAR)', undefined, 'Map(Int64, String)'],
    ['MAP(DOUBLE, VARCHAR)', undefined, 'Map(String, String)'],
    ['MAP(VARCHAR, BIGINT[])', undefined, 'Map(String, Array(Int64))'],
    ['STRUCT(a INTEGER)[]', undefined, 'String'],
    ['MAP(VARCHAR, STRUCT(a INTEGER))', undefined, 'String'],
    ['HUGEINT', undefined, 'String'],
    ['UHUGEINT', undefined, 'String'],
    ['TIME', undefined, 'String'],
    ['INTERVAL', undefined, 'String'],
    ['BLOB', undefined, 'String'],
    ['UNION(i INTEGER, s VARCHAR)', undefined, 'String'],
  ];
  for (const [sqlType, digits, expected] of TABLE) {
    it(`${sqlType}${digits === undefined ? '' : ` (${digits} fraction digits seen)`} → ${expected}`, async () => {
      const mapped = schemaTypeOfDuckDb(await duckType(sqlType), digits);
      assert.equal(formatColumnType(mapped.type), expected);
      // Every mapped type is one the schema language accepts.
      assert.equal(formatColumnType(parseColumnType(expected)), expected);
      const keptAsText = expected === 'String' && !['VARCHAR', 'JSON'].includes(sqlType);
      assert.equal(mapped.asText !== undefined, keptAsText, 'asText is set exactly when the value is kept as text');
    });
  }

  it('missing values: Nullable(T), except CSV strings, arrays and maps', () => {
    const cases: [string, boolean, 'csv' | 'ndjson' | 'parquet', string][] = [
      ['Int64', false, 'ndjson', 'Int64'],
      ['Int64', true, 'ndjson', 'Nullable(Int64)'],
      ['Int64', true, 'csv', 'Nullable(Int64)'],
      ['String', true, 'ndjson', 'Nullable(String)'],
      ['String', true, 'parquet', 'Nullable(String)'],
      ['String', true, 'csv', 'String'],
      ['DateTime64(3)', true, 'parquet', 'Nullable(DateTime64(3))'],
      ['LowCardinality(String)', true, 'parquet', 'LowCardinality(Nullable(String))'],
      ['Array(Int64)', true, 'ndjson', 'Array(Int64) DEFAULT []'],
      ['Map(String, Int64)', true, 'parquet', 'Map(String, Int64) DEFAULT map()'],
      ['Array(Int64)', false, 'ndjson', 'Array(Int64)'],
    ];
    for (const [type, nulls, format, expected] of cases) {
      const r = withMissingValues(parseColumnType(type), nulls, format);
      assert.equal(
        `${formatColumnType(r.type)}${r.defaultExpr !== undefined ? ` DEFAULT ${r.defaultExpr}` : ''}`,
        expected,
        `${type} ${nulls} ${format}`,
      );
    }
  });
});

describe('names and paths', () => {
  it("JSONPaths: $.key for plain keys, $['...'] otherwise, none for backticks", () => {
    const cases: [string[], string | undefined][] = [
      [['id'], '$.id'],
      [['user', 'geo', 'lat'], '$.user.geo.lat'],
      [['key with spaces'], "$['key with spaces']"],
      [['a.b'], "$['a.b']"],
      [["it's"], "$['it\\'s']"],
      [['back\\slash'], "$['back\\\\slash']"],
      [['café-1', '$x', '@y'], '$.café-1.$x.@y'],
      [['user', 'first name'], "$.user['first name']"],
      [[''], "$['']"],
      [['a`b'], undefined],
      [['line\nbreak'], undefined],
    ];
    for (const [keys, expected] of cases) {
      const p = jsonPathOf(keys);
      assert.equal(p, expected, JSON.stringify(keys));
      if (p !== undefined) {
        const parsed = checkJsonPath(p);
        assert.ok(parsed.ok, `${p} parses`);
        if (parsed.ok)
          assert.deepEqual(
            parsed.value,
            keys.map((key) => ({ kind: 'key', key })),
            `${p} round-trips`,
          );
      }
    }
  });

  it('column names: backticks and control characters become _, spaces trimmed, empty is undefined', () => {
    assert.equal(sanitizeColumnName('user id'), 'user id');
    assert.equal(sanitizeColumnName('  padded  '), 'padded');
    assert.equal(sanitizeColumnName('a`b'), 'a_b');
    assert.equal(sanitizeColumnName('tab\there'), 'tab_here');
    assert.equal(sanitizeColumnName('Ünïcode ✓'), 'Ünïcode ✓');
    assert.equal(sanitizeColumnName('   '), undefined);
    assert.equal(sanitizeColumnName(''), undefined);
  });

  it('unique names: numbered blanks, case-insensitive repeats and quarantine columns get suffixes', () => {
    assert.deepEqual(
      uniqueColumnNames(['id', undefined, 'ID', 'id', 'insertion_date', 'c__error', 'id_2', undefined]),
      ['id', 'column_2', 'ID_2', 'id_3', 'insertion_date_2', 'c__error_2', 'id_2_2', 'column_8'],
    );
  });

  it('name and URI problems', () => {
    assert.equal(datasourceNameProblem('events', dir), undefined);
    assert.equal(
      datasourceNameProblem('1events', dir),
      'Invalid data source name "1events": expected letters, digits and _, not starting with a digit (^[a-zA-Z_][a-zA-Z0-9_]*$)',
    );
    fs.mkdirSync(path.join(dir, 'datasources'));
    fs.writeFileSync(path.join(dir, 'datasources', 'events.datasource'), '');
    assert.equal(
      datasourceNameProblem('events', dir),
      `A data source named "events" already exists (${path.join('datasources', 'events.datasource')}); choose another name or edit that file`,
    );
    assert.equal(bucketUriProblem('s3://my-bucket/logs/**/*.csv'), undefined);
    assert.match(bucketUriProblem('my-bucket/*.csv') ?? '', /^Invalid bucket URI: .*s3:\/\//);
    assert.match(bucketUriProblem('s3://My_Bucket/*.csv') ?? '', /^Invalid bucket URI/);
    assert.match(
      bucketUriProblem('s3://bucket/a b.csv') ?? '',
      /^Invalid IMPORT_BUCKET_URI: found "s3:\/\/bucket\/a b.csv" containing whitespace/,
    );
  });
});

describe('file text', () => {
  const columns: InferredColumn[] = [
    { name: 'id', type: parseColumnType('Int64'), jsonPath: '$.id' },
    { name: 'key with spaces', type: parseColumnType('Nullable(String)'), jsonPath: "$['key with spaces']" },
    { name: 'tags', type: parseColumnType('Array(String)'), jsonPath: '$.tags', defaultExpr: '[]' },
    { name: 'ts', type: parseColumnType('DateTime64(3)'), jsonPath: '$.ts' },
  ];

  it('inferred columns, the default sorting key and every IMPORT_* setting', () => {
    const text = datasourceFileText({
      connection: 'my_s3',
      uri: 's3://my-bucket/events/*.ndjson',
      schedule: '@auto',
      fromTimestamp: '2024-05-01T00:00:00Z',
      columns,
      sampleKey: 'events/2024-05-01.ndjson',
    });
    assert.equal(
      text,
      `DESCRIPTION >
    Files of s3://my-bucket/events/*.ndjson, read with the connection my_s3.
    Schema inferred from events/2024-05-01.ndjson by \`s3c datasource create --s3\`.

SCHEMA >
    \`id\` Int64 \`json:$.id\`,
    \`key with spaces\` Nullable(String) \`json:$['key with spaces']\`,
    \`tags\` Array(String) \`json:$.tags\` DEFAULT [],
    \`ts\` DateTime64(3) \`json:$.ts\`

ENGINE "MergeTree"
ENGINE_SORTING_KEY "ts"

IMPORT_CONNECTION_NAME my_s3
IMPORT_BUCKET_URI s3://my-bucket/events/*.ndjson
IMPORT_SCHEDULE @auto
IMPORT_FROM_TIMESTAMP 2024-05-01T00:00:00Z
`,
    );
    const ds = parseDataSource(text, '/p/events.datasource');
    assert.deepEqual(
      ds.schema.map((c) => [c.name, c.typeText, c.jsonPath, c.defaultExpr]),
      [
        ['id', 'Int64', '$.id', undefined],
        ['key with spaces', 'Nullable(String)', "$['key with spaces']", undefined],
        ['tags', 'Array(String)', '$.tags', '[]'],
        ['ts', 'DateTime64(3)', '$.ts', undefined],
      ],
    );
    assert.equal(ds.sortingKey, 'ts');
    assert.deepEqual(ds.import, {
      connectionName: 'my_s3',
      bucketUri: 's3://my-bucket/events/*.ndjson',
      schedule: { kind: 'auto' },
      fromTimestamp: '2024-05-01T00:00:00Z',
    });
  });

  it('no column qualifies for the sorting key: ENGINE_SORTING_KEY is left out', () => {
    const text = datasourceFileText({
      connection: 'c',
      uri: 's3://b-1/x.csv',
      schedule: '0 * * * *',
      columns: [{ name: 'a b', type: parseColumnType('Nullable(Int64)') }],
      sampleKey: 'x.csv',
    });
    assert.doesNotMatch(text, /ENGINE_SORTING_KEY/);
    assert.match(text, /^ {4}`a b` Nullable\(Int64\)$/m);
    const ds = parseDataSource(text, '/p/x.datasource');
    assert.deepEqual(ds.import?.schedule, { kind: 'cron', expression: '0 * * * *' });
  });

  it('the template parses and says why there is no schema', () => {
    const text = datasourceFileText({
      connection: 'c',
      uri: 's3://b-1/none/*.csv',
      schedule: '@once',
      templateReason: 'no file matched s3://b-1/none/*.csv',
    });
    assert.equal(
      text,
      `DESCRIPTION >
    Files of s3://b-1/none/*.csv, read with the connection c.
    Created by \`s3c datasource create --s3\`; the schema is still to be written.

SCHEMA >
    # TODO: no schema was inferred (no file matched s3://b-1/none/*.csv).
    # Replace the placeholder column below with the fields of the files, one per line:
    #   \`name\` Type \`json:$.path\`, ...
    # The JSONPath finds NDJSON and Parquet values ($.a.b, $['key with spaces'], $.a[:]);
    # CSV columns are found by the header when it names them, else by position.
    # Types: String, LowCardinality(String), Bool, Int8..Int64, UInt8..UInt64, Float32, Float64,
    #   Decimal(P, S), Date, DateTime, DateTime64(3), UUID, Nullable(T), Array(T), Map(String, T).
    \`data\` String \`json:$\`

ENGINE "MergeTree"

IMPORT_CONNECTION_NAME c
IMPORT_BUCKET_URI s3://b-1/none/*.csv
IMPORT_SCHEDULE @once
`,
    );
    const ds = parseDataSource(text, '/p/t.datasource');
    assert.deepEqual(
      ds.schema.map((c) => c.name),
      ['data'],
    );
  });

  it('columnLine backquotes the name and writes path and DEFAULT', () => {
    assert.equal(
      columnLine({
        name: 'a b',
        type: parseColumnType('Map(String, Int64)'),
        jsonPath: "$['a b']",
        defaultExpr: 'map()',
      }),
      "`a b` Map(String, Int64) `json:$['a b']` DEFAULT map()",
    );
    assert.equal(columnLine({ name: 'x', type: parseColumnType('Bool') }), '`x` Bool');
  });
});

describe('inference on local files', () => {
  it('CSV: header names kept (with spaces), types, fractions, nulls; no JSONPaths', async () => {
    const file = path.join(dir, 'a.csv');
    fs.writeFileSync(
      file,
      'id,name,amount,ts,day,flag,user id,tsz,frac,maybe\n' +
        '1,alice,1.5,2024-01-01 10:00:00,2024-01-01,true,u1,2024-01-01T10:00:00Z,2024-01-01 10:00:00.123,\n' +
        '2,,2.25,2024-01-02 11:00:00,2024-01-02,false,u2,2024-01-01T10:00:00+02:00,2024-01-01 10:00:00.5,3\n',
    );
    const s = await inferSchema(file, 'csv');
    assert.equal(s.rows, 2);
    assert.deepEqual(s.notes, []);
    assert.deepEqual(s.columns.map(columnLine), [
      '`id` Int64',
      '`name` String',
      '`amount` Float64',
      '`ts` DateTime',
      '`day` Date',
      '`flag` Bool',
      '`user id` String',
      '`tsz` DateTime',
      '`frac` DateTime64(3)',
      '`maybe` Nullable(Int64)',
    ]);
  });

  it('NDJSON: nested objects flattened with paths, lists, nulls, keys with spaces, structs in lists as text', async () => {
    const file = path.join(dir, 'b.ndjson');
    fs.writeFileSync(
      file,
      '{"id":1,"name":"a","tags":["x","y"],"user":{"id":7,"geo":{"lat":1.5,"lon":2}},"ts":"2024-01-01T10:00:00.250Z","key with spaces":"v","items":[{"a":1}],"n":null}\n' +
        '{"id":2,"tags":null,"user":{"id":8,"geo":{"lat":1.5,"lon":3}},"ts":"2024-01-02T10:00:00Z","key with spaces":"w","items":[],"n":null}\n',
    );
    const s = await inferSchema(file, 'ndjson');
    assert.deepEqual(s.columns.map(columnLine), [
      '`id` Int64 `json:$.id`',
      '`name` Nullable(String) `json:$.name`',
      '`tags` Array(String) `json:$.tags` DEFAULT []',
      '`user_id` Int64 `json:$.user.id`',
      '`user_geo_lat` Float64 `json:$.user.geo.lat`',
      '`user_geo_lon` Int64 `json:$.user.geo.lon`',
      '`ts` DateTime64(3) `json:$.ts`',
      "`key with spaces` String `json:$['key with spaces']`",
      '`items` String `json:$.items`',
      '`n` Nullable(String) `json:$.n`',
    ]);
    assert.deepEqual(s.notes, ['column `items` is STRUCT("a" BIGINT)[] in the file: kept as String']);
  });

  it('text that is a date and time throughout (mixed formats) becomes DateTime; other text stays String', async () => {
    const file = path.join(dir, 'd.ndjson');
    fs.writeFileSync(
      file,
      '{"a":"2024-01-01 10:00:00","b":"2024-01-01T10:00:00.123456+02:00","c":"2024-01-01 10:00:00","d":"2024-01-01"}\n' +
        '{"a":"2024-01-02T10:00:00Z","b":"2024-01-01T10:00:00Z","c":"soon","d":"2024-01-02"}\n',
    );
    const s = await inferSchema(file, 'ndjson');
    assert.deepEqual(s.columns.map(columnLine), [
      '`a` DateTime `json:$.a`',
      '`b` DateTime64(6) `json:$.b`',
      '`c` String `json:$.c`',
      '`d` Date `json:$.d`',
    ]);
  });

  it('Parquet written by DuckDB: exact types, struct flattened, map, decimal, uuid', async () => {
    const file = path.join(dir, 'c.parquet');
    await conn.run(
      `COPY (SELECT * FROM (VALUES
         (1::INTEGER, 10::BIGINT, 1.25::DOUBLE, 3.5::FLOAT, 12.30::DECIMAL(10,2), DATE '2024-01-01', TIMESTAMP '2024-01-01 10:00:00',
          TIMESTAMP '2024-01-01 10:00:00.123456', '0b8a9f3c-7d2e-4f61-9c1a-3e5d7b9f1a2c'::UUID, true, ['a','b'], {'k': 1, 'inner': {'z': 'q'}},
          MAP {'m': 2}, 'x'),
         (2, NULL, 2.5, 1.0, 0.01, DATE '2024-01-02', TIMESTAMP '2024-01-02 10:00:00',
          TIMESTAMP '2024-01-02 10:00:00', NULL, false, NULL, {'k': NULL, 'inner': {'z': 'r'}}, MAP {'n': 3}, 'y')
       ) AS t(i32, i64, f64, f32, dec, d, ts, tsu, u, b, arr, st, mp, "weird name"))
       TO '${file}' (FORMAT parquet)`,
    );
    const s = await inferSchema(file, 'parquet');
    assert.deepEqual(s.columns.map(columnLine), [
      '`i32` Int32 `json:$.i32`',
      '`i64` Nullable(Int64) `json:$.i64`',
      '`f64` Float64 `json:$.f64`',
      '`f32` Float32 `json:$.f32`',
      '`dec` Decimal(10, 2) `json:$.dec`',
      '`d` Date `json:$.d`',
      '`ts` DateTime `json:$.ts`',
      '`tsu` DateTime64(6) `json:$.tsu`',
      '`u` Nullable(UUID) `json:$.u`',
      '`b` Bool `json:$.b`',
      '`arr` Array(String) `json:$.arr` DEFAULT []',
      '`st_k` Nullable(Int32) `json:$.st.k`',
      '`st_inner_z` String `json:$.st.inner.z`',
      '`mp` Map(String, Int32) `json:$.mp`',
      "`weird name` String `json:$['weird name']`",
    ]);
  });

  it("an unreadable file is an InferenceError with DuckDB's first line", async () => {
    const file = path.join(dir, 'bad.parquet');
    fs.writeFileSync(file, 'not parquet at all');
    await assert.rejects(
      inferSchema(file, 'parquet'),
      (e: Error) =>
        e.name === 'InferenceError' && (e as { type?: string }).type === 'InferenceError' && !e.message.includes('\n'),
    );
  });
});

/** Loads `file` with the DuckDB sink and the .datasource text written for `columns`. */
async function loadWith(
  file: string,
  format: FileFormat,
  columns: readonly InferredColumn[],
): Promise<{ rows: number; quarantined: number; text: string }> {
  const text = datasourceFileText({
    connection: 'c',
    uri: 's3://bkt/x/*',
    schedule: '@once',
    columns,
    sampleKey: 'x/sample',
  });
  const ds = parseDataSource(text, path.join(dir, 'loaded.datasource'));
  const sink = await DuckDbSink.open(':memory:', { fileDirectories: [path.dirname(path.resolve(file))] });
  try {
    const r = await sink.ingestFile({
      dataSource: ds,
      localPath: file,
      format,
      compression: 'none',
      bucket: 'b',
      key: 'x/sample',
      etag: 'e',
      size: fs.statSync(file).size,
      lastModified: '2024-01-01T00:00:00Z',
      jobId: 'j',
      recordInLedger: false,
    });
    return { rows: r.rows, quarantined: r.quarantined, text };
  } finally {
    await sink.close();
  }
}

describe('inferred schemas load the file they came from (issue #17, 3)', () => {
  it('dates the loader does not read (1-1-2016, 09/21/2012, 31/05/2018) are String, with the reason; ISO dates stay Date', async () => {
    const file = path.join(dir, 'dates.csv');
    fs.writeFileSync(
      file,
      'id,dmy,mdy,dmy2,iso\n1,1-1-2016,09/21/2012,31/05/2018,2018-05-31\n2,2-1-2016,10/01/2012,01/06/2018,2018-06-01\n',
    );
    const s = await inferSchema(file, 'csv', { key: 'in/dates.csv' });
    assert.deepEqual(s.columns.map(columnLine), [
      '`id` Int64',
      '`dmy` String',
      '`mdy` String',
      '`dmy2` String',
      '`iso` Date',
    ]);
    const loaded = await loadWith(file, 'csv', s.columns);
    assert.deepEqual([loaded.rows, loaded.quarantined], [2, 0]);
    for (const c of ['dmy', 'mdy', 'dmy2']) {
      assert.ok(
        s.notes.some((n) => n.startsWith(`column \`${c}\` holds dates or times not written in ISO 8601`)),
        s.notes.join('\n'),
      );
    }
  });

  it('timestamps with a zone abbreviation (EST) load: String when the loader refuses them', async () => {
    const file = path.join(dir, 'est.csv');
    fs.writeFileSync(file, 'id,at\n1,2020-01-01 10:00:00 EST\n2,2020-01-02 11:30:00 EST\n');
    const s = await inferSchema(file, 'csv');
    const loaded = await loadWith(file, 'csv', s.columns);
    assert.deepEqual([loaded.rows, loaded.quarantined], [2, 0]);
    assert.equal(columnLine(s.columns[1]!), '`at` String');
    // DuckDB reads them as TIMESTAMP, the loader refuses them: the trial load makes the column String and says why.
    assert.ok(
      s.notes.some((n) => /^column `at` is String, not DateTime: .*"2020-01-01 10:00:00 EST".*ISO 8601/.test(n)),
      s.notes.join('\n'),
    );
  });

  it('Parquet lists and maps with NULL elements: Array(Nullable(T)), Map(K, Nullable(V)); they load', async () => {
    const file = path.join(dir, 'nulls.parquet');
    await conn.run(
      `COPY (SELECT * FROM (VALUES (1, [0, NULL], ['a', NULL], MAP {'k': 1, 'n': NULL}, MAP {'x': 'y'}), (2, [3], ['b'], MAP {'k': 2}, MAP {'x': NULL}))
         AS t(id, li, ls, mi, ms)) TO '${file}' (FORMAT parquet)`,
    );
    const s = await inferSchema(file, 'parquet');
    assert.deepEqual(s.columns.map(columnLine), [
      '`id` Int32 `json:$.id`',
      '`li` Array(Nullable(Int32)) `json:$.li`',
      '`ls` Array(Nullable(String)) `json:$.ls`',
      '`mi` Map(String, Nullable(Int32)) `json:$.mi`',
      '`ms` Map(String, Nullable(String)) `json:$.ms`',
    ]);
    const loaded = await loadWith(file, 'parquet', s.columns);
    assert.deepEqual([loaded.rows, loaded.quarantined], [2, 0]);
  });

  it('NDJSON: a key that is null or absent on every line, an always-empty object, a map-like object: every line loads', async () => {
    const file = path.join(dir, 'absent.ndjson');
    fs.writeFileSync(
      file,
      '{"id":1,"gone":null,"o":{},"m":{"a":1}}\n{"id":2,"o":{},"m":{"b":2}}\n{"id":3,"o":{},"m":{}}\n',
    );
    const s = await inferSchema(file, 'ndjson');
    const loaded = await loadWith(file, 'ndjson', s.columns);
    assert.deepEqual([loaded.rows, loaded.quarantined], [3, 0]);
    assert.ok(s.columns.some((c) => c.name === 'gone' && formatColumnType(c.type) === 'Nullable(String)'));
  });

  it('a column named a,b,c,d (or \\intval) as the sorting key: quoted, the file parses and loads', async () => {
    const file = path.join(dir, 'odd.csv');
    fs.writeFileSync(file, '"a,b,c,d",\\intval = 1\nx,1\ny,2\n');
    const s = await inferSchema(file, 'csv');
    const loaded = await loadWith(file, 'csv', s.columns);
    assert.match(loaded.text, /^ENGINE_SORTING_KEY "`_intval = 1`"$/m);
    assert.deepEqual([loaded.rows, loaded.quarantined], [2, 0]);
    const comma = datasourceFileText({
      connection: 'c',
      uri: 's3://bkt/x/*',
      schedule: '@once',
      columns: [{ name: 'a,b,c,d', type: parseColumnType('String') }],
      sampleKey: 'k',
    });
    assert.match(comma, /^ENGINE_SORTING_KEY "`a,b,c,d`"$/m);
    assert.equal(parseDataSource(comma, path.join(dir, 'comma.datasource')).sortingKey, '`a,b,c,d`');
  });

  it("CSV read in the loader's layout: comment lines skipped, no delimiter the loader would not pick, Latin-1 decoded", async () => {
    const file = path.join(dir, 'layout.csv');
    fs.writeFileSync(
      file,
      Buffer.concat([
        Buffer.from('# exported 2024\n# by a tool\nname;city;n\n'),
        Buffer.from('Jos\xe9;M\xe1laga;1\nAna;Le\xf3n;2\n', 'latin1'),
      ]),
    );
    const s = await inferSchema(file, 'csv');
    assert.deepEqual(s.columns.map(columnLine), ['`name` String', '`city` String', '`n` Int64']);
    assert.ok(s.notes.some((n) => /Latin-1/.test(n)));
    const loaded = await loadWith(file, 'csv', s.columns);
    assert.deepEqual([loaded.rows, loaded.quarantined], [2, 0]);
  });

  it('CSV header fields the loader cannot find (repeated) are left out with a note, an unnamed one is found by its place; a line of data is no header', async () => {
    const file = path.join(dir, 'blank.csv');
    fs.writeFileSync(file, ',a,a,b\n0,1,2,3\n1,4,5,6\n');
    const s = await inferSchema(file, 'csv');
    assert.deepEqual(s.columns.map(columnLine), ['`column_1` Int64', '`a` Int64', '`b` Int64']);
    assert.deepEqual(
      s.notes.filter((n) => n.startsWith('left out field')),
      [
        'left out field 3 of the header ("a"): the name is used by an earlier field, so the loader cannot find its values',
      ],
    );
    assert.ok(s.notes.includes('column "" is named `column_1`'), JSON.stringify(s.notes));
    const loaded = await loadWith(file, 'csv', s.columns);
    assert.deepEqual([loaded.rows, loaded.quarantined], [2, 0]);
    assert.equal(looksLikeData(['1 2 3', '4 5 6']), true);
    assert.equal(looksLikeData(['name,city', 'ana,paris']), false);
    assert.equal(looksLikeData(['id,n', '1,2']), false);
    assert.equal(looksLikeData(['14   138.538   256.405   15.461 \\', '   -0.032  0.802  0  No_error']), true);
    assert.equal(looksLikeData(['150,4,setosa,versicolor,virginica', '5.1,3.5,1.4,0.2,0']), false);
  });

  it('NDJSON that is not NDJSON: a precise refusal naming the key, never a local path or a DuckDB error class', async () => {
    const cases: [string, RegExp][] = [
      [
        '{\n  "a": 1,\n  "b": [1, 2]\n}\n',
        /^in\/x\.ndjson is not NDJSON: line 1 is not valid JSON \("\{"\); the file looks like one JSON document spread over 4 lines \(pretty-printed\)/,
      ],
      [
        '[1, 2]\n[3]\n',
        /^in\/x\.ndjson has no JSON object on a line of its own, as NDJSON records are: line 1 is a JSON array, not an object/,
      ],
      ['{}\n{}\n', /^every JSON object of in\/x\.ndjson is empty/],
      ['', /^in\/x\.ndjson has no data/],
    ];
    for (const [text, expected] of cases) {
      const file = path.join(dir, 'x.ndjson');
      fs.writeFileSync(file, text);
      await assert.rejects(inferSchema(file, 'ndjson', { key: 'in/x.ndjson' }), (e: Error) => {
        assert.ok(e instanceof InferenceError);
        assert.match(e.message, expected);
        assert.ok(
          !e.message.includes(dir) && !e.message.includes(os.tmpdir()) && !/ Error:/.test(e.message),
          e.message,
        );
        return true;
      });
    }
  });

  it('NDJSON with some bad lines: inferred from the objects; the bad lines are named and quarantined, the rest loads', async () => {
    const file = path.join(dir, 'some.ndjson');
    fs.writeFileSync(file, '{"a":1}\n[1]\n{"a":2}\n{"a":\n');
    const s = await inferSchema(file, 'ndjson');
    assert.deepEqual(s.columns.map(columnLine), ['`a` Int64 `json:$.a`']);
    assert.ok(
      s.notes.some((n) => n.startsWith('2 of 4 lines of the sample are not JSON objects (line 2 is a JSON array')),
      s.notes.join('\n'),
    );
    const loaded = await loadWith(file, 'ndjson', s.columns);
    assert.deepEqual([loaded.rows, loaded.quarantined], [2, 2]);
  });

  it('a Parquet map that inflates past the memory limit fails fast, saying so; a deadline is kept', async () => {
    // 592 bytes on disk, one map of 4 million entries once read.
    const file = path.join(import.meta.dirname, '..', 'fixtures', 'inference', 'map_4m_entries.parquet');
    const started = Date.now();
    await assert.rejects(
      inferSchema(file, 'parquet', { key: 'data/map.parquet', memoryLimit: '32MB' }),
      (e: Error) =>
        e instanceof InferenceError && /^reading data\/map\.parquet needs more than 32MB of memory/.test(e.message),
    );
    await assert.rejects(
      inferSchema(file, 'parquet', { key: 'data/map.parquet', timeoutMs: 1 }),
      (e: Error) =>
        e instanceof InferenceError && e.message === 'reading data/map.parquet took more than 1 ms: no schema inferred',
    );
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  });
});

// ---------------------------------------------------------------------------
// The flow, against a scripted S3 client.

interface Script {
  input?: string[];
  select?: unknown[];
}

function scripted(script: Script) {
  const inputs = [...(script.input ?? [])];
  const selects = [...(script.select ?? [])];
  const asked: string[] = [];
  const validationMessages: string[] = [];
  const prompts: DatasourcePrompts = {
    async input(config) {
      asked.push(config.message);
      for (;;) {
        const answer = inputs.shift();
        if (answer === undefined) throw new Error(`no scripted answer for: ${config.message}`);
        if (config.validate) {
          const r = await config.validate(answer);
          if (r !== true) {
            validationMessages.push(String(r));
            continue;
          }
        }
        return answer;
      }
    },
    async select<Value>(config: { message: string; choices: readonly { value: Value }[] }): Promise<Value> {
      asked.push(config.message);
      if (selects.length === 0) throw new Error(`no scripted choice for: ${config.message}`);
      const v = selects.shift();
      assert.ok(
        config.choices.some((c) => c.value === v),
        `scripted choice ${String(v)} is one of the choices`,
      );
      return v as Value;
    },
    async confirm(config) {
      throw new Error(`unexpected confirm: ${config.message}`);
    },
  };
  return { prompts, asked, validationMessages, remaining: () => inputs.length + selects.length };
}

/** An S3 "client" holding objects in memory; honours Range; records requests. */
function fakeS3(objects: Record<string, Buffer>) {
  const requests: string[] = [];
  const client = {
    async send(command: unknown) {
      if (command instanceof ListObjectsV2Command) {
        const { Bucket, Prefix } = command.input;
        requests.push(`list ${Bucket} ${Prefix ?? ''}`);
        const contents = Object.keys(objects)
          .filter((k) => k.startsWith(`${Bucket}/${Prefix ?? ''}`))
          .sort()
          .map((k) => ({
            Key: k.slice(`${Bucket}/`.length),
            Size: objects[k]!.length,
            LastModified: new Date('2024-06-01T00:00:00Z'),
          }));
        return { Contents: contents, IsTruncated: false };
      }
      if (command instanceof GetObjectCommand) {
        const { Bucket, Key, Range } = command.input;
        requests.push(`get ${Key}${Range ? ` ${Range}` : ''}`);
        let body = objects[`${Bucket}/${Key}`]!;
        const m = Range ? /^bytes=(\d+)-(\d+)$/.exec(Range) : null;
        if (m) body = body.subarray(Number(m[1]), Number(m[2]) + 1);
        const stream = Readable.from([body]);
        return { Body: Object.assign(stream, { transformToByteArray: async () => new Uint8Array(body) }) };
      }
      throw new Error(`unexpected command ${String(command)}`);
    },
  };
  const cache = { clientFor: () => client as unknown as S3Client } as unknown as S3ClientCache;
  return { cache, requests };
}

const CONNECTION =
  'TYPE s3\nS3_REGION "us-east-1"\nS3_ENDPOINT "http://127.0.0.1:9"\nS3_ACCESS_KEY "AKIAEXAMPLE"\nS3_SECRET {{ tb_secret("MY_SECRET") }}\n';
const lookup = (name: string): string | undefined => (name === 'MY_SECRET' ? 'sEcReT-vAlUe-never-printed' : undefined);

describe('the guided flow', () => {
  it('no connection: a clear refusal pointing to `s3c connection create s3`, nothing asked or written', async () => {
    const { prompts, asked } = scripted({});
    const lines: string[] = [];
    await assert.rejects(
      datasourceCreateS3({ projectDir: dir, lookup, s3: fakeS3({}).cache, prompts, out: (l) => lines.push(l) }),
      {
        message:
          'No S3 connection in this project: create one with `s3c connection create s3`, then run `s3c datasource create --s3` again',
      },
    );
    fs.writeFileSync(path.join(dir, 'broken.connection'), 'TYPE s3\n');
    await assert.rejects(
      datasourceCreateS3({ projectDir: dir, lookup, s3: fakeS3({}).cache, prompts, out: (l) => lines.push(l) }),
      {
        message:
          'No S3 connection in this project: create one with `s3c connection create s3`, then run `s3c datasource create --s3` again ' +
          '(1 .connection file has errors: `s3c deploy --check` shows them)',
      },
    );
    assert.deepEqual(asked, []);
    assert.deepEqual(lines, []);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.datasource')),
      [],
    );
  });

  it('given options are checked first', async () => {
    fs.writeFileSync(path.join(dir, 'minio.connection'), CONNECTION);
    const run = (o: Record<string, string>) =>
      datasourceCreateS3({
        projectDir: dir,
        lookup,
        s3: fakeS3({}).cache,
        prompts: scripted({}).prompts,
        out: () => {},
        ...o,
      });
    await assert.rejects(run({ connection: 'nope' }), {
      message: 'Unknown connection "nope": expected one of minio (or create it with `s3c connection create s3`)',
    });
    await assert.rejects(run({ name: 'bad-name' }), /^Error: Invalid data source name "bad-name"/);
    await assert.rejects(run({ schedule: '@hourly' }), {
      message:
        'Invalid IMPORT_SCHEDULE: found "@hourly", expected @auto, @once, @on-demand or a 5-field cron expression such as "0 * * * *"',
    });
    await assert.rejects(
      run({ fromTimestamp: '2024-01-01T00:00:00' }),
      /^Error: Invalid IMPORT_FROM_TIMESTAMP: found "2024-01-01T00:00:00" without a UTC offset/,
    );
  });

  it('interactive: prompts in order, bad answers re-asked, a sample chosen, a gzip NDJSON cut to whole lines', async () => {
    fs.writeFileSync(path.join(dir, 'minio.connection'), CONNECTION);
    fs.writeFileSync(path.join(dir, 'other.connection'), CONNECTION);
    fs.mkdirSync(path.join(dir, 'datasources'));
    const line = (i: number) =>
      `{"id":${i},"at":"2024-01-0${1 + (i % 9)} 10:00:00","payload":{"kind":"k${i}","n":${i}.5}}\n`;
    const big = gzipSync(Buffer.from(Array.from({ length: 2000 }, (_, i) => line(i)).join('')));
    const { cache, requests } = fakeS3({
      'landing/events/a.ndjson.gz': big,
      'landing/events/b.ndjson': Buffer.from(line(1)),
      'landing/events/empty.ndjson': Buffer.alloc(0),
      'landing/events/readme.txt': Buffer.from('hello'),
    });
    // The cron expression is an input asked after the 'cron' choice.
    const script = scripted({
      input: ['9lives', 'events', 's3://landing/events/*', '*/15 * * * *', 'not-a-time', '2024-05-01T02:00:00+02:00'],
      select: ['minio', 'cron', 'events/a.ndjson.gz'],
    });
    const lines: string[] = [];
    const result = await datasourceCreateS3({
      projectDir: dir,
      lookup,
      s3: cache,
      prompts: script.prompts,
      out: (l) => lines.push(l),
      limits: { sampleBytes: 4096 },
    });
    assert.deepEqual(script.asked, [
      'Data source name (letters, digits and _):',
      'Connection to read the bucket with:',
      'Bucket URI (s3://bucket/path/*.csv; * stays within a folder, ** crosses folders):',
      'Import schedule:',
      'Cron expression (5 fields), e.g. 0 * * * *:',
      'Only load files modified at or after (YYYY-MM-DDTHH:MM:SSZ; leave empty to load every file):',
      'File to infer the schema from:',
    ]);
    assert.equal(script.remaining(), 0);
    assert.equal(script.validationMessages.length, 2);
    assert.match(script.validationMessages[0]!, /^Invalid data source name "9lives"/);
    assert.match(script.validationMessages[1]!, /^Invalid IMPORT_FROM_TIMESTAMP: found "not-a-time"/);
    assert.deepEqual(requests, ['list landing events/', 'get events/a.ndjson.gz bytes=0-4095']);
    assert.equal(result.path, path.join(dir, 'datasources', 'events.datasource'));
    assert.equal(result.sampleKey, 'events/a.ndjson.gz');
    assert.equal(
      fs.readFileSync(result.path, 'utf8'),
      `DESCRIPTION >
    Files of s3://landing/events/*, read with the connection minio.
    Schema inferred from events/a.ndjson.gz by \`s3c datasource create --s3\`.

SCHEMA >
    \`id\` Int64 \`json:$.id\`,
    \`at\` DateTime \`json:$.at\`,
    \`payload_kind\` String \`json:$.payload.kind\`,
    \`payload_n\` Float64 \`json:$.payload.n\`

ENGINE "MergeTree"
ENGINE_SORTING_KEY "at"

IMPORT_CONNECTION_NAME minio
IMPORT_BUCKET_URI s3://landing/events/*
IMPORT_SCHEDULE */15 * * * *
IMPORT_FROM_TIMESTAMP 2024-05-01T00:00:00Z
`,
    );
    assert.ok(lines.includes('Found 3 matching files (1 more skipped: no supported extension).'), lines.join('\n'));
    assert.ok(lines.includes('3 of them were modified at or after 2024-05-01T00:00:00Z.'));
    assert.ok(
      lines.includes(`Downloading events/a.ndjson.gz (${(big.length / 1000).toFixed(1)} KB, its first 4.1 KB)...`),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /^✓ Inferred 4 columns from \d+ rows of events\/a\.ndjson\.gz\.$/.test(l)),
      lines.join('\n'),
    );
    assert.ok(lines.includes('  2. Check the project: s3c deploy --check'));
    assert.ok(!lines.join('\n').includes('sEcReT-vAlUe-never-printed'));
  });

  it('non-interactive, nothing matches: the template, and why', async () => {
    fs.writeFileSync(path.join(dir, 'minio.connection'), CONNECTION);
    const { cache } = fakeS3({ 'landing/other/a.csv': Buffer.from('a\n1\n') });
    const { prompts, asked } = scripted({});
    const lines: string[] = [];
    const result = await datasourceCreateS3({
      projectDir: dir,
      lookup,
      s3: cache,
      prompts,
      out: (l) => lines.push(l),
      name: 'none',
      connection: 'minio',
      uri: 's3://landing/none/*.csv',
      schedule: '@on-demand',
    });
    assert.deepEqual(asked, []);
    assert.equal(result.inferred, false);
    assert.equal(result.path, path.join(dir, 'none.datasource'));
    assert.ok(lines.includes('Found 0 matching files.'));
    assert.ok(
      lines.includes(
        '✗ No schema was inferred: no file matched s3://landing/none/*.csv. The file gets a SCHEMA template to fill in.',
      ),
    );
    assert.match(result.text, /# TODO: no schema was inferred \(no file matched s3:\/\/landing\/none\/\*\.csv\)\./);
    assert.ok(lines.includes('  1. Write the SCHEMA of none.datasource (replace the placeholder column).'));
  });

  it('a Parquet file over the limit is not downloaded', async () => {
    fs.writeFileSync(path.join(dir, 'minio.connection'), CONNECTION);
    const { cache, requests } = fakeS3({ 'landing/p/a.parquet': Buffer.alloc(2048, 1) });
    const lines: string[] = [];
    const result = await datasourceCreateS3({
      projectDir: dir,
      lookup,
      s3: cache,
      prompts: scripted({}).prompts,
      out: (l) => lines.push(l),
      name: 'pq',
      connection: 'minio',
      uri: 's3://landing/p/*.parquet',
      schedule: '@once',
      limits: { parquetBytes: 1024 },
    });
    assert.equal(result.inferred, false);
    assert.deepEqual(requests, ['list landing p/']);
    assert.ok(
      lines.includes(
        '✗ No schema was inferred: the Parquet file p/a.parquet is 2.0 KB, over the 1.0 KB sampled. The file gets a SCHEMA template to fill in.',
      ),
      lines.join('\n'),
    );
  });
});
