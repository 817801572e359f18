/**
 * A named pipe that a thread writes a file's text into while DuckDB reads it
 * as an uncompressed file: the inflated text of a gzip file
 * (feedGzipThroughFifo) or a plain file still being downloaded
 * (feedGrowingFile), both in gzipCheck.ts.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { siblingTempPath } from '../util/stateLayout';

/** A file's text flowing through a named pipe. */
export interface FifoFeed<R> {
  /** The named pipe: read it once, as an uncompressed file. */
  readonly path: string;
  /**
   * Settles once the writer is done: with its verdict once the whole text
   * went through the pipe; rejects with GzipFeedBroken when the reader
   * stopped before the end.
   */
  readonly result: Promise<R>;
  /** Ends the feed (the reader must be done): waits for the writer to end, closes the pipe, removes it. */
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);

/** How often a reader that opened the pipe after its writer closed is woken (see feedThroughFifo). */
const LATE_READER_POLL_MS = 5;

/**
 * Makes a named pipe next to `nearPath` and starts `write` on its write end
 * (a thread that writes, never closes, and settles once its writes are
 * over); undefined where no named pipe can be made.
 *
 * This process opens both ends of the pipe itself. The read end, which it
 * never reads, lets the write end open at once and keeps the thread's writes
 * from failing before DuckDB has opened the pipe. The write end, which the
 * thread writes to but never closes (one owner, no double close), is closed
 * here when the thread has reported, which gives DuckDB the end of the
 * stream. Closing the read end in `stop`, after DuckDB has closed its own,
 * turns a write left blocked by an early stop into EPIPE, so the thread always
 * ends by itself; it is not terminated, which could leave a queued write to a
 * closed (and reused) descriptor number.
 */
export async function feedThroughFifo<R>(
  nearPath: string,
  write: (fd: number) => Promise<R>,
): Promise<FifoFeed<R> | undefined> {
  const path = siblingTempPath(nearPath, 'fifo');
  try {
    await execFileAsync('mkfifo', ['-m', '600', path]);
  } catch {
    return undefined;
  }
  let reader: number | undefined;
  let writer: number | undefined;
  try {
    reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    writer = openSync(path, constants.O_WRONLY);
  } catch {
    if (reader !== undefined) closeSync(reader);
    await rm(path, { force: true });
    return undefined;
  }
  // Once the write end is closed, a reader that opens the pipe after that
  // (DuckDB, when the thread was done first: a small file, or a stream bad
  // from its first bytes) would wait forever for a writer. So a writer comes
  // and goes every few ms until `stop`: a FIFO open waiting for one returns
  // when one has opened, even if it is gone again, and the reader then gets
  // what the pipe holds and its end.
  let wakeLateReaders: NodeJS.Timeout | undefined;
  const closeWriter = (): void => {
    if (writer === undefined) return;
    closeSync(writer);
    writer = undefined;
    wakeLateReaders = setInterval(() => {
      try {
        closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // ENXIO (no reader: stopped) or ENOENT (removed): nobody to wake.
      }
    }, LATE_READER_POLL_MS);
    wakeLateReaders.unref();
  };
  const result = write(writer);
  // The thread reports only once its writes are over: the write end can close.
  result.then(closeWriter, closeWriter);
  // Whoever needs the verdict awaits `result`; a feed stopped unawaited is no error.
  result.catch(() => undefined);
  return {
    path,
    result,
    stop: async () => {
      // Without a reader left, a write still waiting for one fails (EPIPE), and the thread reports.
      if (reader !== undefined) closeSync(reader);
      reader = undefined;
      await result.catch(() => undefined);
      clearInterval(wakeLateReaders);
      await rm(path, { force: true });
    },
  };
}
