/**
 * Verifies a whole gzip file (every member, every CRC and length trailer) by
 * inflating it and discarding the output, on a worker thread.
 *
 * Why a thread: inflating 1.4 GB allocates 1.4 GB of short-lived Buffers.
 * On the worker's main thread, whose V8 heap holds the Temporal worker, each
 * of the resulting full GCs took 40-60 ms, one every ~100 ms, for the whole
 * load (bench, ndjson.gz 1 GB): seconds of CPU taken from DuckDB on a 2-core
 * machine. A thread of its own has a near-empty heap, where those GCs cost ~1 ms.
 */
import { runThread } from '../local/thread';

/** Read and inflate in 1 MiB chunks: zlib's 16 KiB default costs seconds per GB in callbacks. */
export const GZIP_CHUNK = 1024 * 1024;
/**
 * The check reads and inflates in 4 MiB chunks: 1.4 GB of NDJSON took 2.79 s
 * of CPU instead of 3.06 s with 1 MiB (fewer hand-offs to zlib's pool thread,
 * on a machine whose cores DuckDB keeps busy). 16 MiB gained nothing more.
 */
const CHECK_CHUNK = 4 * GZIP_CHUNK;

/** What the thread reports: nothing when the stream is good, else zlib's message and code. */
interface CheckResult {
  error?: { message: string; code?: string };
}

/**
 * The thread's program (self-contained: see runThread): inflates the file
 * from its start and discards the output. A whole file is read to its size at
 * open; a growing one (being downloaded) is read as far as it has been
 * written, until the main thread tells its final size.
 */
function inflateAndDiscard(): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { open } = require('node:fs/promises') as typeof import('node:fs/promises');
  const { createGunzip } = require('node:zlib') as typeof import('node:zlib');
  const { once } = require('node:events') as typeof import('node:events');
  const { finished } = require('node:stream/promises') as typeof import('node:stream/promises');
  const { setTimeout: sleep } = require('node:timers/promises') as typeof import('node:timers/promises');
  const { path, chunk, growing } = workerData as { path: string; chunk: number; growing: boolean };
  /** The file's final size: known at open for a whole file, told by the main thread for a growing one. */
  let total = -1;
  if (growing) {
    parentPort?.on('message', (m: { size: number }) => {
      total = m.size;
    });
  }
  const gunzip = createGunzip({ chunkSize: chunk });
  let failure: unknown;
  gunzip.on('error', (e) => {
    failure ??= e;
  });
  gunzip.resume();
  open(path, 'r')
    .then(async (fh) => {
      try {
        if (!growing) total = (await fh.stat()).size;
        let at = 0;
        while (total < 0 || at < total) {
          if (failure) throw failure;
          const written = total >= 0 ? total : (await fh.stat()).size;
          if (at >= written) {
            // Caught up with the download: wait for more bytes, or for the final size.
            await sleep(5);
            continue;
          }
          const data = Buffer.allocUnsafe(Math.min(chunk, written - at));
          const { bytesRead } = await fh.read(data, 0, data.length, at);
          if (bytesRead === 0) break; // the file is shorter than said: zlib reports the cut
          at += bytesRead;
          if (failure) throw failure;
          if (!gunzip.write(bytesRead === data.length ? data : data.subarray(0, bytesRead))) await once(gunzip, 'drain');
        }
        gunzip.end();
        await finished(gunzip);
      } finally {
        await fh.close();
      }
    })
    .then(
      () => parentPort?.postMessage({}),
      (e: unknown) => {
        const err = e as { message?: string; code?: string };
        parentPort?.postMessage({ error: { message: String(err?.message ?? e), code: err?.code } });
      },
    );
}

function runCheck(path: string, growing: boolean, options: { signal?: AbortSignal; onStart?: (post: (message: unknown) => void) => void } = {}): Promise<void> {
  return runThread<CheckResult, void>(inflateAndDiscard, { path, chunk: CHECK_CHUNK, growing }, {
    onMessage: (result) =>
      result.error
        ? { error: Object.assign(new Error(result.error.message), result.error.code ? { code: result.error.code } : {}) }
        : { value: undefined },
    onCrash: ({ name, code }) => new Error(`gzip check thread failed (${name}${code ? ` ${code}` : ''})`),
    // The Temporal worker's process may run with a large heap limit; this thread needs little.
    resourceLimits: { maxOldGenerationSizeMb: 64 },
    ...options,
  });
}

/** Resolves when the whole gzip file is good; rejects with zlib's error (message and code) otherwise. */
export function verifyGzip(path: string): Promise<void> {
  return runCheck(path, false);
}

/** A gzip check that follows a file while it is being written (see checkGzipWhileWritten). */
export interface GzipCheckInProgress {
  /** Settles as verifyGzip does, once the whole file is written and checked. */
  readonly result: Promise<void>;
  /** The file is complete at `size` bytes. */
  complete(size: number): void;
  /** Stops the check (the download failed); `result` then rejects. */
  cancel(): void;
}

/**
 * Starts checking the gzip file at `path` (which must exist, empty or not)
 * while it is being written, instead of after: the check reads what has been
 * written so far and waits for more until `complete` gives the final size.
 *
 * Why: the check inflates the whole stream (~2.8 s of CPU for 1.4 GB of
 * text), and once the load has started it takes that CPU from DuckDB, which
 * keeps both cores busy: the INSERT of the bench's ndjson.gz took ~11.3 s
 * beside the check, ~9.3 s alone. While the object downloads, the cores are
 * mostly waiting for the network, so each byte checked then is not checked
 * against the load. On a real network the download takes seconds and the check
 * is mostly done when the load starts; on loopback it gains the ~0.5 s the
 * download takes.
 */
export function checkGzipWhileWritten(path: string): GzipCheckInProgress {
  const stop = new AbortController();
  let post: ((message: unknown) => void) | undefined;
  const result = runCheck(path, true, {
    signal: stop.signal,
    onStart: (p) => {
      post = p;
    },
  });
  // Whoever needs the verdict awaits `result`; a check stopped unawaited is no error.
  result.catch(() => undefined);
  return {
    result,
    complete: (size) => post?.({ size }),
    cancel: () => stop.abort(new Error('gzip check stopped')),
  };
}
