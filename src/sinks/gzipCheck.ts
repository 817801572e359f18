/**
 * Verifies a whole gzip file (every member, every CRC and length trailer) by
 * inflating it on a worker thread, and optionally hands the inflated stream
 * to DuckDB through a named pipe (feedGzipThroughFifo), so that the stream is
 * inflated once, by zlib, instead of twice (zlib to check, DuckDB to load).
 * The same thread program copies a plain file that is still being downloaded
 * into a pipe (feedGrowingFile), so that DuckDB reads it as it arrives.
 *
 * Why a thread: inflating 1.4 GB allocates 1.4 GB of short-lived Buffers.
 * On the worker's main thread, whose V8 heap holds the Temporal worker, each
 * of the resulting full GCs took 40-60 ms, one every ~100 ms, for the whole
 * load (bench, ndjson.gz 1 GB): seconds of CPU taken from DuckDB on a 2-core
 * machine. A thread of its own has a near-empty heap, where those GCs cost ~1 ms.
 */
import { S3cError } from '../util/errors';
import { feedThroughFifo, type FifoFeed } from './fifoFeed';
import { runThread } from '../util/thread';
import { recordCounter, type CountFormat } from './recordCount';

/** Read and inflate in 1 MiB chunks: zlib's 16 KiB default costs seconds per GB in callbacks. */
export const GZIP_CHUNK = 1024 * 1024;
/**
 * The check reads and inflates in 4 MiB chunks: 1.4 GB of NDJSON took 2.79 s
 * of CPU instead of 3.06 s with 1 MiB (fewer hand-offs to zlib's pool thread,
 * on a machine whose cores DuckDB keeps busy). 16 MiB gained nothing more.
 */
const CHECK_CHUNK = 4 * GZIP_CHUNK;

/**
 * How much inflated text the feed may hold while DuckDB is busy with what it
 * read before. DuckDB reads a pipe in buffers of ~32 MB and parses each one
 * before it reads again: with only the pipe's 64 KiB in between, zlib would
 * wait for every parse, and the load took as long as DuckDB inflating itself.
 */
const FEED_BUFFER = 64 * 1024 * 1024;

/**
 * What the thread reports: nothing when the stream is good, else the error's
 * message and code; `output` when writing the inflated text failed (the
 * reader went away), which says nothing about the gzip stream.
 */
interface CheckResult {
  error?: { message: string; code?: string; output?: boolean };
  /** Records of the inflated text, when asked to count them (see recordCounter). */
  records?: number;
}

/** The feed's pipe broke (its reader stopped early): the gzip stream was not checked to its end. */
export class GzipFeedBroken extends S3cError {}

/**
 * The thread's program (self-contained: see runThread): inflates the file
 * from its start and discards the output, or writes it to the file
 * descriptor `out` (left open: its owner closes it). A whole file is read to
 * its size at open; a growing one (being downloaded) is read as far as it has
 * been written, until the main thread tells its final size.
 */
