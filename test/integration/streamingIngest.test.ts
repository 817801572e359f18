/**
 * A plain CSV through the ingest activity, loaded while it downloads (DuckDB
 * reads it through a pipe fed from the growing file: see feedGrowingFile),
 * on a real MinIO behind the fault proxy and a real DuckDB file. A download
 * cut while DuckDB reads fails retryably and commits nothing; its retry
 * loads every row once.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type Activities, type IngestOutcome } from '../../src/activities';
import { S3ClientCache } from '../../src/aws/credentials';
import type { ObjectVersion } from '../../src/contract';
import type { ConnectionDef, DataSourceDef } from '../../src/datafiles/types';
import { idNameDataSource, startActivityRig, type ActivityRig } from '../helpers/activityRig';
import { objectGet, startFaultProxy, type FaultProxy } from '../helpers/faultProxy';

const dataSource = idNameDataSource('streamed', 's3://streams/*');

/** ~2.7 MB: more than the head (1 MiB) the sink waits for before DuckDB starts reading. */
const ROWS = 20_000;
const csv = 'id,name\n' + Array.from({ length: ROWS }, (_, i) => `${i},name ${i} ${'x'.repeat(120)}`).join('\n') + '\n';

describe('a plain CSV through the ingest activity, loaded while it downloads', () => {
  let rig: ActivityRig;
  let proxy: FaultProxy;
  let acts: Activities;
  let cache: S3ClientCache;

  before(async () => {
    rig = await startActivityRig({ bucket: 'streams', dataSource });
    proxy = await startFaultProxy(rig.minio.endpoint);
    // The rig's activities, but reading MinIO through the proxy.
    const conn: ConnectionDef = {
      name: 'minio',
      path: 'minio.connection',
      type: 's3',
      region: 'us-east-1',
      endpoint: proxy.endpoint,
      accessKey: rig.minio.accessKey,
      secretKey: rig.minio.secretKey,
    };
    cache = new S3ClientCache({ externalId: () => 'unused' });
    acts = createActivities({ sink: rig.sink, s3: cache, connection: () => conn, maxFileBytes: () => 1e9 });
  });

  after(async () => {
    cache?.destroy();
    await proxy?.close();
    await rig?.stop();
  });

  async function put(key: string): Promise<ObjectVersion> {
    const r = await rig.s3.send(new PutObjectCommand({ Bucket: 'streams', Key: key, Body: csv }));
    const etag = (r.ETag ?? '').replace(/"/g, '');
    const size = Buffer.byteLength(csv);
    return {
      bucket: 'streams',
      key,
      etag,
      size,
      lastModified: new Date().toISOString(),
      format: 'csv',
      compression: 'none',
    };
  }

  const ingest = (object: ObjectVersion): Promise<IngestOutcome> =>
    new MockActivityEnvironment().run(acts.ingestObject, { dataSource, object, jobId: 'job-stream' });

  /** What ingests left in the sink's scratch folder (each downloads into a folder of its own there). */
  const ingestDirs = async (): Promise<string[]> =>
    (await readdir(rig.sink.scratchDir)).filter((d) => d.startsWith('s3c-ingest-'));

  /** Named pipes in the sink's scratch folder (where each ingest downloads), now. */
  async function pipes(): Promise<string[]> {
    const dirs = (await readdir(rig.sink.scratchDir)).map((d) => `${rig.sink.scratchDir}/${d}`);
    const files = await Promise.all(dirs.map((d) => readdir(d).catch(() => [] as string[])));
    return files.flat().filter((f) => f.endsWith('.fifo'));
  }

  it('loads every row once, DuckDB reading while the object still arrives', async () => {
    const object = await put('slow.csv');
    proxy.throttleNext(1, { chunkBytes: 64 * 1024, delayMs: 25 }, objectGet('slow.csv'));
    let sawPipe = false;
    const watching = setInterval(() => void pipes().then((p) => (sawPipe ||= p.length > 0)), 20);
    try {
      const out = await ingest(object);
      assert.deepEqual([out.rows, out.quarantined, out.alreadyLoaded], [ROWS, 0, false]);
    } finally {
      clearInterval(watching);
    }
    assert.ok(sawPipe, 'DuckDB read the object through a pipe while it downloaded');
    assert.equal(rig.sink.lastLoadPath, 'fast');
    assert.equal(await rig.sink.rowCount('streamed'), ROWS);
    assert.deepEqual(await ingestDirs(), []);
  });

  it('a download cut while DuckDB reads fails retryably, commits nothing, and its retry loads every row once', async () => {
    const before = await rig.sink.rowCount('streamed');
    const object = await put('cut.csv');
    proxy.cutNext(1, 2 * 1024 * 1024, objectGet('cut.csv'));
    await assert.rejects(ingest(object), (e: unknown) => {
      assert.ok(!(e instanceof ApplicationFailure && e.nonRetryable), `a cut download is retried: ${String(e)}`);
      return true;
    });
    assert.equal(proxy.armed(), 0, 'the download was cut');
    assert.equal(await rig.sink.rowCount('streamed'), before);
    assert.equal(
      (await rig.sink.ledger('streamed')).some((e) => e.key === 'cut.csv'),
      false,
    );
    assert.deepEqual(await ingestDirs(), [], 'no temp file or pipe left');
    const retried = await ingest(object);
    assert.equal(retried.rows, ROWS);
    assert.equal(await rig.sink.rowCount('streamed'), before + ROWS);
  });
});
