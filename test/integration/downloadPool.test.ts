/**
 * Small-object downloads on the shared download thread
 * (src/activities/downloadPool.ts), on a real MinIO: many at once with whole
 * bytes, the ETag pins the version, failures come back as name and HTTP
 * status without the credentials, a cancelled download stops alone, and the
 * thread stops when idle or closed and starts again when needed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DownloadPool } from '../../src/activities/downloadPool';
import { ThreadDownloadError } from '../../src/activities/downloadThread';
import { startMinio, type MinioServer } from '../../src/local/processes';
import { repoRoot } from '../../src/local/tools';
import { minioS3Client } from '../../src/local/stack';

const execFileP = promisify(execFile);

describe('downloads on the shared thread', () => {
  let dir: string;
  let minio: MinioServer;
  let s3: S3Client;
  const bodies = Array.from({ length: 40 }, (_, n) => randomBytes(1000 + n * 997));
  const etags: string[] = [];
  const pool = new DownloadPool(200);
  const none = { onProgress: () => undefined };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 's3c-dlpool-'));
    minio = await startMinio({ dataDir: join(dir, 'data'), stateDir: join(dir, 'state') });
    s3 = minioS3Client(minio);
    await s3.send(new CreateBucketCommand({ Bucket: 'bkt' }));
    for (const [n, body] of bodies.entries()) {
      const put = await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: `small/f ${n}.bin`, Body: body }));
      etags.push(put.ETag!.replace(/"/g, ''));
    }
  });
  after(async () => {
    await pool.close();
    s3?.destroy();
    await minio?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('downloads many objects at once on one thread, each whole', async () => {
    const sizes = await Promise.all(
      bodies.map((_, n) =>
        pool.download(
          s3,
          { bucket: 'bkt', key: `small/f ${n}.bin`, etag: etags[n]!, path: join(dir, `out-${n}`) },
          none,
        ),
      ),
    );
    assert.deepEqual(
      sizes,
      bodies.map((b) => b.length),
    );
    for (const [n, body] of bodies.entries())
      assert.ok(readFileSync(join(dir, `out-${n}`)).equals(body), `file ${n} holds its object`);
    assert.equal(pool.running, true);
  });

  it('an overwritten version (other ETag) fails with HTTP 412', async () => {
    await assert.rejects(
      pool.download(s3, { bucket: 'bkt', key: 'small/f 0.bin', etag: 'not-the-etag', path: join(dir, 'x') }, none),
      (e: unknown) => e instanceof ThreadDownloadError && e.$metadata.httpStatusCode === 412,
    );
  });

  it('a deleted object fails with NoSuchKey / 404, and no credential is in the error', async () => {
    await assert.rejects(
      pool.download(s3, { bucket: 'bkt', key: 'small/gone.bin', etag: etags[0]!, path: join(dir, 'y') }, none),
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

  it('signs each download with its own client: a wrong secret is refused, the right one still works', async () => {
    const wrong = new S3Client({
      region: 'us-east-1',
      endpoint: minio.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKey, secretAccessKey: 'not-the-secret-key' },
    });
    try {
      const [bad, good] = await Promise.allSettled([
        pool.download(wrong, { bucket: 'bkt', key: 'small/f 1.bin', etag: etags[1]!, path: join(dir, 'w1') }, none),
        pool.download(s3, { bucket: 'bkt', key: 'small/f 2.bin', etag: etags[2]!, path: join(dir, 'w2') }, none),
      ]);
      assert.equal(bad.status, 'rejected');
      const e = (bad as PromiseRejectedResult).reason as ThreadDownloadError;
      assert.equal(e.$metadata.httpStatusCode, 403);
      assert.ok(!JSON.stringify({ ...e, message: e.message }).includes('not-the-secret-key'));
      assert.deepEqual(good, { status: 'fulfilled', value: bodies[2]!.length });
    } finally {
      wrong.destroy();
    }
  });

  it('a cancelled download rejects with the reason; the others complete', async () => {
    const ac = new AbortController();
    const cancelled = pool.download(
      s3,
      { bucket: 'bkt', key: 'small/f 39.bin', etag: etags[39]!, path: join(dir, 'c') },
      { ...none, signal: ac.signal },
    );
    const other = pool.download(
      s3,
      { bucket: 'bkt', key: 'small/f 38.bin', etag: etags[38]!, path: join(dir, 'd') },
      none,
    );
    ac.abort(new Error('cancelled by the test'));
    await assert.rejects(cancelled, /cancelled by the test/);
    assert.equal(await other, bodies[38]!.length);
    await assert.rejects(
      pool.download(
        s3,
        { bucket: 'bkt', key: 'small/f 3.bin', etag: etags[3]!, path: join(dir, 'e') },
        { ...none, signal: ac.signal },
      ),
      /cancelled by the test/,
    );
  });

  it('stops when idle and starts again for the next download', async () => {
    await pool.download(s3, { bucket: 'bkt', key: 'small/f 4.bin', etag: etags[4]!, path: join(dir, 'i1') }, none);
    assert.equal(pool.running, true);
    await sleep(400);
    assert.equal(pool.running, false, 'the idle thread stopped');
    assert.equal(
      await pool.download(s3, { bucket: 'bkt', key: 'small/f 5.bin', etag: etags[5]!, path: join(dir, 'i2') }, none),
      bodies[5]!.length,
    );
  });

  it('keeps a process alive while a download is pending, and not once the thread is idle', async () => {
    // A child process whose only work is one download through a new pool: it
    // must print the size (alive until then) and exit at once (not after IDLE_MS).
    const script = join(dir, 'child.mts');
    const sdkUrl = pathToFileURL(createRequire(import.meta.url).resolve('@aws-sdk/client-s3')).href;
    writeFileSync(
      script,
      [
        `import sdk from ${JSON.stringify(sdkUrl)};`,
        `const { S3Client } = sdk;`,
        `import { DownloadPool } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src/activities/downloadPool.ts')).href)};`,
        `const s3 = new S3Client({ region: 'us-east-1', endpoint: process.env.T_ENDPOINT, forcePathStyle: true,`,
        `  credentials: { accessKeyId: process.env.T_KEY ?? '', secretAccessKey: process.env.T_SECRET ?? '' } });`,
        `const bytes = await new DownloadPool().download(s3, JSON.parse(process.env.T_OBJECT ?? '{}'), { onProgress: () => undefined });`,
        `s3.destroy();`,
        `console.log('downloaded', bytes);`,
      ].join('\n'),
    );
    const t0 = Date.now();
    const { stdout } = await execFileP(process.execPath, ['--import', 'tsx', script], {
      cwd: repoRoot,
      timeout: 60_000,
      env: {
        ...process.env,
        T_ENDPOINT: minio.endpoint,
        T_KEY: minio.accessKey,
        T_SECRET: minio.secretKey,
        T_OBJECT: JSON.stringify({ bucket: 'bkt', key: 'small/f 8.bin', etag: etags[8], path: join(dir, 'child-out') }),
      },
    });
    assert.equal(stdout.trim(), `downloaded ${bodies[8]!.length}`);
    assert.ok(Date.now() - t0 < 30_000, `the child took ${Date.now() - t0} ms to exit`);
  });

  it('closing rejects the downloads in flight; the next one starts a new thread', async () => {
    const inFlight = pool
      .download(s3, { bucket: 'bkt', key: 'small/f 6.bin', etag: etags[6]!, path: join(dir, 'k1') }, none)
      .then(
        (bytes) => bytes,
        (e: unknown) => e,
      );
    while (pool.inFlight === 0) await sleep(1);
    await pool.close();
    const e = await inFlight;
    assert.ok(e instanceof ThreadDownloadError && e.name === 'ThreadStopped', String(e));
    assert.equal(pool.running, false);
    assert.equal(
      await pool.download(s3, { bucket: 'bkt', key: 'small/f 7.bin', etag: etags[7]!, path: join(dir, 'k2') }, none),
      bodies[7]!.length,
    );
  });
});
