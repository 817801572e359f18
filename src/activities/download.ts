/**
 * The download of one object version to a local file: on a thread (see
 * downloadPool.ts), pinned to its ETag, reporting its bytes so far.
 */
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { SESSION_TOKEN_ERRORS } from '../aws/credentials';
import type { ObjectVersion } from '../contract';
import { THREAD_DOWNLOAD_BYTES } from '../contract/limits';
import { DownloadPool, downloadInThread } from './downloadPool';
import { getFailure } from './s3Failures';

/** Smaller objects are downloaded on this process's shared download thread (see downloadPool.ts). */
const smallDownloads = new DownloadPool();

/**
 * Streams one object version to `path`, reporting the bytes so far to
 * `progress` (a throttled heartbeat): on a thread of its own from
 * THREAD_DOWNLOAD_BYTES on, else on the shared download thread. The main
 * thread downloads only when a thread's session token was refused.
 */
export async function download(
  client: S3Client,
  object: ObjectVersion,
  path: string,
  progress: (bytes: number) => void,
): Promise<number> {
  const ctx = Context.current();
  try {
    const target = { bucket: object.bucket, key: object.key, etag: object.etag, path };
    const options = { onProgress: progress, signal: ctx.cancellationSignal };
    const bytes =
      object.size >= THREAD_DOWNLOAD_BYTES
        ? await downloadInThread(client, target, options)
        : await smallDownloads.download(client, target, options);
    progress(bytes);
    return bytes;
  } catch (err) {
    if (ctx.cancellationSignal.aborted) throw err;
    // A refused session token: the main thread's client drops it and signs
    // again with fresh credentials (see S3ClientCache); let it do the download.
    if (!SESSION_TOKEN_ERRORS.has((err as { name?: string }).name ?? '')) throw getFailure(err, object);
  }
  return downloadHere(client, object, path, progress, ctx.cancellationSignal);
}

/** The download on the main thread, with the main thread's client (which renews a refused session token). */
async function downloadHere(
  client: S3Client,
  object: ObjectVersion,
  path: string,
  progress: (bytes: number) => void,
  signal: AbortSignal,
): Promise<number> {
  let response;
  try {
    // IfMatch pins the version we decided to load: an overwrite in between is
    // a new version, discovered and loaded on its own.
    response = await client.send(
      new GetObjectCommand({ Bucket: object.bucket, Key: object.key, IfMatch: `"${object.etag}"` }),
    );
  } catch (err) {
    throw getFailure(err, object);
  }
  const body = response.Body as Readable | undefined;
  if (!body) throw new Error(`reading s3://${object.bucket}/${object.key}: empty response body`);
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      progress(bytes);
      done(null, chunk);
    },
  });
  await pipeline(body, counter, createWriteStream(path), { signal });
  progress(bytes);
  return bytes;
}
