/**
 * Conformance cases of failures and exactly once: a file that cannot be read
 * (gzip cut short, not gzip, not Parquet, unsupported codec, missing) commits
 * nothing; a version loads once, whatever calls it again, also after the
 * destination is opened again. Each runs on a fresh destination of the
 * current target.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { IngestFileInput } from '../../../src/sinks/destination';
import { FileUnreadableError } from '../../../src/sinks/duckdb';
import { fixture, fixturePath, input, openSink, scratch, strayFiles, target } from './harness';
import { col, ds } from './schema';

export function fileFailureCases(): void {
  describe('file-level failures', () => {
    const d = ds('ff', [col('id', 'Int32')]);

    async function expectUnreadable(i: IngestFileInput, reason: RegExp): Promise<void> {
      const { sink } = await openSink();
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
          assert.deepEqual(await strayFiles(), []);
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
      const file = fixturePath('lzo.parquet');
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
      await expectUnreadable(input(d, fixturePath('does-not-exist.csv'), 'csv', { key: 'gone.csv' }), /not found/);
    });
  });
}

export function exactlyOnceCases(): void {
  describe('exactly once', () => {
    const d = ds('once', [col('id', 'Int32')]);

    it('a version ingested twice loads its rows once; a new ETag loads again', async () => {
      const file = await fixture('o.csv', 'id\n1\n2\n');
      const opened = await openSink();
      const { sink } = opened;
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
      // the ledger survives a reopen
      const { sink: again } = await target().reopen(opened);
      const r = await again.ingestFile(input(d, file, 'csv'));
      assert.equal(r.alreadyLoaded, true);
      assert.equal(await again.rowCount('once'), 4);
    });

    it('concurrent calls for the same version load it once', async () => {
      const file = await fixture('c.csv', 'id\n1\n2\n3\n');
      const { sink } = await openSink();
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => sink.ingestFile(input(d, file, 'csv', { jobId: `j${i}` }))),
      );
      assert.equal(results.filter((r) => !r.alreadyLoaded).length, 1);
      assert.equal(await sink.rowCount('once'), 3);
      assert.equal((await sink.ledger('once')).length, 1);
    });

    it('a failed file leaves no rows and no ledger entry, so a retry can load it', async () => {
      const { sink } = await openSink();
      const good = gzipSync('id\n1\n2\n');
      const file = await fixture('r.csv.gz', good.subarray(0, good.length - 4));
      await assert.rejects(sink.ingestFile(input(d, file, 'csv', { compression: 'gzip' })), FileUnreadableError);
      await writeFile(file, good);
      const r = await sink.ingestFile(input(d, file, 'csv', { compression: 'gzip' }));
      assert.deepEqual([r.rows, r.alreadyLoaded], [2, false]);
    });
  });
}
