/**
 * Gzip objects through the ingest activity, on a real MinIO and a real DuckDB
 * file. NDJSON: the gzip check runs while the object downloads
 * (checkGzipWhileWritten) and its verdict still decides the commit. CSV:
 * DuckDB reads the text the check inflates, through a named pipe
 * (feedGzipThroughFifo). A good stream loads whole; a stream DuckDB would read
 * silently (trailer cut off, CRC wrong) fails for good with a clear error and
 * loads nothing.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Activities, IngestOutcome } from '../../src/activities';
import type { DataSourceDef } from '../../src/datafiles/types';
import type { DuckDbSink } from '../../src/sinks/duckdb';
import type { ObjectVersion } from '../../src/contract';
import { startActivityRig, type ActivityRig } from '../helpers/activityRig';

const dataSource: DataSourceDef = {
  name: 'gz',
  path: 'gz.datasource',
  engine: 'MergeTree',
  schema: [
    { name: 'id', typeText: 'Int32', type: { kind: 'Int', bits: 32, signed: true }, line: 2, jsonPath: '$.id' },
    { name: 'name', typeText: 'String', type: { kind: 'String' }, line: 3, jsonPath: '$.name' },
  ],
  import: { connectionName: 'minio', bucketUri: 's3://gzips/*', schedule: { kind: 'once' } },
};

const ROWS = 30_000;
const csv = 'id,name\n' + Array.from({ length: ROWS }, (_, i) => `${i},name ${i}`).join('\n') + '\n';
const ndjson = Array.from({ length: ROWS }, (_, i) => JSON.stringify({ id: i, name: `n${i}` })).join('\n') + '\n';

describe('gzip objects through the ingest activity', () => {
  let rig: ActivityRig;
  let sink: DuckDbSink;
  let s3: S3Client;
  let acts: Activities;

  before(async () => {
    rig = await startActivityRig({ bucket: 'gzips', dataSource });
    ({ sink, s3, acts } = rig);
  });

  after(async () => {
    await rig?.stop();
  });

  async function put(key: string, body: Buffer): Promise<ObjectVersion> {
    const r = await s3.send(new PutObjectCommand({ Bucket: 'gzips', Key: key, Body: body }));
    return {
      bucket: 'gzips',
      key,
      etag: (r.ETag ?? '').replace(/"/g, ''),
      size: body.length,
      lastModified: new Date().toISOString(),
      format: key.includes('.csv') ? 'csv' : 'ndjson',
      compression: 'gzip',
    };
  }

  const ingest = (object: ObjectVersion): Promise<IngestOutcome> =>
    new MockActivityEnvironment().run(acts.ingestObject, { dataSource, object, jobId: 'job-gz' });

  it('loads a whole csv.gz and ndjson.gz (several gzip members), once', async () => {
    const a = await ingest(await put('a.csv.gz', gzipSync(csv)));
    assert.deepEqual(
      { rows: a.rows, quarantined: a.quarantined, alreadyLoaded: a.alreadyLoaded },
      { rows: ROWS, quarantined: 0, alreadyLoaded: false },
    );
    const half = ndjson.indexOf('\n', ndjson.length / 2) + 1;
    const b = await ingest(
      await put('b.ndjson.gz', Buffer.concat([gzipSync(ndjson.slice(0, half)), gzipSync(ndjson.slice(half))])),
    );
    assert.equal(b.rows, ROWS);
    assert.equal(await sink.rowCount('gz'), 2 * ROWS);
    const ledger = await sink.ledger('gz');
    assert.deepEqual(ledger.map((e) => [e.key, e.rows]).sort(), [
      ['a.csv.gz', ROWS],
      ['b.ndjson.gz', ROWS],
    ]);
  });

  for (const [what, key, body, reason] of [
    [
      'a stream cut at a line boundary (its trailer missing)',
      'cut.ndjson.gz',
      () => {
        const g = gzipSync(ndjson);
        return g.subarray(0, g.length - 8);
      },
      /: truncated gzip data \(unexpected end of file\)$/,
    ],
    [
      'a wrong CRC',
      'crc.csv.gz',
      () => {
        const g = Buffer.from(gzipSync(csv));
        g[g.length - 6]! ^= 0xff;
        return g;
      },
      /: corrupt gzip data \(incorrect data check\)$/,
    ],
    [
      'a stream cut at a line boundary (its trailer missing)',
      'cut.csv.gz',
      () => {
        const g = gzipSync(csv);
        return g.subarray(0, g.length - 8);
      },
      /: truncated gzip data \(unexpected end of file\)$/,
    ],
    [
      'a wrong CRC',
      'crc.ndjson.gz',
      () => {
        const g = Buffer.from(gzipSync(ndjson));
        g[g.length - 6]! ^= 0xff;
        return g;
      },
      /: corrupt gzip data \(incorrect data check\)$/,
    ],
  ] as const) {
    it(`fails for good on ${what} (${key}), which DuckDB alone would load, and loads nothing`, async () => {
      const before = await sink.rowCount('gz');
      const object = await put(key, body());
      await assert.rejects(ingest(object), (e: unknown) => {
        assert.ok(e instanceof ApplicationFailure, String(e));
        assert.equal(e.nonRetryable, true);
        assert.match(e.message, new RegExp(`^cannot read s3://gzips/${key.replace(/\./g, '\\.')}`));
        assert.match(e.message, reason);
        return true;
      });
      assert.equal(await sink.rowCount('gz'), before);
      assert.equal(
        (await sink.ledger('gz')).some((e) => e.key === key),
        false,
        'no ledger entry',
      );
    });
  }
});
