/**
 * Downloads of small objects on one long-lived thread, many at once.
 *
 * Why: on the Temporal worker's main thread, each GET of a small file cost
 * ~3 ms of CPU. The Temporal SDK keeps an AsyncLocalStorage enabled there,
 * which hooks every promise the AWS SDK creates (many per request), and the
 * main heap is large. Measured over 1,000 files of 150 KB with 16 downloads
 * in flight: 3.0-3.2 s of CPU on a main thread with AsyncLocalStorage
 * enabled, 2.0-2.2 s on one warm thread. That thread also leaves the main
 * thread free for the worker and for preparing the next batch's load.
 *
 * One thread, not one per download (downloadInThread below, for large objects):
 * starting a thread and loading the SDK in it costs more than a small GET,
 * and a thread's JIT must warm up once. Two threads measured slower than one.
 * The thread stops after IDLE_MS without work; while idle, it does not keep
 * the process alive.
 *
 * Like downloadThread.ts: the thread gets the credentials the main thread's
 * client resolved (in memory only) and reports errors as name / code / HTTP
 * status, never a message or URL.
 */
import { Worker } from 'node:worker_threads';
import type { S3Client } from '@aws-sdk/client-s3';
import { sizeNewThreadHeaps } from '../util/thread';
import {
  sdkPath,
  threadClientConfig,
  ThreadDownloadError,
  type ThreadClientConfig,
  type ThreadDownload,
} from './downloadThread';

/** The thread stops after this long without a download. */
const IDLE_MS = 5 * 60 * 1000;
/** S3 clients (one per endpoint and credentials) the thread keeps. */
const MAX_CLIENTS = 8;

type Request = ThreadDownload & { id: number; client: ThreadClientConfig };
type FromThread =
  | { id: number; progress: number }
  | { id: number; done: number }
  | { id: number; error: { name?: string; code?: string; status?: number } };

/** The thread's program (self-contained: see runThread in ../util/thread.ts). */
function poolMain(): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { createWriteStream } = require('node:fs') as typeof import('node:fs');
  const { Transform } = require('node:stream') as typeof import('node:stream');
  const { pipeline } = require('node:stream/promises') as typeof import('node:stream/promises');
  const { sdkPath: sdkAt, maxClients } = workerData as { sdkPath: string; maxClients: number };
  const sdk = require(sdkAt) as typeof import('@aws-sdk/client-s3');
  const port = parentPort!;
  /** By client config (JSON), least recently used first. */
  const clients = new Map<string, { client: import('@aws-sdk/client-s3').S3Client; inFlight: number }>();
  const running = new Map<number, AbortController>();
  port.on('message', (m: Request | { cancel: number }) => {
    if ('cancel' in m) {
      running.get(m.cancel)?.abort();
      return;
    }
    const configKey = JSON.stringify(m.client);
    const entry = clients.get(configKey) ?? {
      client: new sdk.S3Client({
        region: m.client.region,
        ...(m.client.endpoint ? { endpoint: m.client.endpoint } : {}),
        forcePathStyle: m.client.forcePathStyle,
        credentials: m.client.credentials,
        maxAttempts: 3,
      }),
      inFlight: 0,
    };
    clients.delete(configKey);
    clients.set(configKey, entry);
    for (const [k, e] of clients) {
      if (clients.size <= maxClients) break;
      if (e.inFlight > 0) continue;
      clients.delete(k);
      e.client.destroy();
    }
    entry.inFlight++;
    const ac = new AbortController();
    running.set(m.id, ac);
    let bytes = 0;
    let lastReport = Date.now();
    entry.client
      .send(new sdk.GetObjectCommand({ Bucket: m.bucket, Key: m.key, IfMatch: `"${m.etag}"` }), {
        abortSignal: ac.signal,
      })
      .then((response) =>
        pipeline(
          response.Body as NodeJS.ReadableStream,
          new Transform({
            transform(chunk: Buffer, _encoding, done) {
              bytes += chunk.length;
              const now = Date.now();
              if (now - lastReport > 1000) {
                lastReport = now;
                port.postMessage({ id: m.id, progress: bytes });
              }
              done(null, chunk);
            },
          }),
          createWriteStream(m.path),
          { signal: ac.signal },
        ),
      )
      .then(
        () => port.postMessage({ id: m.id, done: bytes }),
        (e: unknown) => {
          // The thread program imports nothing (see runThread): it reads the error itself, as describeS3Error does.
          const err = e as {
            name?: string;
            code?: string;
            cause?: { code?: string };
            $metadata?: { httpStatusCode?: number };
          };
          port.postMessage({
            id: m.id,
            error: { name: err?.name, code: err?.code ?? err?.cause?.code, status: err?.$metadata?.httpStatusCode },
          });
        },
      )
      .finally(() => {
        running.delete(m.id);
        entry.inFlight--;
      });
  });
}

