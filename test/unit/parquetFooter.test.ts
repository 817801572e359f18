/**
 * Parquet footers read by us (src/sinks/parquetFooter.ts), and a sink that
 * survives DuckDB invalidating its database. The real files come from the
 * public corpus (test/fixtures/realworld, built by `npm run setup`):
 * parquet-cpp's conformance data and example file, shipped in the npm
 * package node-parquet 0.2.7, and the Kylo sample data in duckdb 1.1.3's.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDataSource } from '../../src/datafiles';
import { DuckDbSink, FileUnreadableError, type IngestFileInput } from '../../src/sinks/duckdb';
import { ParquetFooterError, parquetFooterRows } from '../../src/sinks/parquetFooter';
import { repoRoot } from '../../src/local/tools';

const corpus = join(repoRoot, 'test', 'fixtures', 'realworld', 'files');
const haveCorpus = existsSync(join(corpus, 'nodeparquet_cpp_example.parquet'));
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3c-footer-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function input(ds: string, schema: string, path: string): IngestFileInput {
  return {
    dataSource: parseDataSource(`SCHEMA >\n${schema}\n`, `${ds}.datasource`),
    localPath: path,
    format: 'parquet',
    compression: 'none',
    bucket: 'bkt',
    key: path.split('/').pop()!,
    etag: 'e1',
    size: 1,
    lastModified: '2024-05-01T00:00:00Z',
    jobId: 'job-1',
  };
}

describe('Parquet footers', { skip: haveCorpus ? false : 'the real-world corpus is built by npm run setup' }, () => {
  it('counts the rows real footers declare (Impala, parquet-mr, parquet-cpp writers)', async () => {
    assert.equal(await parquetFooterRows(join(corpus, 'parquetcpp_alltypes_plain.parquet')), 8);
    assert.equal(await parquetFooterRows(join(corpus, 'parquetcpp_fixed_length_decimal_legacy.parquet')), 24);
    assert.equal(await parquetFooterRows(join(corpus, 'duckdb_userdata1.parquet')), 1000);
  });

  it('refuses what is not a whole Parquet file, with the reason', async () => {
    const text = join(dir, 'text.parquet');
    writeFileSync(text, 'id,name\n1,a\n2,b\n');
    await assert.rejects(
      parquetFooterRows(text),
      new ParquetFooterError('not a Parquet file (no Parquet magic bytes)'),
    );
    const whole = readFileSync(join(corpus, 'duckdb_userdata1.parquet'));
    const cut = join(dir, 'cut.parquet');
    // The head and the last 8 bytes of a real file: the footer length points before the start.
    writeFileSync(cut, Buffer.concat([whole.subarray(0, 100), whole.subarray(whole.length - 8)]));
    await assert.rejects(
      parquetFooterRows(cut),
      /the Parquet footer claims \d+ bytes in a file of 108: the file is cut or corrupt/,
    );
    const garbled = join(dir, 'garbled.parquet');
    const g = Buffer.from(whole);
    g.fill(0xff, g.length - 8 - 600, g.length - 8);
    writeFileSync(garbled, g);
    await assert.rejects(parquetFooterRows(garbled), /^ParquetFooterError: the Parquet footer cannot be read/);
  });

  it('a file DuckDB raises an INTERNAL error on fails with the reason, and the next file loads', async () => {
    const sinkDir = join(dir, 'sink1');
    const sink = await DuckDbSink.open(join(sinkDir, 'db.duckdb'), { fileDirectories: [corpus] });
    try {
      await assert.rejects(
        sink.ingestFile(
          input('example', '    `int32_field` Nullable(Int32)', join(corpus, 'nodeparquet_cpp_example.parquet')),
        ),
        (e: unknown) => {
          assert.ok(e instanceof FileUnreadableError, String(e));
          assert.equal(
            e.message,
            'cannot read s3://bkt/nodeparquet_cpp_example.parquet: DuckDB cannot read this file (Information loss on integer cast: value -1 outside of target range [0, 4294967295])',
          );
          return true;
        },
      );
      const r = await sink.ingestFile(
        input(
          'users',
          '    `id` Nullable(Int32),\n    `first_name` Nullable(String)',
          join(corpus, 'duckdb_userdata1.parquet'),
        ),
      );
      assert.deepEqual([r.rows, r.quarantined], [1000, 0]);
    } finally {
      await sink.close();
    }
  });

  it('a database DuckDB invalidates is opened again: committed rows stay, later loads work', async () => {
    const sinkDir = join(dir, 'sink2');
    const sink = await DuckDbSink.open(join(sinkDir, 'db.duckdb'), { fileDirectories: [corpus, dir] });
    try {
      const users = join(dir, 'users.parquet');
      copyFileSync(join(corpus, 'duckdb_userdata1.parquet'), users);
      const schema = '    `id` Nullable(Int32),\n    `first_name` Nullable(String)';
      await sink.ingestFile(input('users', schema, users));
      // DuckDB's metadata function on parquet-cpp's example file invalidates the database it runs in.
      await assert.rejects(
        sink.query(`SELECT * FROM parquet_file_metadata('${join(corpus, 'nodeparquet_cpp_example.parquet')}')`),
        /INTERNAL Error/,
      );
      assert.equal(sink.reopened, 1);
      assert.deepEqual(await sink.query('SELECT count(*) AS n FROM users'), [{ n: 1000 }]);
      const again = await sink.ingestFile({ ...input('users', schema, users), key: 'other.parquet' });
      assert.equal(again.rows, 1000);
      assert.deepEqual(await sink.query('SELECT count(*) AS n FROM users'), [{ n: 2000 }]);
    } finally {
      await sink.close();
    }
  });
});
