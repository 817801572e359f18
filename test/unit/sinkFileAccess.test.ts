/**
 * The sink's DuckDB cannot touch the file system outside its folders (issue
 * #18, item 1): every way of loading still works from the sink's folders,
 * while read_text of another path, COPY ... TO, ATTACH, and undoing the
 * setting all fail; a DEFAULT that reached the sink without the parser (a
 * definition deployed earlier) is refused and never run.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseColumnType } from '../../src/datafiles';
import type { Column, DataSourceDef, FileFormat } from '../../src/datafiles/types';
import { DuckDbSink, type IngestFileInput } from '../../src/sinks/duckdb';

const SECRET = 'sEcReT-5f1e9a-do-not-leak';

function col(name: string, typeText: string, extra: Partial<Column> = {}): Column {
  return { name, typeText, type: parseColumnType(typeText), line: 3, ...extra };
}

describe('the sink reads and writes files only in its own folders', () => {
  let root: string;
  /** The project folder: .s3c/ holds the secrets and the database, as `s3c local start` lays it out. */
  let project: string;
  /** Files to load: the folder given to the sink. */
  let data: string;
  let sink: DuckDbSink;
  let seq = 0;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 's3c-access-test-'));
    project = join(root, 'project');
    data = join(root, 'data');
    await mkdir(join(project, '.s3c'), { recursive: true });
    await mkdir(data);
    await writeFile(join(project, '.s3c', 'secrets.json'), JSON.stringify({ S3_SECRET: SECRET }));
    sink = await DuckDbSink.open(join(project, '.s3c', 'warehouse.duckdb'), { fileDirectories: [data] });
  });
  after(async () => {
    await sink?.close();
    await rm(root, { recursive: true, force: true });
  });

  const ds: DataSourceDef = {
    name: 'ev',
    path: 'p/ev.datasource',
    engine: 'MergeTree',
    schema: [col('id', 'Int32', { jsonPath: '$.id' }), col('name', 'String', { jsonPath: '$.name' })],
  };
  const input = (localPath: string, format: FileFormat, compression: 'gzip' | 'none' = 'none'): IngestFileInput => ({
    dataSource: ds,
    localPath,
    format,
    compression,
    bucket: 'b',
    key: `k${++seq}`,
    etag: `e${seq}`,
    size: 1,
    lastModified: '2024-01-01T00:00:00Z',
    jobId: 'j',
  });
  const file = async (name: string, body: string | Buffer): Promise<string> => {
    const p = join(data, `${++seq}-${name}`);
    await writeFile(p, body);
    return p;
  };

  it('loads CSV, CSV with a bad row (tolerant path), csv.gz (named pipe), NDJSON, ndjson.gz, Parquet.gz, and a batch', async () => {
    const pq = join(root, 'x.parquet');
    const scratch = await DuckDBInstance.create(':memory:');
    const c = await scratch.connect();
    await c.run(`COPY (SELECT 9 AS id, 'i' AS name) TO '${pq}' (FORMAT parquet)`);
    c.closeSync();
    scratch.closeSync();

    const results = [
      await sink.ingestFile(input(await file('a.csv', 'id,name\n1,a\n'), 'csv')),
      await sink.ingestFile(input(await file('b.csv', 'id,name\n2,b\nx,bad\n3,"c\n'), 'csv')),
      await sink.ingestFile(input(await file('c.csv.gz', gzipSync('id,name\n4,d\n')), 'csv', 'gzip')),
      await sink.ingestFile(input(await file('d.ndjson', '{"id":5,"name":"e"}\n'), 'ndjson')),
      await sink.ingestFile(
        input(await file('e.ndjson.gz', gzipSync('{"id":6,"name":"f"}\nnot json\n')), 'ndjson', 'gzip'),
      ),
      await sink.ingestFile(input(await file('f.parquet.gz', gzipSync(await readFile(pq))), 'parquet', 'gzip')),
    ];
    assert.deepEqual(
      results.map((r) => [r.rows, r.quarantined]),
      [
        [1, 0],
        [1, 2],
        [1, 0],
        [1, 0],
        [1, 1],
        [1, 0],
      ],
    );
    const batch = await sink.ingestFiles([
      input(await file('g.csv', 'id,name\n7,g\n'), 'csv'),
      input(await file('h.csv', 'id,name\n8,h\n'), 'csv'),
    ]);
    assert.deepEqual(
      batch.map((o) => (o.ok ? o.result.rows : o.error.message)),
      [1, 1],
    );
    assert.deepEqual(
      (await sink.query('SELECT id FROM ev ORDER BY id')).map((r) => r.id),
      [1, 2, 4, 5, 6, 7, 8, 9],
    );
    assert.equal(await sink.rowCount('ev_quarantine'), 3);
  });

  it("files of the sink's own scratch folder load too", async () => {
    const dir = await mkdtemp(join(sink.scratchDir, 's3c-ingest-'));
    const p = join(dir, 'object');
    await writeFile(p, gzipSync('id,name\n10,j\n'));
    const r = await sink.ingestFile(input(p, 'csv', 'gzip'));
    assert.deepEqual([r.rows, r.quarantined], [1, 0]);
  });

  it('SQL cannot read, write or attach another path, nor undo the restriction', async () => {
    const secrets = join(project, '.s3c', 'secrets.json');
    const denied = async (sql: string, path: string): Promise<void> => {
      await assert.rejects(sink.query(sql), (e: Error) => {
        assert.match(
          e.message,
          new RegExp(
            `^Permission Error: Cannot access file "${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" - file system operations are disabled by configuration`,
          ),
        );
        assert.ok(!e.message.includes(SECRET));
        return true;
      });
    };
    await denied(`SELECT content FROM read_text('${secrets}')`, secrets);
    await denied(`SELECT * FROM read_csv('${secrets}')`, secrets);
    await denied(
      `SELECT * FROM read_text('${data}/../project/.s3c/secrets.json')`,
      `${data}/../project/.s3c/secrets.json`,
    );
    await denied(`COPY (SELECT 'pwned' AS p) TO '${join(root, 'pwned.csv')}' (HEADER)`, join(root, 'pwned.csv'));
    await denied(`ATTACH '${join(root, 'other.duckdb')}' AS other`, join(root, 'other.duckdb'));
    assert.equal(existsSync(join(root, 'pwned.csv')), false);
    assert.equal(existsSync(join(root, 'other.duckdb')), false);
    await assert.rejects(
      sink.query('SET enable_external_access = true'),
      /Cannot enable external access while database is running/,
    );
    await assert.rejects(
      sink.query("SET allowed_directories = ['/']"),
      /Cannot change allowed_directories when enable_external_access is disabled/,
    );
    await assert.rejects(
      sink.query(`SET allowed_paths = ['${secrets}']`),
      /Cannot change allowed_paths when enable_external_access is disabled/,
    );
    await assert.rejects(
      sink.query(`SET temp_directory = '${root}'`),
      /Modifying the temp_directory has been disabled by configuration/,
    );
    await assert.rejects(sink.query("LOAD '/tmp/x.duckdb_extension'"), /Loading external extensions is disabled/);
    // The database file itself is still written: a checkpoint works.
    await sink.query('CHECKPOINT');
  });

  it('a DEFAULT outside the grammar that reached the sink without the parser is refused, not run', async () => {
    const target = join(root, 'pwned-by-default.csv');
    const injected: DataSourceDef = {
      name: 'inj',
      path: 'p/inj.datasource',
      engine: 'MergeTree',
      schema: [
        col('b', 'String', {
          defaultExpr: `'x') AS VARCHAR); COPY (SELECT 'pwned' AS p) TO '${target}' (HEADER); SELECT CAST(('y'`,
        }),
      ],
    };
    await assert.rejects(sink.ensureTables(injected), (e: Error) => {
      assert.match(
        e.message,
        /^p\/inj\.datasource:3: DEFAULT 'x'\) AS VARCHAR\); COPY .* of column 'b' cannot be used with DuckDB: Invalid character in DEFAULT: found ";" at character 17 of /,
      );
      return true;
    });
    assert.equal(existsSync(target), false);
    assert.deepEqual(await sink.query("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'inj%'"), []);

    const reader: DataSourceDef = {
      name: 'leak',
      path: 'p/leak.datasource',
      engine: 'MergeTree',
      schema: [
        col('s', 'Int32', {
          defaultExpr: `(SELECT CAST(content AS INTEGER) FROM read_text('${join(project, '.s3c', 'secrets.json')}'))`,
        }),
      ],
    };
    await assert.rejects(sink.ensureTables(reader), (e: Error) => {
      assert.match(
        e.message,
        /^p\/leak\.datasource:3: DEFAULT .* of column 's' cannot be used with DuckDB: Unknown function in DEFAULT: found "SELECT" at character 2 of /,
      );
      assert.ok(!e.message.includes(SECRET), e.message);
      return true;
    });
  });
});