function inflateFile(): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { open } = require('node:fs/promises') as typeof import('node:fs/promises');
  const { write } = require('node:fs') as typeof import('node:fs');
  const { createGunzip } = require('node:zlib') as typeof import('node:zlib');
  const { PassThrough } = require('node:stream') as typeof import('node:stream');
  const { once } = require('node:events') as typeof import('node:events');
  const { finished } = require('node:stream/promises') as typeof import('node:stream/promises');
  const { setTimeout: sleep } = require('node:timers/promises') as typeof import('node:timers/promises');
  const {
    path,
    chunk,
    growing,
    out,
    outBuffer,
    count,
    counter: counterSource,
    plain,
  } = workerData as {
    path: string;
    chunk: number;
    growing: boolean;
    plain?: boolean;
    out?: number;
    outBuffer?: number;
    count?: string;
    counter?: string;
  };
  // The record counter's source (recordCount.ts), when the text is to be counted as it passes.
  const counter =
    count && counterSource
      ? ((0, eval)(`(${counterSource})`) as (f: string) => { push(b: Buffer): void; end(): number })(count)
      : undefined;
  /** The file's final size: known at open for a whole file, told by the main thread for a growing one. */
  let total = -1;
  let failure: unknown;
  if (growing) {
    // The final size, or word that the file will never be complete (its download failed).
    parentPort?.on('message', (m: { size: number } | { abandoned: string }) => {
      if ('size' in m) total = m.size;
      else failure ??= new Error(m.abandoned);
    });
  }
  // `plain`: the file is copied as it is (a plain text file fed to DuckDB while it downloads).
  const gunzip = plain ? new PassThrough({ highWaterMark: chunk }) : createGunzip({ chunkSize: chunk });
  gunzip.on('error', (e) => {
    failure ??= e;
  });
  /**
   * The inflated text on its way to `out`: one write at a time, in order;
   * zlib pauses while more than `outBuffer` bytes wait. The descriptor is
   * never closed here (its owner does, once this thread has reported).
   */
  const sink = {
    queue: [] as Buffer[],
    queued: 0,
    busy: false,
    failure: undefined as unknown,
    waiting: [] as (() => void)[],
    push(b: Buffer): void {
      if (this.failure) return;
      this.queue.push(b);
      this.queued += b.length;
      if (this.queued > (outBuffer ?? 0)) gunzip.pause();
      this.pump();
    },
    pump(): void {
      if (this.busy) return;
      const b = this.queue.shift();
      if (!b) {
        for (const done of this.waiting.splice(0)) done();
        return;
      }
      this.busy = true;
      write(out!, b, 0, b.length, null, (err, n) => {
        this.busy = false;
        if (err) {
          this.failure ??= err;
          this.queue = [];
          this.queued = 0;
          // With the error, so that a read loop waiting for 'drain' ends too.
          gunzip.destroy(err);
        } else {
          this.queued -= n;
          if (n < b.length) {
            this.queue.unshift(b.subarray(n));
            this.queued += b.length - n;
          }
          if (this.queued <= (outBuffer ?? 0)) gunzip.resume();
        }
        this.pump();
      });
    },
    /** Resolves when no write is under way or waiting. */
    idle(): Promise<void> {
      return new Promise((resolve) => {
        if (!this.busy && this.queue.length === 0) resolve();
        else this.waiting.push(resolve);
      });
    },
  };
  if (counter) gunzip.on('data', (b: Buffer) => counter.push(b));
  if (out === undefined) gunzip.resume();
  else gunzip.on('data', (b: Buffer) => sink.push(b));
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
          if (!gunzip.write(bytesRead === data.length ? data : data.subarray(0, bytesRead)))
            await once(gunzip, 'drain');
        }
        gunzip.end();
        await finished(gunzip);
        await sink.idle();
        if (sink.failure) throw sink.failure;
      } finally {
        await fh.close();
      }
    })
    .then(
      (): CheckResult => (counter ? { records: counter.end() } : {}),
      (e: unknown): CheckResult => {
        const err = (sink.failure ?? e) as { message?: string; code?: string };
        return { error: { message: String(err?.message ?? e), code: err?.code, output: sink.failure !== undefined } };
      },
    )
    .then(async (result) => {
      // No write may still be under way once the owner closes the descriptor.
      sink.queue = [];
      await sink.idle();
      parentPort?.postMessage(result);
    });
}

/**
 * What a good check tells: the records of the inflated text when it was
 * asked to count them (`count`), else undefined.
 */
export type GzipVerdict = number | undefined;

function runCheck(
  path: string,
  growing: boolean,
  options: {
    signal?: AbortSignal;
    onStart?: (post: (message: unknown) => void) => void;
    out?: { fd: number; buffer: number };
    count?: CountFormat;
    plain?: boolean;
  } = {},
): Promise<GzipVerdict> {
  const { out, count, plain, ...threadOptions } = options;
  const data = {
    path,
    chunk: CHECK_CHUNK,
    growing,
    plain,
    ...(out ? { out: out.fd, outBuffer: out.buffer } : {}),
    ...(count ? { count, counter: recordCounter.toString() } : {}),
  };
  return runThread<CheckResult, GzipVerdict>(inflateFile, data, {
    onMessage: ({ error, records }) => {
      if (!error) return { value: records };
      const e = error.output ? new GzipFeedBroken(error.message) : new Error(error.message);
      return { error: Object.assign(e, error.code ? { code: error.code } : {}) };
    },
    onCrash: ({ name, code }) => new Error(`gzip check thread failed (${name}${code ? ` ${code}` : ''})`),
    // The Temporal worker's process may run with a large heap limit; this thread needs little.
    resourceLimits: { maxOldGenerationSizeMb: 64 },
    ...threadOptions,
  });
}

