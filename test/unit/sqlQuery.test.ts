/**
 * Queries while loading (issue 21, item 4), on the DuckDB sink itself:
 * `runSql` answers exactly one read-only query on a connection of its own,
 * within its row, byte and time limits; every statement that would write,
 * attach, load, set or read a file is refused with its reason and changes
 * nothing; a query sees only committed rows and does not wait for a load.
 * Also the answer's encoding (types as JSON) and its CSV, JSON and table forms.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sqlCsv, sqlJson, sqlTable } from '../../src/client/sqlFormat';
import {
  SqlQueryError,
  SqlRefusedError,
  SqlTimeoutError,
  type SqlRequest,
  type SqlResult,
} from '../../src/contract/sql';
import { parseColumnType } from '../../src/datafiles';
import type { Column, DataSourceDef } from '../../src/datafiles/types';
import { DuckDbSink, type IngestFileInput } from '../../src/sinks/duckdb';
import { explainedQuery, firstKeyword } from '../../src/sinks/duckdb/sqlCheck';
import { isTerminal } from '../../src/util/errors';

const SECRET = 'sEcReT-sql-do-not-leak';

function col(name: string, typeText: string): Column {
  return { name, typeText, type: parseColumnType(typeText), line: 3, jsonPath: `$.${name}` };
}

const ds: DataSourceDef = {
  name: 'ev',
  path: 'p/ev.datasource',
  engine: 'MergeTree',
  schema: [col('id', 'Int32'), col('name', 'String')],
};

describe('runSql on the DuckDB sink', () => {
  let root: string;
  let secretsPath: string;
  let sink: DuckDbSink;
  let seq = 0;

  const request = (sql: string, limits: Partial<SqlRequest> = {}): SqlRequest => ({
    sql,
    rowLimit: 1000,
    timeoutMs: 10_000,
    maxBytes: 1_000_000,
    ...limits,
  });
  /** Loads `body` (CSV) as a new object version into `ev`. */
  const load = async (body: string): Promise<void> => {
    const localPath = join(sink.scratchDir, `${++seq}.csv`);
    await writeFile(localPath, body);
    const input: IngestFileInput = {
      dataSource: ds,
      localPath,
      format: 'csv',
      compression: 'none',
      bucket: 'b',
      key: `k${seq}`,
      etag: `e${seq}`,
      size: 1,
      lastModified: '2024-01-01T00:00:00Z',
      jobId: 'j',
    };
    await sink.ingestFile(input);
  };
  /** Everything of `ev`, to prove a refused statement changed nothing. */
  const snapshot = async (): Promise<unknown> => sink.query('SELECT id, name FROM ev ORDER BY id');

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 's3c-sql-test-'));
    await mkdir(join(root, '.s3c'));
    secretsPath = join(root, '.s3c', 'secrets.json');
    await writeFile(secretsPath, JSON.stringify({ S3_SECRET: SECRET }));
    sink = await DuckDbSink.open(join(root, '.s3c', 'warehouse.duckdb'));
    await sink.ensureTables(ds);
    await load('id,name\n1,one\n2,two\n3,"three, with a comma"\n');
  });
  after(async () => {
    await sink?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('answers a query with its columns, types and rows', async () => {
    const r = await sink.runSql(request('SELECT id, name FROM ev ORDER BY id'));
    assert.deepEqual(r.meta, [
      { name: 'id', type: 'INTEGER' },
      { name: 'name', type: 'VARCHAR' },
    ]);
    assert.deepEqual(r.data, [
      [1, 'one'],
      [2, 'two'],
      [3, 'three, with a comma'],
    ]);
    assert.equal(r.rows, 3);
    assert.equal(r.truncated, undefined);
  });

  it('runs WITH, VALUES, FROM, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN and the catalog views', async () => {
    assert.deepEqual((await sink.runSql(request('WITH x AS (SELECT max(id) AS m FROM ev) SELECT m FROM x'))).data, [
      [3],
    ]);
    assert.deepEqual((await sink.runSql(request('VALUES (1, 2)'))).data, [[1, 2]]);
    assert.equal((await sink.runSql(request('FROM ev'))).rows, 3);
    assert.deepEqual((await sink.runSql(request('DESCRIBE ev'))).data.map((row) => row[0]).slice(0, 2), ['id', 'name']);
    assert.ok((await sink.runSql(request('SHOW TABLES'))).data.some((row) => row[0] === 'ev'));
    assert.equal((await sink.runSql(request('SUMMARIZE ev'))).meta[0]?.name, 'column_name');
    assert.equal((await sink.runSql(request('EXPLAIN SELECT * FROM ev'))).meta[0]?.name, 'explain_key');
    assert.equal((await sink.runSql(request('EXPLAIN ANALYZE SELECT count(*) FROM ev'))).rows, 1);
    assert.ok(
      (await sink.runSql(request("SELECT table_name FROM information_schema.tables WHERE table_name = 'ev'"))).rows ===
        1,
    );
    assert.ok(
      (await sink.runSql(request("SELECT table_name FROM duckdb_tables() WHERE table_name = 'ev'"))).rows === 1,
    );
    assert.deepEqual((await sink.runSql(request('SELECT sum(range)::INTEGER FROM range(4)'))).data, [[6]]);
  });

  it('refuses every statement that is not one read-only query, with its reason, and changes nothing', async () => {
    const before = await snapshot();
    const refused: [string, RegExp][] = [
      [
        "INSERT INTO ev (id, name) VALUES (9, 'x')",
        /refused: INSERT is not a read-only query; only one read-only query/,
      ],
      ['DELETE FROM ev', /refused: DELETE is not a read-only query/],
      ['UPDATE ev SET name = 1', /refused: UPDATE is not a read-only query/],
      ['DROP TABLE ev', /refused: DROP is not a read-only query/],
      ['CREATE TABLE y AS SELECT * FROM ev', /refused: CREATE is not a read-only query/],
      ['ALTER TABLE ev ADD COLUMN z INT', /refused: ALTER is not a read-only query/],
      ["ATTACH '/tmp/other.duckdb' AS other", /refused: ATTACH is not a read-only query/],
      ["COPY ev TO '/tmp/ev.csv'", /refused: COPY is not a read-only query/],
      ["EXPORT DATABASE '/tmp/exported'", /refused: EXPORT is not a read-only query/],
      ['SET threads = 1', /refused: SET is not a read-only query/],
      ['SET enable_external_access = true', /refused: SET is not a read-only query/],
      ['RESET memory_limit', /refused: RESET is not a read-only query/],
      ["PRAGMA table_info('ev')", /refused: PRAGMA is not a read-only query/],
      ['CALL checkpoint()', /refused: CALL is not a read-only query/],
      ['CHECKPOINT', /refused: CHECKPOINT is not a read-only query/],
      ['LOAD httpfs', /refused: LOAD is not a read-only query/],
      ['INSTALL httpfs', /refused: INSTALL is not a read-only query/],
      ['USE memory', /refused: USE is not/],
      ['BEGIN TRANSACTION', /refused: BEGIN is not a read-only query/],
      ['VACUUM', /refused: VACUUM is not a read-only query/],
      ['SELECT 1; DROP TABLE ev', /refused: 2 statements; send exactly one read-only query/],
      ['SELECT 1; SELECT 2', /refused: 2 statements/],
      ['EXPLAIN ANALYZE DELETE FROM ev', /refused: EXPLAIN of a statement that is not a read-only query/],
      ['EXPLAIN DROP TABLE ev', /refused: EXPLAIN of a statement that is not a read-only query/],
      ['  -- nothing\n', /refused: no statement/],
      ['SELECT * FROM checkpoint()', /refused: the table function checkpoint\(\) is not allowed/],
      ["SELECT * FROM query('DELETE FROM ev')", /refused: the table function query\(\) is not allowed/],
      ["SELECT current_setting('allowed_directories')", /refused: the function current_setting\(\) is not allowed/],
    ];
    for (const [sql, reason] of refused) {
      await assert.rejects(
        sink.runSql(request(sql)),
        (e: Error) => e instanceof SqlRefusedError && reason.test(e.message),
        sql,
      );
    }
    assert.deepEqual(await snapshot(), before);
  });

  it('runs the query in a read-only transaction: a SELECT that would write (nextval) is refused', async () => {
    await sink.query('CREATE SEQUENCE IF NOT EXISTS counter');
    await assert.rejects(
      sink.runSql(request("SELECT nextval('counter')")),
      (e: Error) => e instanceof SqlRefusedError && /refused: the query would write/.test(e.message),
    );
    // The sequence did not move: its first value is still to come.
    assert.deepEqual(await sink.query("SELECT nextval('counter')::INTEGER AS n"), [{ n: 1 }]);
  });

  it('refuses every way of reading a file: outside the folders, the secrets, even the scratch folder it loads from', async () => {
    const inScratch = join(sink.scratchDir, 'pending.csv');
    await writeFile(inScratch, 'id,name\n7,pending\n');
    const attempts: [string, RegExp][] = [
      ["SELECT * FROM read_text('/etc/passwd')", /table function read_text\(\) is not allowed/],
      [`SELECT * FROM read_text('${secretsPath}')`, /table function read_text\(\) is not allowed/],
      [`SELECT * FROM read_json('${secretsPath}')`, /table function read_json\(\) is not allowed/],
      [`SELECT * FROM read_csv('${inScratch}')`, /table function read_csv\(\) is not allowed/],
      [`SELECT * FROM read_blob('${secretsPath}')`, /table function read_blob\(\) is not allowed/],
      [`SELECT * FROM glob('/etc/*')`, /table function glob\(\) is not allowed/],
      [`SELECT * FROM '${inScratch}'`, /is not a table name \(DuckDB would read it as a file\)/],
      [`SELECT * FROM '${secretsPath}'`, /is not a table name/],
      [`DESCRIBE '${secretsPath}'`, /is not a table name/],
      [`SUMMARIZE SELECT * FROM read_text('${secretsPath}')`, /table function read_text\(\) is not allowed/],
      [`EXPLAIN SELECT * FROM read_text('${secretsPath}')`, /table function read_text\(\) is not allowed/],
      [`SELECT (SELECT content FROM read_text('${secretsPath}')) AS x`, /table function read_text\(\) is not allowed/],
      [
        `WITH s AS (SELECT * FROM READ_TEXT('${secretsPath}')) SELECT * FROM s`,
        /table function read_text\(\) is not allowed/,
      ],
      [`SELECT * FROM parquet_metadata('${inScratch}')`, /table function parquet_metadata\(\) is not allowed/],
    ];
    for (const [sql, reason] of attempts) {
      await assert.rejects(
        sink.runSql(request(sql)),
        (e: Error) => {
          assert.ok(
            !e.message.includes(SECRET) && !e.message.includes('root:'),
            `${sql}: the refusal must not hold the file`,
          );
          return e instanceof SqlRefusedError && reason.test(e.message);
        },
        sql,
      );
    }
  });

  it("passes DuckDB's error on a bad query as SqlQueryError", async () => {
    await assert.rejects(
      sink.runSql(request('SELECT * FROM nope')),
      (e: Error) => e instanceof SqlQueryError && /Table with name nope does not exist/.test(e.message),
    );
    await assert.rejects(
      sink.runSql(request('SELECT FROM WHERE')),
      (e: Error) => e instanceof SqlQueryError && /^Parser Error: syntax error/.test(e.message),
    );
  });

  it('cuts the answer at the row limit and at the byte limit, and says so', async () => {
    const byRows = await sink.runSql(request('SELECT id FROM ev ORDER BY id', { rowLimit: 2 }));
    assert.deepEqual([byRows.data, byRows.rows, byRows.truncated], [[[1], [2]], 2, 'rows']);
    const exact = await sink.runSql(request('SELECT id FROM ev ORDER BY id', { rowLimit: 3 }));
    assert.equal(exact.truncated, undefined);
    // Each row `["…"]` of 100 characters is 104 bytes: two fit in 250, the third does not.
    const byBytes = await sink.runSql(request("SELECT repeat('x', 100) FROM range(5)", { maxBytes: 250 }));
    assert.deepEqual([byBytes.rows, byBytes.truncated], [2, 'bytes']);
  });

  it('stops a query at its time limit, and the sink goes on', async () => {
    const started = Date.now();
    await assert.rejects(
      sink.runSql(request('SELECT count(*) FROM range(100000000000)', { timeoutMs: 500 })),
      (e: Error) => e instanceof SqlTimeoutError && /ran longer than 0.5 s and was stopped/.test(e.message),
    );
    assert.ok(Date.now() - started < 10_000, 'interrupted, not run to the end');
    assert.equal(await sink.rowCount('ev'), 3);
    assert.equal((await sink.runSql(request('SELECT count(*) AS n FROM ev'))).data[0]?.[0], '3');
  });

  it('sees only committed rows while a load runs, and does not wait for it', async () => {
    const rows = 2_000_000;
    const lines = ['id,name'];
    for (let i = 0; i < rows; i++) lines.push(`${1000 + i},bulk`);
    const localPath = join(sink.scratchDir, 'bulk.csv');
    await writeFile(localPath, `${lines.join('\n')}\n`);
    const counted = await sink.rowCount('ev');
    let loaded = false;
    const loading = sink
      .ingestFile({
        dataSource: ds,
        localPath,
        format: 'csv',
        compression: 'none',
        bucket: 'b',
        key: 'bulk',
        etag: 'e',
        size: 1,
        lastModified: '2024-01-01T00:00:00Z',
        jobId: 'j',
      })
      .then(() => (loaded = true));
    // Until the load commits, every query sees the rows before it: never part of the file.
    const seen: number[] = [];
    while (!loaded) {
      seen.push(Number((await sink.runSql(request('SELECT count(*) FROM ev'))).data[0]?.[0]));
      await new Promise((r) => setTimeout(r, 20));
    }
    await loading;
    assert.ok(seen.length > 0);
    assert.ok(
      seen.every((n) => n === counted || n === counted + rows),
      `counts seen during the load: ${[...new Set(seen)].join(', ')}`,
    );
    assert.ok(seen.filter((n) => n === counted).length > 1, 'queries answered while the load ran');
    assert.equal(Number((await sink.runSql(request('SELECT count(*) FROM ev'))).data[0]?.[0]), counted + rows);
  });
});

