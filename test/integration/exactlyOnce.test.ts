/**
 * Exactly once at the activity level (R5.3), on a real MinIO and a real
 * DuckDB file: the same ingest run twice, and the retry Temporal makes when a
 * worker dies after the commit but before its completion reached the server
 * (simulated by running the activity again with the same job id, which is
 * exactly what that retry is). Each row is found once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Activities, BatchOutcome, IngestOutcome } from '../../src/activities';
import type { DataSourceDef } from '../../src/datafiles/types';
import type { DuckDbSink } from '../../src/sinks/duckdb';
import type { ObjectVersion } from '../../src/contract';
import { idNameDataSource, startActivityRig, type ActivityRig } from '../helpers/activityRig';

const dataSource = idNameDataSource('once', 's3://exact/*.csv');

describe('exactly once across repeated and retried ingests', () => {
  let rig: ActivityRig;
  let sink: DuckDbSink;
  let s3: S3Client;
  let acts: Activities;
  let object: ObjectVersion;

  before(async () => {
    rig = await startActivityRig({ bucket: 'exact', dataSource });
    ({ sink, s3, acts } = rig);
    await s3.send(new PutObjectCommand({ Bucket: 'exact', Key: 'a.csv', Body: 'id,name\n1,one\n2,two\n3,three\n' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'exact', Key: 'a.csv' }));
    object = {
      bucket: 'exact',
      key: 'a.csv',
      etag: (head.ETag ?? '').replace(/"/g, ''),
      size: head.ContentLength ?? 0,
      lastModified: (head.LastModified ?? new Date()).toISOString(),
      format: 'csv',
      compression: 'none',
    };
  });

  after(async () => {
    await rig?.stop();
  });

  it('a second ingest of the same version by another job loads nothing and says so', async () => {
    const env = new MockActivityEnvironment();
    const first: IngestOutcome = await env.run(acts.ingestObject, { dataSource, object, jobId: 'job-1' });
    assert.deepEqual({ rows: first.rows, alreadyLoaded: first.alreadyLoaded }, { rows: 3, alreadyLoaded: false });
    const second: IngestOutcome = await env.run(acts.ingestObject, { dataSource, object, jobId: 'job-2' });
    assert.deepEqual({ rows: second.rows, alreadyLoaded: second.alreadyLoaded }, { rows: 3, alreadyLoaded: true });
    assert.equal(await sink.rowCount('once'), 3);
    const batch: BatchOutcome[] = await env.run(acts.ingestObjects, { dataSource, objects: [object], jobId: 'job-3' });
    assert.equal(batch[0]?.ok && batch[0].alreadyLoaded, true);
    assert.equal(await sink.rowCount('once'), 3);
  });

  it("the retry after a worker died past its commit returns the committed result once, as this job's", async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'exact', Key: 'a.csv', Body: 'id,name\n4,four\n5,five\n' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'exact', Key: 'a.csv' }));
    const overwritten: ObjectVersion = {
      ...object,
      etag: (head.ETag ?? '').replace(/"/g, ''),
      size: head.ContentLength ?? 0,
    };
    const env = new MockActivityEnvironment();
    // Attempt 1 commits; its completion is lost with the worker.
    await env.run(acts.ingestObject, { dataSource, object: overwritten, jobId: 'job-4' });
    // Attempt 2, the retry of the same activity of the same job.
    const retry: IngestOutcome = await env.run(acts.ingestObject, { dataSource, object: overwritten, jobId: 'job-4' });
    assert.deepEqual({ rows: retry.rows, alreadyLoaded: retry.alreadyLoaded }, { rows: 2, alreadyLoaded: false });
    const ids = (await sink.query('SELECT id FROM once ORDER BY id')).map((r) => Number(r.id));
    assert.deepEqual(ids, [1, 2, 3, 4, 5]);
    const ledger = await sink.ledger('once');
    assert.deepEqual(
      ledger.map((e) => [e.key, e.rows, e.jobId]),
      [
        ['a.csv', 3, 'job-1'],
        ['a.csv', 2, 'job-4'],
      ],
    );
  });
});
