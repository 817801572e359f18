/**
 * Downloads on a thread of their own (downloadInThread, src/activities/downloadPool.ts), on a
 * real MinIO: the bytes arrive whole, the ETag pins the version, and failures
 * come back as name and HTTP status for the activity's mapping — without the
 * credentials the thread was given.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { downloadInThread } from '../../src/activities/downloadPool';
import { ThreadDownloadError } from '../../src/activities/downloadThread';
import { startMinio, type MinioServer } from '../../src/local/processes';
import { minioS3Client } from '../../src/local/stack';

describe('download on a thread', () => {
  let dir: string;
  let minio: MinioServer;
  let s3: S3Client;
  let etag: string;
  const body = randomBytes(17 * 1024 * 1024);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 's3c-dlthread-'));
    minio = await startMinio({ dataDir: join(dir, 'data'), stateDir: join(dir, 'state') });
    s3 = minioS3Client(minio);
    await s3.send(new CreateBucketCommand({ Bucket: 'bkt' }));
    const put = await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'big file.bin', Body: body }));
    etag = put.ETag!.replace(/"/g, '');
  });
  after(async () => {
    s3?.destroy();
    await minio?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the whole object and reports progress', async () => {
    const path = join(dir, 'out.bin');
    const seen: number[] = [];
    const bytes = await downloadInThread(
      s3,
      { bucket: 'bkt', key: 'big file.bin', etag, path },
      { onProgress: (b) => seen.push(b) },
    );
    assert.equal(bytes, body.length);
    assert.ok(readFileSync(path).equals(body), 'the file holds the object');
    assert.ok(seen.every((b) => b > 0 && b <= body.length));
  });

  it('an overwritten version (other ETag) fails with HTTP 412', async () => {
    await assert.rejects(
      downloadInThread(
        s3,
        { bucket: 'bkt', key: 'big file.bin', etag: 'not-the-etag', path: join(dir, 'x') },
        { onProgress: () => undefined },
      ),
      (e: unknown) => {
        assert.ok(e instanceof ThreadDownloadError);
        assert.equal(e.$metadata.httpStatusCode, 412);
        return true;
      },
    );
  });

  it('a deleted object fails with NoSuchKey / 404, and no credential is in the error', async () => {
    await assert.rejects(
      downloadInThread(
        s3,
        { bucket: 'bkt', key: 'gone.bin', etag, path: join(dir, 'y') },
        { onProgress: () => undefined },
      ),
      (e: unknown) => {
        assert.ok(e instanceof ThreadDownloadError);
        assert.ok(
          e.name === 'NoSuchKey' || e.$metadata.httpStatusCode === 404,
          `${e.name} ${e.$metadata.httpStatusCode}`,
        );
        const text = JSON.stringify({ ...e, message: e.message, stack: e.stack });
        assert.ok(!text.includes(minio.secretKey) && !text.includes(minio.accessKey), 'credentials in the error');
        return true;
      },
    );
  });

  it('a cancelled download stops and rejects', async () => {
    const ac = new AbortController();
    const p = downloadInThread(
      s3,
      { bucket: 'bkt', key: 'big file.bin', etag, path: join(dir, 'z') },
      { onProgress: () => undefined, signal: ac.signal },
    );
    ac.abort(new Error('cancelled by the test'));
    await assert.rejects(p, /cancelled by the test/);
  });
});
