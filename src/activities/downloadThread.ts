/**
 * Downloads one object version to a file on a worker thread of its own.
 *
 * Why: a download allocates its whole size in short-lived Buffers. On the
 * Temporal worker's main thread each 64 MB of them forces a full GC of a heap
 * that holds the worker ("external memory pressure"): in the benchmark, from
 * the second 1 GB load of a worker on, 65-71 full GCs per GB took the download
 * from 2.4 s to 5 s (1.8 s for the same download in a small process). A
 * thread has its own near-empty heap, where those GCs cost ~1 ms.
 *
 * The thread gets the credentials the main thread's client resolved (in
 * memory only), signs its own requests with them, and reports errors as
 * name / code / HTTP status — never the request URL or the message of an
 * error that could hold it.
 */
import { createRequire } from 'node:module';
import type { S3Client } from '@aws-sdk/client-s3';
import { runThread } from '../local/thread';

export interface ThreadDownload {
  bucket: string;
  key: string;
  /** ETag (without quotes) the response must match. */
  etag: string;
  path: string;
}

/** An S3 error as the thread reports it, shaped like the SDK's for the caller's mapping. */
export class ThreadDownloadError extends Error {
  readonly code?: string;
  readonly $metadata: { httpStatusCode?: number };
  constructor(e: { name?: string; code?: string; status?: number }) {
    super(e.name ?? e.code ?? 'download failed');
    this.name = e.name ?? 'Error';
    this.code = e.code;
    this.$metadata = { httpStatusCode: e.status };
  }
}

/** What a thread needs to sign its own requests like `client`: held in memory only, never logged. */
export interface ThreadClientConfig {
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

interface ThreadInput extends ThreadDownload {
  sdkPath: string;
  client: ThreadClientConfig;
}

type ThreadMessage = { progress: number } | { done: number } | { error: { name?: string; code?: string; status?: number } };

/** The thread's program (self-contained: see runThread). */
function threadMain(): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { createWriteStream } = require('node:fs') as typeof import('node:fs');
  const { Transform } = require('node:stream') as typeof import('node:stream');
  const { pipeline } = require('node:stream/promises') as typeof import('node:stream/promises');
  const input = workerData as ThreadInput;
  const sdk = require(input.sdkPath) as typeof import('@aws-sdk/client-s3');
  const client = new sdk.S3Client({
    region: input.client.region,
    ...(input.client.endpoint ? { endpoint: input.client.endpoint } : {}),
    forcePathStyle: input.client.forcePathStyle,
    credentials: input.client.credentials,
    maxAttempts: 3,
  });
  let bytes = 0;
  let lastReport = 0;
  client
    .send(new sdk.GetObjectCommand({ Bucket: input.bucket, Key: input.key, IfMatch: `"${input.etag}"` }))
    .then((response) =>
      pipeline(
        response.Body as NodeJS.ReadableStream,
        new Transform({
          transform(chunk: Buffer, _encoding, done) {
            bytes += chunk.length;
            const now = Date.now();
            if (now - lastReport > 1000) {
              lastReport = now;
              parentPort?.postMessage({ progress: bytes });
            }
            done(null, chunk);
          },
        }),
        createWriteStream(input.path),
      ),
    )
    .then(
      () => parentPort?.postMessage({ done: bytes }),
      (e: unknown) => {
        const err = e as { name?: string; code?: string; cause?: { code?: string }; $metadata?: { httpStatusCode?: number } };
        parentPort?.postMessage({
          error: { name: err?.name, code: err?.code ?? err?.cause?.code, status: err?.$metadata?.httpStatusCode },
        });
      },
    )
    .finally(() => client.destroy());
}

/** Where a thread `require`s the AWS SDK from (it cannot import our modules). */
export const sdkPath = createRequire(import.meta.url).resolve('@aws-sdk/client-s3');

/** `client`'s region, endpoint and current credentials, for a thread to build its own client. */
export async function threadClientConfig(client: S3Client): Promise<ThreadClientConfig> {
  const credentials = await client.config.credentials();
  const region = await client.config.region();
  let endpoint: string | undefined;
  if (client.config.endpoint) {
    const ep = await client.config.endpoint();
    endpoint = `${ep.protocol}//${ep.hostname}${ep.port ? `:${ep.port}` : ''}${ep.path}`;
  }
  return {
    region,
    endpoint,
    forcePathStyle: client.config.forcePathStyle ?? false,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
  };
}

/** Downloads on a thread with `client`'s region, endpoint and current credentials. */
export async function downloadInThread(
  client: S3Client,
  object: ThreadDownload,
  options: { onProgress: (bytes: number) => void; signal?: AbortSignal },
): Promise<number> {
  const input: ThreadInput = { ...object, sdkPath, client: await threadClientConfig(client) };
  return runThread<ThreadMessage, number>(threadMain, input, {
    onMessage: (m) => {
      if ('progress' in m) {
        options.onProgress(m.progress);
        return undefined;
      }
      return 'done' in m ? { value: m.done } : { error: new ThreadDownloadError(m.error) };
    },
    onCrash: (what) => new ThreadDownloadError(what),
    signal: options.signal,
  });
}
