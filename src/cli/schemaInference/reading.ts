/**
 * Reading a sample as the loader reads it: the DuckDB table function and its
 * CSV options, the head of a text file, and its encoding (decoded to UTF-8
 * when the loader would decode it).
 */
import * as fs from 'node:fs';
import { join as joinPath } from 'node:path';
import type { FileFormat } from '../../datafiles/types';
import { sqlString } from '../../sinks/duckdbTypes';
import { decodeToUtf8, encodingName, sniffEncoding } from '../../sinks/textEncoding';
import { firstLine } from '../../util/errors';
import { InferenceError } from './model';

/**
 * DuckDB table function that reads a plain (not gzip) sample file of a
 * format. CSV: `layout` is the loader's (delimiter, comment lines, header;
 * see {@link csvReadOptions}); without it DuckDB's sniffer decides.
 */
export function readerSql(path: string, format: FileFormat, layout?: CsvReadLayout): string {
  const p = sqlString(path);
  switch (format) {
    case 'csv':
      return layout
        ? `read_csv(${p}, ${csvReadOptions(layout)}, header = ${layout.header ? 'true' : 'false'}, auto_detect = true, sample_size = -1${layout.tolerant ? ', ignore_errors = true, null_padding = true' : ''})`
        : `read_csv(${p}, auto_detect = true, sample_size = -1)`;
    case 'ndjson':
      return `read_json(${p}, format = 'newline_delimited', records = true, sample_size = -1)`;
    case 'parquet':
      return `read_parquet(${p})`;
  }
}

/** The loader's CSV layout, as inference reads it (see inferSchema). */
export interface CsvReadLayout {
  delim: string;
  skipLines: number;
  header: boolean;
  /** Rows DuckDB cannot split are skipped (the loader quarantines them). */
  tolerant?: boolean;
}

/**
 * read_csv options that split fields as the loader does (csvPlanner of the
 * DuckDB sink): its delimiter and comment lines, `"` quotes, and only an
 * unquoted empty field or `\N` is a missing value; dates are ISO dates.
 */
export function csvReadOptions(layout: { delim: string; skipLines: number }): string {
  return (
    `delim = ${sqlString(layout.delim)}, skip = ${layout.skipLines}, quote = '"', escape = '"', allow_quoted_nulls = false, nullstr = ['', '\\N'], ` +
    // The loader reads ISO dates only (see convertFromString); DuckDB's sniffer would pick one date
    // format for the whole file (1-1-2016 as %d-%m-%Y, and then an ISO date column as TIMESTAMP).
    "dateformat = '%Y-%m-%d'"
  );
}

/** Bytes of a text sample read to tell its encoding and CSV layout (as the loader does). */
const HEAD_BYTES = 64 * 1024;
const HEAD_MAX = 1024 * 1024;

/** The first bytes of a file: HEAD_BYTES, or up to HEAD_MAX until a line has ended. */
export function readHeadBytes(path: string): { bytes: Buffer; complete: boolean } {
  const fd = fs.openSync(path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    let want = Math.min(size, HEAD_BYTES);
    let bytes = Buffer.alloc(0);
    for (;;) {
      const buf = Buffer.alloc(want);
      const n = fs.readSync(fd, buf, 0, want, 0);
      bytes = buf.subarray(0, n);
      if (n >= size || bytes.includes(10) || want >= HEAD_MAX) break;
      want = Math.min(size, HEAD_MAX);
    }
    return { bytes, complete: bytes.length >= size };
  } finally {
    fs.closeSync(fd);
  }
}

/** The text of a head: cut after its last complete line unless it is the whole file. */
export function headText(head: { bytes: Buffer; complete: boolean }): string {
  let text = head.bytes.toString('utf8');
  const nl = text.lastIndexOf('\n');
  if (!head.complete && nl >= 0) text = text.slice(0, nl);
  return text;
}

/** What reading a sample needs: the reader, and remarks on how it was read. */
export interface SampleRead {
  reader: string;
  /** CSV: the layout the loader will find, and the fields of the header. */
  csv?: { layout: CsvReadLayout; headerFields?: string[]; lines: string[] };
  /** Every column is text: integers and numbers in it are typed by inference. */
  numbersInText?: boolean;
  notes: string[];
}

/** Tells the encoding of a text sample and decodes it to UTF-8 in `work` when the loader would. */
export async function utf8Sample(path: string, work: string, key: string, notes: string[]): Promise<string> {
  const head = readHeadBytes(path);
  if (head.bytes.length === 0) return path;
  const verdict = sniffEncoding(head.bytes, head.complete);
  if (verdict.kind === 'refuse') throw new InferenceError(`${key}: ${verdict.reason}`);
  if (verdict.kind === 'utf-8') return path;
  const out = joinPath(work, 'sample.utf8');
  try {
    await decodeToUtf8(path, out, verdict.encoding, false);
  } catch (err) {
    throw new InferenceError(`${key}: ${firstLine(err)}`);
  }
  notes.push(`the sample is ${encodingName(verdict.encoding)}: it is decoded to UTF-8, as the loader does`);
  return out;
}