describe('the answer as JSON values', () => {
  let sink: DuckDbSink;
  before(async () => {
    sink = await DuckDbSink.open(':memory:');
  });
  after(async () => sink?.close());

  it('BIGINT, HUGEINT, DECIMAL as strings; dates and timestamps ISO 8601; lists, structs, maps as JSON', async () => {
    const r = await sink.runSql({
      sql: `SELECT 42::INTEGER AS i, 9007199254740993::BIGINT AS b, 170141183460469231731687303715884105727::HUGEINT AS h,
        1.50::DECIMAL(10,2) AS d, 2.5::DOUBLE AS f, 'NaN'::DOUBLE AS nan, true AS t, NULL::VARCHAR AS n, 'é"x' AS s,
        DATE '2024-02-29' AS dt, TIMESTAMP '2024-01-02 03:04:05.25' AS ts, TIMESTAMPTZ '2024-01-02 03:04:05+02' AS tz,
        'infinity'::TIMESTAMP AS inf, [1, NULL, 3] AS l, {'k': 'v', 'n': 1} AS st, MAP {'a': 1} AS m, 1 AS dup, 2 AS dup`,
      rowLimit: 1,
      timeoutMs: 10_000,
      maxBytes: 1_000_000,
    });
    assert.deepEqual(r.meta.map((c) => c.name).slice(-2), ['dup', 'dup:1']);
    assert.deepEqual(r.meta.find((c) => c.name === 'tz')?.type, 'TIMESTAMP WITH TIME ZONE');
    assert.deepEqual(r.data[0], [
      42,
      '9007199254740993',
      '170141183460469231731687303715884105727',
      '1.50',
      2.5,
      'NaN',
      true,
      null,
      'é"x',
      '2024-02-29',
      '2024-01-02T03:04:05.25',
      '2024-01-02T01:04:05Z',
      'infinity',
      [1, null, 3],
      { k: 'v', n: 1 },
      [{ key: 'a', value: 1 }],
      1,
      2,
    ]);
  });

  it("close() stops a running query with a retryable error (not the query's timeout)", async () => {
    const closing = await DuckDbSink.open(':memory:');
    const running = closing
      .runSql({ sql: 'SELECT count(*) FROM range(100000000000)', rowLimit: 1, timeoutMs: 60_000, maxBytes: 1000 })
      .then(
        () => assert.fail('answered'),
        (e: unknown) => e,
      );
    await new Promise((r) => setTimeout(r, 300));
    await closing.close();
    const err = (await running) as Error;
    assert.match(err.message, /was closed while the query ran/);
    assert.equal(isTerminal(err), false);
  });

  it('refuses a query on a closed sink', async () => {
    const closed = await DuckDbSink.open(':memory:');
    await closed.close();
    await assert.rejects(closed.runSql({ sql: 'SELECT 1', rowLimit: 1, timeoutMs: 1000, maxBytes: 1000 }), /closed/);
  });
});

