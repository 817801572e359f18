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
 * The thread's program (self-contained: see runThread).
 */
function inflateAndDiscard(): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { createReadStream } = require('node:fs') as typeof import('node:fs');
  const { createGunzip } = require('node:zlib') as typeof import('node:zlib');
  const { Writable } = require('node:stream') as typeof import('node:stream');
  const { pipeline } = require('node:stream/promises') as typeof import('node:stream/promises');
  const { path, chunk } = workerData as { path: string; chunk: number };
  pipeline(
    createReadStream(path, { highWaterMark: chunk }),
    createGunzip({ chunkSize: chunk }),
    new Writable({
      write(_data, _encoding, done) {
        done();
      },
    }),
  ).then(
    () => parentPort?.postMessage({}),
    (e: unknown) => {
      const err = e as { message?: string; code?: string };
      parentPort?.postMessage({ error: { message: String(err?.message ?? e), code: err?.code } });
    },
  );
}

/** Resolves when the whole gzip file is good; rejects with zlib's error (message and code) otherwise. */
export function verifyGzip(path: string): Promise<void> {
  return runThread<CheckResult, void>(inflateAndDiscard, { path, chunk: CHECK_CHUNK }, {
    onMessage: (result) =>
      result.error
        ? { error: Object.assign(new Error(result.error.message), result.error.code ? { code: result.error.code } : {}) }
        : { value: undefined },
    onCrash: ({ name, code }) => new Error(`gzip check thread failed (${name}${code ? ` ${code}` : ''})`),
    // The Temporal worker's process may run with a large heap limit; this thread needs little.
    resourceLimits: { maxOldGenerationSizeMb: 64 },
  });
}
