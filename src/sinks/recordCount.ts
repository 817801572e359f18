/**
 * Independent record counts of a file, for the load invariant "records seen =
 * rows loaded + rows quarantined" (docs: Guarantees). DuckDB's readers are
 * what is checked, so the count never comes from them: CSV and NDJSON are
 * counted here, by a pass that reads every byte and cannot stop early;
 * Parquet by the row count in its footer (see the sink).
 *
 * `recordCounter` must stay self-contained (its source runs on threads: see
 * runThread), so it is one function returning an object of methods.
 */
import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { runThread } from '../util/thread';

/** What a counter counts: CSV records (`"` quotes, blank lines skipped unless one column) or non-blank NDJSON lines. */
export type CountFormat = 'csv' | 'csv1' | 'ndjson';

/** A streaming counter: feed it every byte of the (inflated) file, then read `end()`. */
export interface RecordCounter {
  push(buf: Buffer): void;
  /** Records in everything pushed, including a last line without a line ending. */
  end(): number;
}

/**
 * A counter of records, fast (Buffer.indexOf over quotes and line feeds).
 *
 * CSV: a record ends at a line feed outside quotes; every `"` toggles the
 * quote state (so `""` inside quotes is neutral). A blank line is no record,
 * except in a one-column file (`csv1`), where DuckDB reads it as a NULL. A
 * CR LF is one line ending; a lone CR is not counted as one, so a file with
 * CR-only line endings (or a quote inside an unquoted field) gives another
 * count than DuckDB's fast read, and the sink then takes its tolerant path,
 * whose CSV splitter defines records exactly.
 *
 * NDJSON: a record is a line with a byte other than space and CR.
 */
export function recordCounter(format: CountFormat): RecordCounter {
  const LF = 10;
  const CR = 13;
  const QUOTE = 34;
  const SPACE = 32;
  const csv = format !== 'ndjson';
  const blankIsRecord = format === 'csv1';
  const counter = {
    records: 0,
    quoted: false,
    /** The current line has a byte that makes it no blank line. */
    lineHasData: false,
    /** Whether bytes [from, to) of `buf` hold data: a byte other than CR (NDJSON: and space). */
    hasData(buf: Buffer, from: number, to: number): boolean {
      for (let i = from; i < to; i++) {
        const c = buf[i];
        if (c !== CR && (csv || c !== SPACE)) return true;
      }
      return false;
    },
    /** Adds bytes [from, to) (no line feed outside quotes among them) to the current line. */
    extend(buf: Buffer, from: number, to: number): void {
      if (!this.lineHasData && this.hasData(buf, from, to)) this.lineHasData = true;
    },
    endLine(): void {
      if (this.lineHasData || blankIsRecord) this.records++;
      this.lineHasData = false;
    },
    push(buf: Buffer): void {
      let i = 0;
      const n = buf.length;
      let nextQuote = csv ? buf.indexOf(QUOTE, 0) : -1;
      if (nextQuote < 0) nextQuote = n;
      // The next line feed, kept while quotes before it are stepped over (searching
      // again from each quote made a line of many quoted fields cost many scans of it).
      let nl = -1;
      while (i < n) {
        if (this.quoted) {
          // Inside quotes: everything up to the closing quote belongs to the line.
          this.lineHasData = true;
          if (nextQuote >= n) return;
          i = nextQuote + 1;
          this.quoted = false;
          nextQuote = buf.indexOf(QUOTE, i);
          if (nextQuote < 0) nextQuote = n;
          continue;
        }
        if (nl < i) {
          nl = buf.indexOf(LF, i);
          if (nl < 0) nl = n;
        }
        if (nextQuote < nl) {
          this.extend(buf, i, nextQuote);
          this.lineHasData = true;
          this.quoted = true;
          i = nextQuote + 1;
          nextQuote = buf.indexOf(QUOTE, i);
          if (nextQuote < 0) nextQuote = n;
          continue;
        }
        this.extend(buf, i, nl);
        if (nl >= n) return;
        this.endLine();
        i = nl + 1;
      }
    },
    end(): number {
      if (this.lineHasData || this.quoted) this.records++;
      this.lineHasData = false;
      this.quoted = false;
      return this.records;
    },
  };
  return counter;
}

/** Reads `path` (inflating it when `gzip`) through a counter and returns its count. */
async function countHere(path: string, format: CountFormat, gzip: boolean): Promise<number> {
  const counter = recordCounter(format);
  if (gzip) {
    for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 }).pipe(
      createGunzip({ chunkSize: 1 << 20 }),
    )) {
      counter.push(chunk as Buffer);
    }
    return counter.end();
  }
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      counter.push(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return counter.end();
}

/** Files up to this size are counted on the calling thread (a thread costs ~10 ms to start). */
const COUNT_HERE_MAX_BYTES = 8 << 20;

/**
 * The records of the file at `path` (see recordCounter), counted on a
 * thread of its own for a large file: it runs beside DuckDB's read of the
 * same file, and its short-lived Buffers stay off the worker's main heap.
 */
export async function countRecords(
  path: string,
  format: CountFormat,
  options: { gzip?: boolean; size?: number } = {},
): Promise<number> {
  const gzip = options.gzip ?? false;
  if (options.size !== undefined && options.size <= COUNT_HERE_MAX_BYTES) return countHere(path, format, gzip);
  return runThread<{ records?: number; error?: string }, number>(
    countFileProgram,
    { path, format, gzip, counter: recordCounter.toString() },
    {
      onMessage: (m) => (m.error !== undefined ? { error: new Error(m.error) } : { value: m.records ?? 0 }),
      onCrash: ({ name, code }) => new Error(`record count thread failed (${name}${code ? ` ${code}` : ''})`),
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    },
  );
}

/** The thread's program (self-contained): reads the file through the counter whose source it is given. */
function countFileProgram(): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { createReadStream: read } = require('node:fs') as typeof import('node:fs');
  const { createGunzip: gunzip } = require('node:zlib') as typeof import('node:zlib');
  const {
    path,
    format,
    gzip,
    counter: source,
  } = workerData as { path: string; format: string; gzip: boolean; counter: string };
  // eslint-disable-next-line no-eval
  const make = (0, eval)(`(${source})`) as (f: string) => { push(b: Buffer): void; end(): number };
  const counter = make(format);
  const input = read(path, { highWaterMark: 4 << 20 });
  const stream = gzip ? input.pipe(gunzip({ chunkSize: 1 << 20 })) : input;
  // An object's method, not a named arrow: see runThread.
  const report = {
    fail(e: unknown): void {
      parentPort?.postMessage({ error: String((e as Error)?.message ?? e) });
    },
  };
  input.on('error', report.fail);
  stream.on('error', report.fail);
  stream.on('data', (b: Buffer) => counter.push(b));
  stream.on('end', () => parentPort?.postMessage({ records: counter.end() }));
}