describe('statement text helpers (messages only)', () => {
  it('the first keyword, past comments', () => {
    assert.equal(firstKeyword('  -- c\n/* d */ insert into t values (1)'), 'INSERT');
    assert.equal(firstKeyword('(SELECT 1)'), 'unknown'.toUpperCase());
  });
  it('the query an EXPLAIN explains', () => {
    assert.equal(explainedQuery('EXPLAIN SELECT 1'), 'SELECT 1');
    assert.equal(explainedQuery('/* x */ explain analyze SELECT 1'), 'SELECT 1');
    assert.equal(explainedQuery('SELECT 1'), undefined);
  });
});

describe('the answer as CSV, JSON and a table', () => {
  const result: SqlResult = {
    meta: [
      { name: 'id', type: 'BIGINT' },
      { name: 'text', type: 'VARCHAR' },
      { name: 'l', type: 'INTEGER[]' },
    ],
    data: [
      ['1', 'plain', [1, 2]],
      ['2', 'a, "quoted"\nline', null],
      ['3', '', { a: 1 }],
      [null, null, []],
    ],
    rows: 4,
    truncated: 'rows',
    elapsedMs: 7,
  };

  it('CSV: RFC 4180 quoting, NULL empty, the empty string quoted, lists as JSON', () => {
    assert.equal(
      sqlCsv(result),
      'id,text,l\r\n1,plain,"[1,2]"\r\n2,"a, ""quoted""\nline",\r\n3,"","{""a"":1}"\r\n,,[]\r\n',
    );
  });

  it('JSON: rows as objects, the limit, and why it was cut', () => {
    assert.deepEqual(sqlJson(result, 4), {
      meta: result.meta,
      data: [
        { id: '1', text: 'plain', l: [1, 2] },
        { id: '2', text: 'a, "quoted"\nline', l: null },
        { id: '3', text: '', l: { a: 1 } },
        { id: null, text: null, l: [] },
      ],
      rows: 4,
      limit: 4,
      truncated: true,
      truncated_by: 'rows',
      statistics: { elapsed_ms: 7 },
    });
    assert.equal(sqlJson({ ...result, truncated: undefined }, 10).truncated, false);
  });

  it('a table: aligned, NULL shown, line breaks escaped, the count and the cut', () => {
    assert.equal(
      sqlTable(result, 4),
      [
        'id   | text              | l',
        '-----+-------------------+--------',
        '1    | plain             | [1,2]',
        '2    | a, "quoted"\\nline | NULL',
        '3    |                   | {"a":1}',
        'NULL | NULL              | []',
        '(4 rows) truncated: the first 4 rows (limit 4); raise the limit or narrow the query',
        '',
      ].join('\n'),
    );
  });
});