/**
 * Resolves when the whole gzip file is good (with the records of its text
 * when `count` is given); rejects with zlib's error (message and code) otherwise.
 */
export function verifyGzip(path: string, count?: CountFormat): Promise<GzipVerdict> {
  return runCheck(path, false, { count });
}

/** A gzip check that follows a file while it is being written (see checkGzipWhileWritten). */
export interface GzipCheckInProgress {
  /** Settles as verifyGzip does, once the whole file is written and checked. */
  readonly result: Promise<GzipVerdict>;
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
export function checkGzipWhileWritten(path: string, count?: CountFormat): GzipCheckInProgress {
  const stop = new AbortController();
  let post: ((message: unknown) => void) | undefined;
  const result = runCheck(path, true, {
    count,
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

/** The inflated text of a gzip file, flowing through a named pipe while the file is checked. */
export type GzipFeed = FifoFeed<GzipVerdict>;

/**
 * Starts inflating the gzip file at `gzPath` into a new named pipe next to
 * it, holding at most `buffer` bytes (FEED_BUFFER) the reader has not taken;
 * undefined where no named pipe can be made (then check and load the file as
 * two reads). The pipe's mechanics: see feedThroughFifo.
 *
 * Why: on this machine's two cores, DuckDB loading a gzip file keeps both
 * busy, and inflating it a second time to check it took ~2.8 s of CPU from
 * the load (1 GB bench, csv.gz, bare INSERT: 11.4 s beside the check, 8.8 s
 * alone). Fed through the pipe, DuckDB parses text that zlib inflated once on
 * the other core: 9.3 s. A file on disk instead of the pipe costs as much as
 * it saves.
 */
export function feedGzipThroughFifo(
  gzPath: string,
  options: { buffer?: number; count?: CountFormat } = {},
): Promise<GzipFeed | undefined> {
  return feedThroughFifo(gzPath, (fd) =>
    runCheck(gzPath, false, { out: { fd, buffer: options.buffer ?? FEED_BUFFER }, count: options.count }),
  );
}

/** A plain file fed through a named pipe while it is being downloaded (see feedGrowingFile). */
export interface GrowingFileFeed extends FifoFeed<GzipVerdict> {
  /** The file is complete at `size` bytes: the feed ends there. */
  complete(size: number): void;
  /** The file will never be complete (its download failed): the feed fails with `reason`. */
  abandon(reason: string): void;
}

/**
 * Feeds the plain file at `path` through a new named pipe as it is written
 * (the download appends to it), counting its records on the way (`count`);
 * the feed ends at the size `complete` gives. Undefined where no named pipe
 * can be made. DuckDB reads the pipe while the object still downloads, and
 * the complete file stays on disk for whatever needs it whole (the tolerant
 * path). `result` resolves only once every byte up to the final size went
 * through the pipe: a cut download (`abandon`) rejects it, so a load that
 * waits for it never commits part of a file.
 */
export async function feedGrowingFile(
  path: string,
  options: { buffer?: number; count?: CountFormat } = {},
): Promise<GrowingFileFeed | undefined> {
  let post: (message: unknown) => void = () => undefined;
  const feed = await feedThroughFifo(path, (fd) =>
    runCheck(path, true, {
      plain: true,
      out: { fd, buffer: options.buffer ?? FEED_BUFFER },
      count: options.count,
      onStart: (p) => {
        post = p;
      },
    }),
  );
  if (!feed) return undefined;
  return {
    ...feed,
    complete: (size) => post({ size }),
    abandon: (reason) => post({ abandoned: reason }),
  };
}
