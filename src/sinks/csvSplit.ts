/**
 * The CSV splitter of the tolerant path: reads a CSV file once, to its end,
 * and sorts its records into well-formed ones and malformed ones, so that no
 * record can vanish between DuckDB's reader and the quarantine.
 *
 * Why: DuckDB's read_csv with `ignore_errors` stops at a field whose quote
 * never closes properly (`"he said "hi" to me"`, `\"` escapes, a quote left
 * open at the end) and drops every record after it without a word. Here a
 * malformed record is cut off at the end of the physical line it starts on,
 * quarantined with its text and reason, and reading goes on at the next line.
 *
 * Records (RFC 4180, quote and escape `"`, as the sink's read_csv):
 * - end at LF, CR LF or a lone CR outside quotes (mixed endings are fine);
 * - a field that starts with `"` (after optional spaces) is quoted: `""` is a
 *   quote, and the closing quote must be followed by spaces, the delimiter or
 *   a line ending; a quote inside an unquoted field is a plain character;
 * - a blank line is no record, except when the file has one column (a NULL);
 * - a record with another number of fields than the file's is malformed.
 *
 * The well-formed records are written to `goodPath` as `<line><delim><record>\n`,
 * where <line> is the physical line the record starts on in the original
 * file: DuckDB then reads a file it cannot trip on, and every row keeps its
 * real line number. The malformed ones go to `badPath` as NDJSON
 * `{"line": n, "reason": "...", "text": "..."}`.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import type { CsvDialect } from './csvDialect';

/** How the splitter reads a file: the dialect the sink decided (csvDialect), with the header as a yes or no. */
export type CsvSplitLayout = Pick<
  CsvDialect,
  'delim' | 'fields' | 'skipLines' | 'skipRecords' | 'lastFieldOptional'
> & {
  /** The first record is a header (skipped). */
  header: boolean;
};

export interface CsvSplitResult {
  /** Data records seen: good + bad (no header, no blank lines). */
  records: number;
  good: number;
  bad: number;
}

/** Text of a malformed record kept in the quarantine, at most (bytes). */
const BAD_TEXT_MAX = 64 * 1024;

const LF = 10;
const CR = 13;
const QUOTE = 34;
const SPACE = 32;

/** What parsing one record from `start` found. */
type Parsed =
  | { kind: 'more' }
  | { kind: 'record'; contentEnd: number; end: number; fields: number; lineBreaks: number }
  | { kind: 'malformed'; reason: string; multiLine: boolean };

/**
 * Parses the record at `start` of `buf`. `final`: no bytes follow `buf`.
 * `maxBytes`: a record longer than that is malformed (a quote that never
 * closes would otherwise swallow the rest of the file).
 */
function parseRecord(buf: Buffer, start: number, final: boolean, delim: number, maxBytes: number): Parsed {
  const n = buf.length;
  let i = start;
  let fields = 1;
  // 0: field start, 1: unquoted field, 2: quoted field, 3: after the closing quote.
  let state = 0;
  let lineBreaks = 0;
  for (;;) {
    if (i >= n) {
      if (!final) return { kind: 'more' };
      if (state === 2)
        return { kind: 'malformed', reason: 'Value with unterminated quote found.', multiLine: lineBreaks > 0 };
      return { kind: 'record', contentEnd: n, end: n, fields, lineBreaks };
    }
    const c = buf[i]!;
    if (state === 2) {
      if (i - start > maxBytes)
        return {
          kind: 'malformed',
          reason: `Value with unterminated quote found (record over ${maxBytes} bytes).`,
          multiLine: lineBreaks > 0,
        };
      if (c === QUOTE) {
        if (i + 1 >= n && !final) return { kind: 'more' };
        if (buf[i + 1] === QUOTE) i += 2;
        else {
          state = 3;
          i++;
        }
        continue;
      }
      if (c === LF || c === CR) {
        if (c === CR && buf[i + 1] === LF) i++;
        else if (c === CR && i + 1 >= n && !final) return { kind: 'more' };
        lineBreaks++;
      }
      i++;
      continue;
    }
    if (c === LF || c === CR) {
      if (c === CR && i + 1 >= n && !final) return { kind: 'more' };
      const end = c === CR && buf[i + 1] === LF ? i + 2 : i + 1;
      return { kind: 'record', contentEnd: i, end, fields, lineBreaks: lineBreaks + 1 };
    }
    if (c === delim) {
      fields++;
      state = 0;
    } else if (state === 0) {
      if (c === QUOTE) state = 2;
      else if (c !== SPACE) state = 1;
    } else if (state === 3 && c !== SPACE) {
      return { kind: 'malformed', reason: 'Value with unterminated quote found.', multiLine: lineBreaks > 0 };
    }
    i++;
  }
}

