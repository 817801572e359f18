/**
 * Step 8 of the guided `datasource create`, the download: the start of a CSV
 * or NDJSON object (a ranged GET, gzip inflated as far as those bytes go, cut
 * after the last complete line), or a whole Parquet object up to a size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGunzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { formatBytes } from '../../contract';
import type { MatchingObject } from './listing';
import type { SampleLimits } from './options';

/** Inflates as much of a (possibly truncated) gzip stream as there is, up to `cap` bytes. */
function gunzipPrefix(data: Uint8Array, cap: number): Promise<{ data: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const gunzip = createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const finish = (complete: boolean): void => {
      if (done) return;
      done = true;
      resolve({ data: Buffer.concat(chunks).subarray(0, Math.min(total, cap)), complete });
    };
    gunzip.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= cap) {
        finish(false);
        gunzip.destroy();
      }
    });
    gunzip.on('end', () => finish(true));
    gunzip.on('error', (err) => {
      if (total > 0) finish(false);
      else if (!done) {
        done = true;
        reject(err);
      }
    });
    gunzip.end(data);
  });
}

/** A sample downloaded to a local file, or why there is none. */
export type Downloaded = { path: string } | { reason: string };

/** Downloads the sample of an object to `dir` as a plain file; returns its path, or why there is none. */
export async function downloadSample(
  client: S3Client,
  bucket: string,
  object: MatchingObject,
  limits: SampleLimits,
  dir: string,
): Promise<Downloaded> {
  const file = path.join(dir, `sample.${object.format.format === 'ndjson' ? 'ndjson' : object.format.format}`);
  if (object.format.format === 'parquet') return downloadWhole(client, bucket, object, limits, file);
  return downloadStart(client, bucket, object, limits, file);
}

/** Parquet: the whole object (its footer is at the end), when it is at most `parquetBytes`. */
async function downloadWhole(
  client: S3Client,
  bucket: string,
  object: MatchingObject,
  limits: SampleLimits,
  file: string,
): Promise<Downloaded> {
  if (object.size > limits.parquetBytes) {
    return {
      reason: `the Parquet file ${object.key} is ${formatBytes(object.size)}, over the ${formatBytes(limits.parquetBytes)} sampled`,
    };
  }
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.key }));
  if (!got.Body) return { reason: `${object.key} has no content` };
  const body = got.Body as Readable;
  if (object.format.compression === 'gzip') await pipeline(body, createGunzip(), fs.createWriteStream(file));
  else await pipeline(body, fs.createWriteStream(file));
  return { path: file };
}

/** CSV and NDJSON: the first `sampleBytes`, inflated up to `inflatedBytes`, cut after the last complete line. */
async function downloadStart(
  client: S3Client,
  bucket: string,
  object: MatchingObject,
  limits: SampleLimits,
  file: string,
): Promise<Downloaded> {
  const ranged = object.size > limits.sampleBytes;
  const got = await client.send(
    new GetObjectCommand({
      Bucket: bucket,
      Key: object.key,
      ...(ranged ? { Range: `bytes=0-${limits.sampleBytes - 1}` } : {}),
    }),
  );
  if (!got.Body) return { reason: `${object.key} has no content` };
  let bytes: Buffer = Buffer.from(await got.Body.transformToByteArray());
  let complete = !ranged;
  if (object.format.compression === 'gzip') {
    const inflated = await gunzipPrefix(bytes, limits.inflatedBytes);
    bytes = inflated.data;
    complete = complete && inflated.complete;
  }
  if (!complete) {
    const lastNewline = bytes.lastIndexOf(0x0a);
    if (lastNewline < 0)
      return { reason: `the first ${formatBytes(bytes.length)} of ${object.key} hold no complete line` };
    bytes = bytes.subarray(0, lastNewline + 1);
  }
  fs.writeFileSync(file, bytes);
  return { path: file };
}