interface Pending {
  resolve: (bytes: number) => void;
  reject: (err: Error) => void;
  onProgress: (bytes: number) => void;
  detach: () => void;
}

/** Small-object downloads on one shared thread (see the top of this file). */
export class DownloadPool {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly idleMs = IDLE_MS) {}

  /** Whether the thread is running (for tests). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Downloads handed to the thread and not yet settled (for tests). */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Downloads `object` to its path with `client`'s region, endpoint and
   * current credentials; resolves with the byte count. Rejects with a
   * ThreadDownloadError (S3 error name / code / status), or with the
   * signal's reason once aborted.
   */
  async download(
    client: S3Client,
    object: ThreadDownload,
    options: { onProgress: (bytes: number) => void; signal?: AbortSignal },
  ): Promise<number> {
    const { signal } = options;
    signal?.throwIfAborted();
    const config = await threadClientConfig(client);
    signal?.throwIfAborted();
    const worker = this.start();
    const id = ++this.seq;
    return new Promise<number>((resolve, reject) => {
      const abort = (): void => {
        worker.postMessage({ cancel: id });
        this.settle(id)?.reject((signal?.reason as Error | undefined) ?? new Error('download cancelled'));
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.pending.set(id, {
        resolve,
        reject,
        onProgress: options.onProgress,
        detach: () => signal?.removeEventListener('abort', abort),
      });
      // Keeps the process alive while a download is pending.
      worker.ref();
      const request: Request = { ...object, id, client: config };
      worker.postMessage(request);
    });
  }

  /** Stops the thread; downloads in flight reject. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.stopped(worker, { name: 'ThreadStopped' });
    await worker.terminate();
  }

  private start(): Worker {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.worker) return this.worker;
    sizeNewThreadHeaps();
    const worker = new Worker(`(${poolMain.toString()})()`, {
      eval: true,
      workerData: { sdkPath, maxClients: MAX_CLIENTS },
    });
    worker.on('message', (m: FromThread) => {
      if ('progress' in m) {
        this.pending.get(m.id)?.onProgress(m.progress);
        return;
      }
      const p = this.settle(m.id);
      if (!p) return; // cancelled: already settled
      if ('done' in m) p.resolve(m.done);
      else p.reject(new ThreadDownloadError(m.error));
    });
    worker.once('error', (e) => this.stopped(worker, { name: e.name, code: (e as { code?: string }).code }));
    worker.once('exit', (code) => this.stopped(worker, { name: 'ThreadExited', code: String(code) }));
    // Idle, the thread must not keep the process alive (see settle). After the
    // listeners: adding a 'message' listener refs it again.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** Removes a download from the pending ones; with none left, the thread stops after idleMs. */
  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    p.detach();
    if (this.pending.size === 0 && this.worker) {
      const worker = this.worker;
      worker.unref();
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => {
        if (this.worker === worker && this.pending.size === 0) {
          this.worker = undefined;
          void worker.terminate();
        }
      }, this.idleMs);
      this.idleTimer.unref();
    }
    return p;
  }

  /** The thread is gone (crashed, exited, closed): its downloads reject; the next download starts a new one. */
  private stopped(worker: Worker, what: { name: string; code?: string }): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    clearTimeout(this.idleTimer);
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(new ThreadDownloadError(what));
  }
}

/**
 * Downloads one (large) object version on a thread of its own, started for
 * it and stopped after it.
 *
 * Why: a download allocates its whole size in short-lived Buffers. On the
 * Temporal worker's main thread each 64 MB of them forces a full GC of a heap
 * that holds the worker ("external memory pressure"): in the benchmark, from
 * the second 1 GB load of a worker on, 65-71 full GCs per GB took the download
 * from 2.4 s to 5 s (1.8 s for the same download in a small process). A
 * thread has its own near-empty heap, where those GCs cost ~1 ms. A thread
 * per large download, not the shared one: concurrent 1 GB downloads would
 * otherwise share one core.
 */
export async function downloadInThread(
  client: S3Client,
  object: ThreadDownload,
  options: { onProgress: (bytes: number) => void; signal?: AbortSignal },
): Promise<number> {
  const own = new DownloadPool();
  try {
    return await own.download(client, object, options);
  } finally {
    await own.close();
  }
}