/** Position just after the line ending that ends the physical line containing `from`, or -1 if `buf` has none yet. */
function afterLineEnd(buf: Buffer, from: number, final: boolean): number {
  for (let i = from; i < buf.length; i++) {
    const c = buf[i];
    if (c === LF) return i + 1;
    if (c === CR) {
      if (i + 1 >= buf.length) return final ? i + 1 : -1;
      return buf[i + 1] === LF ? i + 2 : i + 1;
    }
  }
  return final ? buf.length : -1;
}

/** Writes to a stream, waiting when its buffer is full. */
async function put(out: WriteStream, data: string | Buffer): Promise<void> {
  if (!out.write(data)) await once(out, 'drain');
}

async function closeStream(out: WriteStream): Promise<void> {
  out.end();
  await once(out, 'close');
}

/**
 * Splits the CSV file at `path` (inflated on the fly when `gzip`) into
 * `goodPath` and `badPath` (see the module comment). Rejects on a read error
 * (a bad gzip stream among them) or a write error.
 */
export async function splitCsv(
  path: string,
  layout: CsvSplitLayout,
  out: { goodPath: string; badPath: string; gzip?: boolean; maxRecordBytes: number },
): Promise<CsvSplitResult> {
  const delim = layout.delim.charCodeAt(0);
  const good = createWriteStream(out.goodPath, { highWaterMark: 1 << 20 });
  const bad = createWriteStream(out.badPath);
  const result: CsvSplitResult = { records: 0, good: 0, bad: 0 };
  let line = 1;
  let headerPending = layout.header;
  let toSkip = layout.skipLines;
  let carry: Buffer = Buffer.alloc(0);
  let first = true;
  const emitBad = async (text: Buffer, at: number, reason: string): Promise<void> => {
    result.records++;
    result.bad++;
    let t = text.subarray(0, BAD_TEXT_MAX).toString('utf8');
    t = t.replace(/\r?\n$|\r$/, '');
    await put(bad, JSON.stringify({ line: at, reason, text: t }) + '\n');
  };
  const work = async (buf: Buffer, final: boolean): Promise<Buffer> => {
    let pos = 0;
    for (;;) {
      if (pos >= buf.length) return Buffer.alloc(0);
      if (toSkip > 0) {
        const end = afterLineEnd(buf, pos, final);
        if (end < 0) return buf.subarray(pos);
        toSkip--;
        line++;
        pos = end;
        continue;
      }
      const p = parseRecord(buf, pos, final, delim, out.maxRecordBytes);
      if (p.kind === 'more') return buf.subarray(pos);
      if (p.kind === 'malformed') {
        // Cut at the end of the physical line the record starts on; read on from the next one.
        const end = afterLineEnd(buf, pos, final || p.multiLine);
        if (end < 0) return buf.subarray(pos);
        if (headerPending) headerPending = false;
        else await emitBad(buf.subarray(pos, end), line, p.reason);
        line++;
        pos = end;
        continue;
      }
      const blank = p.contentEnd === pos;
      if (blank && layout.fields > 1) {
        line += p.lineBreaks;
        pos = p.end;
        continue;
      }
      if (headerPending) headerPending = false;
      else if (p.fields !== layout.fields && !(layout.lastFieldOptional && p.fields === layout.fields - 1)) {
        await emitBad(
          buf.subarray(pos, p.contentEnd),
          line,
          `Expected Number of Columns: ${layout.fields} Found: ${p.fields}`,
        );
      } else {
        result.records++;
        result.good++;
        await put(good, `${line}${layout.delim}`);
        await put(good, buf.subarray(pos, p.contentEnd));
        await put(good, '\n');
      }
      line += p.lineBreaks;
      pos = p.end;
    }
  };
  try {
    const input = createReadStream(path, { highWaterMark: 1 << 20 });
    const stream = out.gzip ? input.pipe(createGunzip({ chunkSize: 1 << 20 })) : input;
    input.on('error', (e) => stream.destroy(e));
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      if (first) {
        first = false;
        if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
      }
      // Copy what is kept: the chunk's memory is reused by the stream.
      carry = Buffer.from(await work(buf, false));
    }
    await work(carry, true);
  } finally {
    await Promise.all([closeStream(good), closeStream(bad)]);
  }
  return result;
}
