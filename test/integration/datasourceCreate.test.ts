/**
 * `s3c datasource create --s3` (R11) end to end on real parts: MinIO, the s3c
 * CLI run non-interactively with every flag, DuckDB inference of a CSV, an
 * NDJSON with nested objects and a Parquet written by DuckDB; the generated
 * files are compared whole, checked with `s3c deploy --check`, then deployed
 * and loaded by the worker without a quarantined row.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { minioConnection, startTestStack, type TestStack } from '../helpers/stack';
import { parseDataSource } from '../../src/datafiles';

const CSV = [
  'timestamp,session id,action,amount,items',
  '2024-01-01 10:00:00,s1,view,1.5,3',
  '2024-01-01 10:00:05.250,s1,buy,20,',
  '2024-01-02 08:30:00,,view,0,1',
  '',
].join('\n');

const NDJSON = [
  '{"id":1,"at":"2024-01-01T10:00:00Z","user":{"id":"u1","geo":{"country":"ES","lat":40.4}},"tags":["a","b"],"props":{"first visit":true},"note":null}',
  '{"id":2,"at":"2024-01-01T10:05:00.5Z","user":{"id":"u2","geo":{"country":"FR","lat":48.8}},"tags":[],"props":{"first visit":false},"note":"hi"}',
  '',
].join('\n');

async function parquetBytes(): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 's3c-pq-'));
  const file = join(dir, 'part.parquet');
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    await conn.run(
      `COPY (SELECT * FROM (VALUES
         (1::INTEGER, 'pen', 1.25::DECIMAL(10,2), TIMESTAMP '2024-03-01 09:00:00', DATE '2024-03-01', {'color': 'red', 'size': 3}, [1.5, 2.5]::DOUBLE[], true),
         (2::INTEGER, NULL, 10.00::DECIMAL(10,2), TIMESTAMP '2024-03-02 09:30:00', DATE '2024-03-02', {'color': 'blue', 'size': 4}, []::DOUBLE[], false)
       ) AS t(id, name, price, created, "day", attrs, scores, ok)) TO '${file}' (FORMAT parquet)`,
    );
    return readFileSync(file);
  } finally {
    conn.closeSync();
    duck.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

const CREATE = (name: string, uri: string, schedule = '@once') => [
  'datasource',
  'create',
  '--s3',
  '--name',
  name,
  '--connection',
  'minio',
  '--uri',
  uri,
  '--schedule',
  schedule,
];

describe('s3c datasource create --s3 on a real MinIO', () => {
  let t: TestStack;

  before(async () => {
    t = await startTestStack();
    await t.createBucket('landing');
    await t.put('landing', 'csv/2024-01.csv', CSV);
    await t.put('landing', 'csv/readme.txt', 'not data');
    await t.put('landing', 'json/2024/events-1.ndjson', NDJSON);
    await t.put('landing', 'pq/part-0.parquet', await parquetBytes());
  });

  after(async () => {
    await t?.stop();
  });

  it('without --s3, and without a terminal for missing flags: clear refusals', async () => {
    const bare = await t.cli(['datasource', 'create']);
    assert.equal(bare.code, 1);
    assert.equal(
      bare.stderr,
      'Error: datasource create needs the kind of data source: pass --s3 (the only kind for now)\n',
    );
    const partial = await t.cli(['datasource', 'create', '--s3', '--name', 'x']);
    assert.equal(partial.code, 1);
    assert.equal(
      partial.stderr,
      'Error: datasource create asks for --connection, --uri, --schedule: run it in a terminal, or pass them\n',
    );
  });

  it('without a connection: refused, pointing to `s3c connection create s3`', async () => {
    const out = await t.cli(CREATE('events', 's3://landing/csv/*'));
    assert.equal(out.code, 1);
    assert.equal(
      out.stderr,
      'Error: No S3 connection in this project: create one with `s3c connection create s3`, then run `s3c datasource create --s3` again\n',
    );
    assert.equal(out.stdout, '');
    assert.equal(existsSync(join(t.projectDir, 'events.datasource')), false);
    t.write('minio.connection', minioConnection());
  });

  it('CSV: header names kept, types and nulls inferred, no JSONPaths', async () => {
    const out = await t.cli(CREATE('csv_events', 's3://landing/csv/*'));
    assert.equal(out.code, 0, out.stderr);
    const text = readFileSync(join(t.projectDir, 'csv_events.datasource'), 'utf8');
    assert.equal(
      text,
      `DESCRIPTION >
    Files of s3://landing/csv/*, read with the connection minio.
    Schema inferred from csv/2024-01.csv by \`s3c datasource create --s3\`.

SCHEMA >
    \`timestamp\` DateTime64(3),
    \`session id\` String,
    \`action\` String,
    \`amount\` Float64,
    \`items\` Nullable(Int64)

ENGINE "MergeTree"
ENGINE_SORTING_KEY "timestamp"

IMPORT_CONNECTION_NAME minio
IMPORT_BUCKET_URI s3://landing/csv/*
IMPORT_SCHEDULE @once
`,
    );
    assert.ok(parseDataSource(text, join(t.projectDir, 'csv_events.datasource')));
    const lines = out.stdout.split('\n');
    assert.ok(lines.includes('Creating an S3 data source.'), out.stdout);
    assert.ok(
      lines.includes(
        'The data source will load every object whose key matches "csv/*" in bucket "landing", listed from "csv/".',
      ),
      out.stdout,
    );
    assert.ok(lines.includes('Listing s3://landing/csv/ with the connection minio...'), out.stdout);
    assert.ok(lines.includes('Found 1 matching file (1 more skipped: no supported extension).'), out.stdout);
    assert.ok(lines.includes(`Downloading csv/2024-01.csv (${CSV.length} B)...`), out.stdout);
    assert.ok(lines.includes('✓ Inferred 5 columns from 3 rows of csv/2024-01.csv.'), out.stdout);
    assert.ok(lines.includes('  2. Check the project: s3c deploy --check'), out.stdout);
    assert.doesNotMatch(out.stdout + out.stderr, new RegExp(t.minio.secretKey));
  });

  it('NDJSON: nested objects flattened into $.a.b columns, keys with spaces quoted, mixed timestamps detected', async () => {
    const out = await t.cli(CREATE('json_events', 's3://landing/json/**/*.ndjson'));
    assert.equal(out.code, 0, out.stderr);
    const text = readFileSync(join(t.projectDir, 'json_events.datasource'), 'utf8');
    assert.equal(
      text,
      `DESCRIPTION >
    Files of s3://landing/json/**/*.ndjson, read with the connection minio.
    Schema inferred from json/2024/events-1.ndjson by \`s3c datasource create --s3\`.

SCHEMA >
    \`id\` Int64 \`json:$.id\`,
    \`at\` DateTime64(3) \`json:$.at\`,
    \`user_id\` String \`json:$.user.id\`,
    \`user_geo_country\` String \`json:$.user.geo.country\`,
    \`user_geo_lat\` Float64 \`json:$.user.geo.lat\`,
    \`tags\` Array(String) \`json:$.tags\`,
    \`props_first visit\` Bool \`json:$.props['first visit']\`,
    \`note\` Nullable(String) \`json:$.note\`

ENGINE "MergeTree"
ENGINE_SORTING_KEY "at"

IMPORT_CONNECTION_NAME minio
IMPORT_BUCKET_URI s3://landing/json/**/*.ndjson
IMPORT_SCHEDULE @once
`,
    );
    assert.ok(parseDataSource(text, join(t.projectDir, 'json_events.datasource')));
    assert.match(out.stdout, /^Found 1 matching file\.$/m);
  });

  it('Parquet written by DuckDB: exact types, struct flattened, decimal, list', async () => {
    const out = await t.cli(CREATE('pq_items', 's3://landing/pq/*.parquet'));
    assert.equal(out.code, 0, out.stderr);
    const text = readFileSync(join(t.projectDir, 'pq_items.datasource'), 'utf8');
    assert.equal(
      text,
      `DESCRIPTION >
    Files of s3://landing/pq/*.parquet, read with the connection minio.
    Schema inferred from pq/part-0.parquet by \`s3c datasource create --s3\`.

SCHEMA >
    \`id\` Int32 \`json:$.id\`,
    \`name\` Nullable(String) \`json:$.name\`,
    \`price\` Decimal(10, 2) \`json:$.price\`,
    \`created\` DateTime \`json:$.created\`,
    \`day\` Date \`json:$.day\`,
    \`attrs_color\` String \`json:$.attrs.color\`,
    \`attrs_size\` Int32 \`json:$.attrs.size\`,
    \`scores\` Array(Float64) \`json:$.scores\`,
    \`ok\` Bool \`json:$.ok\`

ENGINE "MergeTree"
ENGINE_SORTING_KEY "created"

IMPORT_CONNECTION_NAME minio
IMPORT_BUCKET_URI s3://landing/pq/*.parquet
IMPORT_SCHEDULE @once
`,
    );
    assert.ok(parseDataSource(text, join(t.projectDir, 'pq_items.datasource')));
  });

  it('no matching file: a SCHEMA template, and the reason, on stdout and in the file', async () => {
    const out = await t.cli(CREATE('nothing', 's3://landing/nothing/*.csv', '@on-demand'));
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.split('\n');
    assert.ok(lines.includes('Found 0 matching files.'), out.stdout);
    assert.ok(
      lines.includes(
        '✗ No schema was inferred: no file matched s3://landing/nothing/*.csv. The file gets a SCHEMA template to fill in.',
      ),
      out.stdout,
    );
    assert.ok(
      lines.includes('  1. Write the SCHEMA of nothing.datasource (replace the placeholder column).'),
      out.stdout,
    );
    const text = readFileSync(join(t.projectDir, 'nothing.datasource'), 'utf8');
    assert.match(text, /^ {4}# TODO: no schema was inferred \(no file matched s3:\/\/landing\/nothing\/\*\.csv\)\.$/m);
    assert.match(text, /^ {4}`data` String `json:\$`$/m);
    assert.match(text, /^IMPORT_SCHEDULE @on-demand$/m);
    assert.ok(parseDataSource(text, join(t.projectDir, 'nothing.datasource')));
  });

  it('a taken name is refused and nothing is overwritten', async () => {
    const before = readFileSync(join(t.projectDir, 'csv_events.datasource'), 'utf8');
    const out = await t.cli(CREATE('csv_events', 's3://landing/csv/*'));
    assert.equal(out.code, 1);
    assert.equal(
      out.stderr,
      'Error: A data source named "csv_events" already exists (csv_events.datasource); choose another name or edit that file\n',
    );
    assert.equal(readFileSync(join(t.projectDir, 'csv_events.datasource'), 'utf8'), before);
  });

  it('s3c deploy --check accepts every generated file', async () => {
    const out = await t.cli(['deploy', '--check']);
    assert.equal(out.code, 0, out.stderr);
    for (const name of ['csv_events', 'json_events', 'pq_items', 'nothing'])
      assert.match(out.stdout, new RegExp(`\\+ datasource ${name}: create`));
    assert.match(out.stdout, /Check passed/);
  });

  it('deployed, the generated schemas load their files without a quarantined row', async () => {
    rmSync(join(t.projectDir, 'nothing.datasource'));
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr);
    for (const [name, rows] of [
      ['csv_events', 3],
      ['json_events', 2],
      ['pq_items', 2],
    ] as const) {
      const state = await t.waitForState(name, (s) => s.initialSyncDone && s.status === 'resting', 120_000);
      assert.deepEqual(
        {
          files: state.counters.filesLoaded,
          failed: state.counters.filesFailed,
          rows: state.counters.rows,
          quarantined: state.counters.quarantined,
        },
        { files: 1, failed: 0, rows, quarantined: 0 },
        name,
      );
    }
    const sink = t.stack.worker!.sink;
    assert.deepEqual(
      await sink.query(
        `SELECT strftime("timestamp", '%Y-%m-%d %H:%M:%S.%g') AS ts, "session id" AS s, items FROM csv_events ORDER BY "timestamp"`,
      ),
      [
        { ts: '2024-01-01 10:00:00.000', s: 's1', items: 3 },
        { ts: '2024-01-01 10:00:05.250', s: 's1', items: null },
        { ts: '2024-01-02 08:30:00.000', s: '', items: 1 },
      ],
    );
    assert.deepEqual(
      await sink.query(
        `SELECT id, strftime("at", '%H:%M:%S.%g') AS at, user_geo_country AS c, "props_first visit" AS fv, note FROM json_events ORDER BY id`,
      ),
      [
        { id: 1, at: '10:00:00.000', c: 'ES', fv: true, note: null },
        { id: 2, at: '10:05:00.500', c: 'FR', fv: false, note: 'hi' },
      ],
    );
    assert.deepEqual(
      await sink.query(
        `SELECT id, name, CAST(price AS VARCHAR) AS price, attrs_color AS color, attrs_size AS size FROM pq_items ORDER BY id`,
      ),
      [
        { id: 1, name: 'pen', price: '1.25', color: 'red', size: 3 },
        { id: 2, name: null, price: '10.00', color: 'blue', size: 4 },
      ],
    );
  });
});
