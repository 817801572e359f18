/**
 * Schema inference for `s3c datasource create --s3` (SPEC R11, R1.3): reads a
 * sample file with DuckDB (`read_csv` / `read_json` / `read_parquet`, auto
 * detection on) and turns DuckDB's column types into columns of the schema
 * language, with JSONPaths for NDJSON and Parquet.
 *
 * Type mapping (DuckDB type → schema type; see {@link schemaTypeOfDuckDb}):
 *
 * | DuckDB                                    | Schema                                          |
 * |-------------------------------------------|-------------------------------------------------|
 * | VARCHAR, JSON                             | String                                          |
 * | VARCHAR whose every sampled value is an   | DateTime, or DateTime64(3), (6) or (9) for the  |
 * | ISO date and time (DuckDB's detection     | most fraction digits written                    |
 * | wants one format for all values)          |                                                 |
 * | BOOLEAN                                   | Bool                                            |
 * | TINYINT / SMALLINT / INTEGER / BIGINT     | Int8 / Int16 / Int32 / Int64                    |
 * | UTINYINT / USMALLINT / UINTEGER / UBIGINT | UInt8 / UInt16 / UInt32 / UInt64                |
 * | FLOAT / DOUBLE                            | Float32 / Float64                               |
 * | DECIMAL(p,s)                              | Decimal(p, s)                                   |
 * | DATE                                      | Date                                            |
 * | TIMESTAMP, TIMESTAMP_S/_MS/_NS,           | DateTime when the sample has no fractional      |
 * | TIMESTAMP WITH TIME ZONE                  | seconds, else DateTime64(3), (6) or (9): the    |
 * |                                           | fewest digits that hold every sampled value     |
 * |                                           | (inside Array/Map: the type's own unit)         |
 * | UUID                                      | UUID                                            |
 * | ENUM                                      | LowCardinality(String)                          |
 * | T[] (LIST), T[N] (ARRAY)                  | Array(T)                                        |
 * | MAP(K, V)                                 | Map(K, V); K is String unless an integer, UUID, |
 * |                                           | Date or DateTime type                           |
 * | STRUCT(...) at the top level or in a      | flattened: one column per leaf field, named     |
 * | STRUCT                                    | `parent_child`, path `json:$.parent.child`      |
 * | STRUCT inside a LIST or MAP, empty STRUCT | String (the JSON text of the whole value)       |
 * | HUGEINT, UHUGEINT, BIGNUM, TIME, TIME_TZ, | String (no schema type holds them; the text is  |
 * | INTERVAL, BLOB, BIT, UNION, others        | kept)                                           |
 * | "NULL" (only nulls in the sample)         | Nullable(String)                                |
 *
 * Missing values: a column that held a NULL (an absent key, JSON null, an
 * empty CSV field, a Parquet NULL) anywhere in the sample becomes Nullable(T),
 * except a CSV String column (an empty field loads as '', R4 decisions of the
 * DuckDB sink), an Array (it gets `DEFAULT []`) and a Map (`DEFAULT map()`),
 * which ClickHouse does not allow inside Nullable.
 *
 * Column names: the file's names (CSV header, NDJSON key, Parquet column),
 * always written backquoted so spaces and punctuation are kept; backticks,
 * backslashes and control characters become `_`, surrounding spaces are trimmed, an empty name
 * becomes `column_<n>`, and a name that repeats an earlier one (ignoring case,
 * as DuckDB does) or one of the quarantine table's own columns gets `_2`,
 * `_3`... A field whose key holds a backtick or a control character cannot be
 * written as a JSONPath and is left out (with a note).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { basename, join as joinPath, resolve as resolvePath } from 'node:path';
import { type DuckDBConnection, type DuckDBType, DuckDBInstance, DuckDBTypeId } from '@duckdb/node-api';
import type { Column, ColumnType, FileFormat } from '../datafiles/types';
import { formatColumnType, parseDataSource } from '../datafiles';
import { quarantineTableName, quoteIdent, sqlString } from '../sinks/duckdbTypes';
import { detectCsvDialect, detectCsvLayout, headLines, splitCsvLine } from '../sinks/csvDialect';
import { decodeToUtf8, encodingName, sniffEncoding } from '../sinks/textEncoding';
import { duckdbInternalReason, firstLine, TerminalError } from '../util/errors';
import { DuckDbSink, FileUnreadableError } from '../sinks/duckdb';

/** A column of the inferred schema. */
export interface InferredColumn {
  /** Column name, without backticks. */
  name: string;
  type: ColumnType;
  /** JSONPath of the value (NDJSON and Parquet); none for CSV. */
  jsonPath?: string;
  /** `DEFAULT` expression, for Array and Map columns that had missing values. */
  defaultExpr?: string;
}

/** What {@link inferSchema} found in a sample file. */
export interface InferredSchema {
  columns: InferredColumn[];
  /** Rows read from the sample. */
  rows: number;
  /** Remarks for the user: renamed columns, values kept as text, fields left out. */
  notes: string[];
}

/**
 * Raised when no schema can be inferred from the sample: one line that names
 * the sample's key (never a local path) and says what is wrong.
 */
export class InferenceError extends TerminalError {
  readonly type = 'InferenceError';
}

/** Columns the quarantine table adds (R4.3): a schema column must not take these names. */
export const RESERVED_COLUMN_NAMES: readonly string[] = [
  'c__error_column',
  'c__error',
  'c__import_id',
  'insertion_date',
  'c__object_key',
  'c__line',
];

/** Rows of the sample that inference reads at most. */
export const DEFAULT_MAX_SAMPLE_ROWS = 100_000;

const JSON_KEY = /^[\p{L}\p{N}_$@-]+$/u;
const UNWRITABLE = /[`\u0000-\u001f\u007f]/u;

/**
 * The JSONPath of a field reached by `keys` from the document's root:
 * `$.a.b`, with `$['key with spaces']` for keys that are not plain names.
 *
 * @returns undefined when a key holds a backtick or a control character,
 *   which a column line cannot carry.
 */
export function jsonPathOf(keys: readonly string[]): string | undefined {
  let path = '$';
  for (const key of keys) {
    if (UNWRITABLE.test(key)) return undefined;
    path += JSON_KEY.test(key) ? `.${key}` : `['${key.replace(/[\\']/g, (c) => `\\${c}`)}']`;
  }
  return path;
}

/**
 * A file's column name made fit for a `SCHEMA` line: backticks, backslashes
 * (a trailing one would escape the closing backtick) and control characters
 * become `_` and surrounding spaces are trimmed.
 *
 * @returns undefined when nothing is left (the caller numbers the column).
 */
export function sanitizeColumnName(raw: string): string | undefined {
  const name = raw.replace(/[`\\\u0000-\u001f\u007f]/gu, '_').trim();
  return name === '' ? undefined : name;
}

/**
 * Gives each of `names` (already sanitized, or undefined for "no name") a
 * unique name: undefined becomes `column_<position>`, and a name equal
 * (ignoring case) to an earlier one or to a {@link RESERVED_COLUMN_NAMES} entry
 * gets the first free suffix `_2`, `_3`...
 */
export function uniqueColumnNames(names: readonly (string | undefined)[]): string[] {
  const taken = new Set(RESERVED_COLUMN_NAMES.map((n) => n.toLowerCase()));
  return names.map((n, i) => {
    const base = n ?? `column_${i + 1}`;
    let name = base;
    for (let k = 2; taken.has(name.toLowerCase()); k++) name = `${base}_${k}`;
    taken.add(name.toLowerCase());
    return name;
  });
}

/** Fraction digits a timestamp type can hold (0, 3, 6 or 9), or undefined for non-timestamps. */
export function timestampDigits(type: DuckDBType): 0 | 3 | 6 | 9 | undefined {
  switch (type.typeId) {
    case DuckDBTypeId.TIMESTAMP_S:
      return 0;
    case DuckDBTypeId.TIMESTAMP_MS:
      return 3;
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 6;
    case DuckDBTypeId.TIMESTAMP_NS:
      return 9;
    default:
      return undefined;
  }
}

const STRING: ColumnType = { kind: 'String' };
const INT_BITS: Partial<Record<DuckDBTypeId, { bits: 8 | 16 | 32 | 64; signed: boolean }>> = {
  [DuckDBTypeId.TINYINT]: { bits: 8, signed: true },
  [DuckDBTypeId.SMALLINT]: { bits: 16, signed: true },
  [DuckDBTypeId.INTEGER]: { bits: 32, signed: true },
  [DuckDBTypeId.BIGINT]: { bits: 64, signed: true },
  [DuckDBTypeId.UTINYINT]: { bits: 8, signed: false },
  [DuckDBTypeId.USMALLINT]: { bits: 16, signed: false },
  [DuckDBTypeId.UINTEGER]: { bits: 32, signed: false },
  [DuckDBTypeId.UBIGINT]: { bits: 64, signed: false },
};

/** Schema type and, when the value is kept as text, why. */
export interface MappedType {
  type: ColumnType;
  /** The DuckDB type's text, set when it has no schema counterpart and the value is kept as text. */
  asText?: string;
}

/**
 * Maps a DuckDB type to a schema type (the table of the module doc). A
 * top-level STRUCT is flattened by the caller before it gets here; a STRUCT
 * met here (inside a LIST or MAP) makes the whole value String (its JSON text).
 *
 * @param fractionDigits - for timestamps: the fraction digits the sample
 *   needs (0 gives DateTime); defaults to what the type can hold.
 */
export function schemaTypeOfDuckDb(type: DuckDBType, fractionDigits?: number): MappedType {
  const ints = INT_BITS[type.typeId];
  if (ints) return { type: { kind: 'Int', ...ints } };
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.SQLNULL:
      return { type: STRING };
    case DuckDBTypeId.BOOLEAN:
      return { type: { kind: 'Bool' } };
    case DuckDBTypeId.FLOAT:
      return { type: { kind: 'Float', bits: 32 } };
    case DuckDBTypeId.DOUBLE:
      return { type: { kind: 'Float', bits: 64 } };
    case DuckDBTypeId.DECIMAL:
      return { type: { kind: 'Decimal', precision: type.width, scale: type.scale } };
    case DuckDBTypeId.DATE:
      return { type: { kind: 'Date' } };
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_NS: {
      const max = timestampDigits(type) ?? 6;
      const digits = Math.min(max, fractionDigits ?? max);
      return { type: digits === 0 ? { kind: 'DateTime' } : { kind: 'DateTime64', precision: digits } };
    }
    case DuckDBTypeId.UUID:
      return { type: { kind: 'UUID' } };
    case DuckDBTypeId.ENUM:
      return { type: { kind: 'LowCardinality', inner: STRING } };
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const element = schemaTypeOfDuckDb(type.valueType);
      if (element.asText !== undefined) return { type: STRING, asText: type.toString() };
      return { type: { kind: 'Array', element: element.type } };
    }
    case DuckDBTypeId.MAP: {
      const value = schemaTypeOfDuckDb(type.valueType);
      if (value.asText !== undefined) return { type: STRING, asText: type.toString() };
      const key = schemaTypeOfDuckDb(type.keyType).type;
      const keyOk = key.kind === 'Int' || key.kind === 'UUID' || key.kind === 'Date' || key.kind === 'DateTime';
      return { type: { kind: 'Map', key: keyOk ? key : STRING, value: value.type } };
    }
    case DuckDBTypeId.STRUCT:
      return { type: STRING, asText: type.toString() };
    default:
      return { type: STRING, asText: type.toString() };
  }
}

/**
 * The column's final type and DEFAULT, given whether the sample held missing
 * values in it (see "Missing values" in the module doc).
 */
export function withMissingValues(type: ColumnType, nullsSeen: boolean, format: FileFormat): { type: ColumnType; defaultExpr?: string } {
  if (!nullsSeen) return { type };
  if (type.kind === 'Array') return { type, defaultExpr: '[]' };
  if (type.kind === 'Map') return { type, defaultExpr: 'map()' };
  if (type.kind === 'Nullable') return { type };
  if (format === 'csv' && (type.kind === 'String' || (type.kind === 'LowCardinality' && type.inner.kind === 'String'))) return { type };
  if (type.kind === 'LowCardinality') return { type: { kind: 'LowCardinality', inner: { kind: 'Nullable', inner: type.inner } } };
  return { type: { kind: 'Nullable', inner: type } };
}

/** One `SCHEMA` line (without the trailing comma): `` `name` Type `json:$.path` DEFAULT expr ``. */
export function columnLine(column: InferredColumn): string {
  return (
    `\`${column.name}\` ${formatColumnType(column.type)}` +
    (column.jsonPath !== undefined ? ` \`json:${column.jsonPath}\`` : '') +
    (column.defaultExpr !== undefined ? ` DEFAULT ${column.defaultExpr}` : '')
  );
}

/** The inferred columns as parser `Column`s (for `defaultSortingKey`). */
export function asColumns(columns: readonly InferredColumn[]): Column[] {
  return columns.map((c, i) => ({
    name: c.name,
    type: c.type,
    typeText: formatColumnType(c.type),
    line: i + 1,
    ...(c.jsonPath !== undefined ? { jsonPath: c.jsonPath } : {}),
    ...(c.defaultExpr !== undefined ? { defaultExpr: c.defaultExpr } : {}),
  }));
}

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

/** ISO-8601 date and time as text (`T` or space, optional fraction and offset). */
const DATE_TIME_TEXT = '\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\\s*([Zz]|UTC|[+-][0-9]{2}(:?[0-9]{2})?)?\\s*';
/** A date (or date and time) in another order or with other separators than ISO 8601: 09/21/2012, 1-1-2016, 31.05.2018 10:00 EST. */
const OTHER_DATE_TEXT = '\\s*([0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4}|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+\\s*[A-Za-z]{3,5})([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?(\\s*[AaPp][Mm])?(\\s*[A-Za-z]{2,5})?)?\\s*';
const DATE_TIME_FRACTION = ':[0-9]{2}[.,]([0-9]+)';

/** DateTime, or DateTime64(3|6|9) for the fewest digits that hold `digits` written fraction digits. */
export function dateTimeOfDigits(digits: number): ColumnType {
  if (!(digits > 0)) return { kind: 'DateTime' };
  return { kind: 'DateTime64', precision: digits <= 3 ? 3 : digits <= 6 ? 6 : 9 };
}

interface Leaf {
  keys: string[];
  expr: string;
  type: DuckDBType;
}

function flatten(keys: string[], expr: string, type: DuckDBType, out: Leaf[]): void {
  if (type.typeId === DuckDBTypeId.STRUCT && type.entryCount > 0) {
    type.entryNames.forEach((entry, i) => {
      flatten([...keys, entry], `struct_extract(${expr}, ${sqlString(entry)})`, type.entryTypes[i] as DuckDBType, out);
    });
    return;
  }
  out.push({ keys, expr, type });
}

/** Options of {@link inferSchema}. */
export interface InferOptions {
  /** Rows of the sample read at most ({@link DEFAULT_MAX_SAMPLE_ROWS}). */
  maxRows?: number;
  /** The object the sample comes from, named in messages (never the local path). */
  key?: string;
  /** DuckDB memory limit of inference and of the trial load ({@link DEFAULT_INFERENCE_MEMORY}). */
  memoryLimit?: string;
  /** Time allowed to read the sample, in ms ({@link DEFAULT_INFERENCE_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** Memory DuckDB may use while inferring (a value that inflates past it fails the inference, quickly). */
export const DEFAULT_INFERENCE_MEMORY = '1GB';
/** Time allowed to read a sample before inference gives up. */
export const DEFAULT_INFERENCE_TIMEOUT_MS = 60_000;

/** Bytes of a text sample read to tell its encoding and CSV layout (as the loader does). */
const HEAD_BYTES = 64 * 1024;
const HEAD_MAX = 1024 * 1024;

/** The first bytes of a file: HEAD_BYTES, or up to HEAD_MAX until a line has ended. */
function readHeadBytes(path: string): { bytes: Buffer; complete: boolean } {
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
function headText(head: { bytes: Buffer; complete: boolean }): string {
  let text = head.bytes.toString('utf8');
  const nl = text.lastIndexOf('\n');
  if (!head.complete && nl >= 0) text = text.slice(0, nl);
  return text;
}

/** Turns a DuckDB error into a line a user can act on: no local paths, no DuckDB error class. */
function humanMessage(err: unknown, paths: readonly string[], key: string): string {
  let m = firstLine(err);
  for (const p of paths) m = m.split(p).join(key);
  m = m.replace(/^(Invalid Input|Binder|Conversion|IO|Parser|Catalog|Not implemented|Invalid Configuration|Out of Range) Error: /, '');
  m = m.replace(/\s*Try auto-detecting the JSON format\.?/, '');
  // DuckDB's own bug on this file (as the loader says it: see classify in the sink).
  m = duckdbInternalReason(m) ?? m;
  return m;
}

/** A DuckDB connection whose statements give up at a deadline (interrupted) and say so. */
class BoundedConnection {
  private timedOut = false;
  constructor(
    private readonly conn: DuckDBConnection,
    private readonly deadline: number,
    private readonly why: () => string,
  ) {}

  async run<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const left = this.deadline - Date.now();
    if (left <= 0) throw new InferenceError(this.why());
    const timer = setTimeout(() => {
      this.timedOut = true;
      this.conn.interrupt();
    }, left);
    try {
      return await fn(this.conn);
    } catch (err) {
      if (this.timedOut) throw new InferenceError(this.why());
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What reading a sample needs: the reader, and remarks on how it was read. */
interface SampleRead {
  reader: string;
  /** CSV: the layout the loader will find, and the fields of the header. */
  csv?: { layout: CsvReadLayout; headerFields?: string[]; lines: string[] };
  /** Every column is text: integers and numbers in it are typed by inference. */
  numbersInText?: boolean;
  notes: string[];
}

/** Tells the encoding of a text sample and decodes it to UTF-8 in `work` when the loader would. */
async function utf8Sample(path: string, work: string, key: string, notes: string[]): Promise<string> {
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

/**
 * CSV: the loader's layout (comment lines, delimiter: csvDialect), fields
 * split as the loader splits them (csvReadOptions); DuckDB decides the header
 * and the types. A file DuckDB cannot sniff that way is read again skipping
 * the rows it cannot split (they are quarantined by the loader too).
 */
async function prepareCsv(path: string, work: string, key: string, db: BoundedConnection): Promise<SampleRead> {
  const notes: string[] = [];
  const plain = await utf8Sample(path, work, key, notes);
  const lines = headLines(headText(readHeadBytes(plain)));
  const { delim, skipLines } = detectCsvLayout(lines);
  const sniff = async (tolerant: boolean) =>
    db.run(async (c) => {
      const r = await c.runAndReadAll(
        `SELECT HasHeader AS h FROM sniff_csv(${sqlString(plain)}, ${csvReadOptions({ delim, skipLines })}, sample_size = -1` +
          `${tolerant ? ', ignore_errors = true, null_padding = true' : ''})`,
      );
      return r.getRowObjectsJS()[0]?.h === true;
    });
  const records = lines.slice(skipLines).filter((l) => l.trim() !== '');
  if (skipLines > 0) notes.push(`the first ${skipLines} line${skipLines === 1 ? ' is a comment' : 's are comments'} (starting with #): skipped, as the loader does`);
  const headerFieldsOf = (header: boolean) =>
    header && records[0] !== undefined ? { headerFields: splitCsvLine(records[0], delim).map((f) => f.trim()) } : {};
  for (const tolerant of [false, true]) {
    try {
      const header = (await sniff(tolerant)) && !looksLikeData(records);
      const layout: CsvReadLayout = { delim, skipLines, header, tolerant };
      return { reader: readerSql(plain, 'csv', layout), csv: { layout, lines, ...headerFieldsOf(header) }, notes };
    } catch (err) {
      if (err instanceof InferenceError) throw err;
    }
  }
  // DuckDB's sniffer gives up (records of varying length): every field as text, in the loader's
  // field count; the first record is a header when it has that many fields, none of them empty or a number.
  const counts = new Map<number, number>();
  for (const l of records.slice(0, 20)) {
    const n = splitCsvLine(l, delim).length;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  const fields = [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0] ?? 1;
  const first = splitCsvLine(records[0] ?? '', delim).map((f) => f.trim());
  const header = first.length === fields && first.every((f) => f !== '' && !/^[-+]?[0-9.,eE]+$/.test(f));
  const layout: CsvReadLayout = { delim, skipLines, header, tolerant: true };
  const columns = Array.from({ length: fields }, (_, k) => `${sqlString(header ? (first[k] as string) : `column${k}`)}: 'VARCHAR'`);
  notes.push('DuckDB could not detect the column types (the records vary in length): numbers are typed, other columns are String');
  return {
    reader:
      `read_csv(${sqlString(plain)}, ${csvReadOptions(layout)}, header = ${header}, auto_detect = false, ` +
      `columns = {${columns.join(', ')}}, ignore_errors = true, null_padding = true)`,
    csv: { layout, lines, ...headerFieldsOf(header) },
    numbersInText: true,
    notes,
  };
}

/** A record's shape: runs of digits, of letters and of spaces each become one character. */
function shapeOf(record: string): string {
  return record.trim().replace(/\p{N}+/gu, '9').replace(/\p{L}+/gu, 'a').replace(/\s+/g, ' ');
}

/**
 * Whether a first record DuckDB takes for a header is data: it holds digits
 * and has the shape of the record after it (`1 2 3` over `4 5 6`), or it is
 * one field of mostly numbers separated by spaces (a fixed-width table read
 * as one text column). DuckDB has no type evidence there, and the loader
 * would drop the record as a header.
 */
export function looksLikeData(records: readonly string[]): boolean {
  const [first, second] = records;
  if (first === undefined) return false;
  if (second !== undefined && /\p{N}/u.test(first) && shapeOf(first) === shapeOf(second)) return true;
  // One field (no delimiter) of numbers separated by spaces, as in a fixed-width table.
  const tokens = first.trim().split(/\s+/);
  const numbers = tokens.filter((t) => /^[-+]?[0-9]+([.,][0-9]*)?([eE][-+]?[0-9]+)?$/.test(t)).length;
  return !/[,\t;|]/.test(first) && tokens.length >= 3 && numbers * 2 > tokens.length;
}

/** The start of a line for a message. */
function excerpt(line: string): string {
  const t = line.trim();
  return JSON.stringify(t.length > 60 ? `${t.slice(0, 60)}…` : t);
}

/**
 * NDJSON: the lines the loader takes as records (valid JSON objects, as its
 * tolerant path decides them) are the sample; other lines are quarantined by
 * the loader, and a file with none is refused here with the reason.
 */
async function prepareNdjson(path: string, work: string, key: string, db: BoundedConnection): Promise<SampleRead> {
  const notes: string[] = [];
  const plain = await utf8Sample(path, work, key, notes);
  const lines =
    `SELECT row_number() OVER () AS n, l FROM read_csv(${sqlString(plain)}, columns = {'l': 'VARCHAR'}, header = false, ` +
    `auto_detect = false, delim = chr(1), quote = '', escape = '', ignore_errors = true)`;
  const classified = `SELECT n, l, json_valid(l) AS valid, json_valid(l) AND left(ltrim(l), 1) = '{' AS obj FROM (${lines}) WHERE l IS NOT NULL AND trim(l) <> ''`;
  const stats = await db.run(async (c) => {
    const r = await c.runAndReadAll(
      `SELECT count(*) AS total, count(*) FILTER (WHERE obj) AS objects, ` +
        // JSON functions only ever see valid JSON ('0' stands in for the rest: DuckDB may evaluate both branches).
        `count(*) FILTER (WHERE obj AND json_keys(CASE WHEN obj THEN l ELSE '{}' END) <> []) AS keyed, ` +
        `min(n) FILTER (WHERE NOT obj) AS bad_n, arg_min(l, n) FILTER (WHERE NOT obj) AS bad_l, ` +
        `arg_min(CASE WHEN valid THEN json_type(CASE WHEN valid THEN l ELSE '0' END) END, n) FILTER (WHERE NOT obj) AS bad_type, ` +
        `count(*) FILTER (WHERE NOT obj) AS bad FROM (${classified})`,
    );
    return r.getRowObjectsJS()[0] ?? {};
  });
  const total = Number(stats.total ?? 0);
  const objects = Number(stats.objects ?? 0);
  const bad = Number(stats.bad ?? 0);
  const badLine = stats.bad_n === null || stats.bad_n === undefined ? undefined : Number(stats.bad_n);
  const badText = typeof stats.bad_l === 'string' ? stats.bad_l : '';
  const badType = typeof stats.bad_type === 'string' ? stats.bad_type.toLowerCase() : undefined;
  const whatIsBad = (): string =>
    badType === undefined
      ? `line ${badLine} is not valid JSON (${excerpt(badText)})`
      : `line ${badLine} is a JSON ${badType === 'array' ? 'array' : badType === 'varchar' ? 'string' : badType}, not an object (${excerpt(badText)})`;
  if (total === 0) throw new InferenceError(`${key} has no data (not one line): there is nothing to infer a schema from`);
  if (objects === 0) {
    if (total > 1 && badType === undefined) {
      const whole = await db.run(async (c) => {
        const r = await c.runAndReadAll(`SELECT json_valid(string_agg(l, chr(10) ORDER BY n)) AS ok FROM (${lines})`);
        return r.getRowObjectsJS()[0]?.ok === true;
      });
      if (whole) {
        throw new InferenceError(
          `${key} is not NDJSON: ${whatIsBad()}; the file looks like one JSON document spread over ${total} lines (pretty-printed), ` +
            'where NDJSON has one JSON object per line',
        );
      }
    }
    throw new InferenceError(`${key} has no JSON object on a line of its own, as NDJSON records are: ${whatIsBad()}`);
  }
  if (Number(stats.keyed ?? 0) === 0) {
    throw new InferenceError(`every JSON object of ${key} is empty ({}): there is no field to make a column of`);
  }
  if (bad === 0) return { reader: readerSql(plain, 'ndjson'), notes };
  // Only the objects: the loader quarantines the other lines.
  const objectsPath = joinPath(work, 'objects.ndjson');
  const kept = await db.run(async (c) => {
    const r = await c.runAndReadAll(`SELECT l FROM (${classified}) WHERE obj ORDER BY n`);
    return r.getRowObjectsJS().map((row) => String(row.l));
  });
  fs.writeFileSync(objectsPath, `${kept.join('\n')}\n`);
  notes.push(`${bad} of ${total} lines of the sample are not JSON objects (${whatIsBad()}): the loader quarantines such lines`);
  return { reader: readerSql(objectsPath, 'ndjson'), notes };
}

/**
 * Infers the schema of a local, uncompressed sample file with an in-memory
 * DuckDB and checks it with the loader (the rules are the loader's, applied
 * by its own code):
 *
 * 1. Read the sample as the loader reads it: text decoded to UTF-8 as the
 *    loader decodes it (textEncoding); CSV fields split in the loader's layout
 *    (csvDialect: delimiter, comment lines; DuckDB decides header and types);
 *    NDJSON lines that are JSON objects only (the loader quarantines the
 *    others).
 * 2. Map DuckDB's types (module doc), counting missing values, fraction
 *    digits, NULL elements of lists and maps in at most `maxRows` rows.
 * 3. Trial load: the sample is loaded with the real DuckDB sink and this
 *    schema. A column whose values the loader refuses is widened (a NULL
 *    element makes the element Nullable, a missing value makes the column
 *    Nullable or gives it a DEFAULT, any other refused value makes it String:
 *    e.g. a date written 09/21/2012, which the loader does not read as Date,
 *    see convertFromString), and the load is tried again. Rows the loader
 *    quarantines for their own shape (a CSV line with the wrong number of
 *    fields, a line that is not a JSON object) are named in a note.
 *
 * Bounded: DuckDB gets `memoryLimit` and reading stops after `timeoutMs`;
 * both end in an InferenceError saying so.
 *
 * @throws InferenceError when the sample cannot be read, with a message that
 *   names `key` (never a local path) and what is wrong.
 */
export async function inferSchema(path: string, format: FileFormat, options: InferOptions = {}): Promise<InferredSchema> {
  const maxRows = options.maxRows ?? DEFAULT_MAX_SAMPLE_ROWS;
  const key = options.key ?? basename(path);
  const memoryLimit = options.memoryLimit ?? DEFAULT_INFERENCE_MEMORY;
  const timeoutMs = options.timeoutMs ?? DEFAULT_INFERENCE_TIMEOUT_MS;
  const work = fs.mkdtempSync(joinPath(os.tmpdir(), 's3c-infer-'));
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const paths = [work, path];
  const human = (err: unknown): InferenceError => {
    const named = (m: string) => new InferenceError(m.includes(key) ? m : `${key}: ${m}`);
    if (err instanceof InferenceError) return named(humanMessage(err, paths, key));
    const m = firstLine(err);
    if (/^Out of Memory Error/i.test(m)) {
      return new InferenceError(
        `reading ${key} needs more than ${memoryLimit} of memory (its values inflate that much once decoded, e.g. a large map or list): no schema inferred`,
      );
    }
    const duplicate = /in line ([0-9]+): Object .* has duplicate key "(.*)"$/.exec(m);
    if (duplicate) {
      return named(
        `line ${duplicate[1]} of ${key} is an object with the key ${JSON.stringify(duplicate[2])} twice, which DuckDB's JSON reader refuses: ` +
          'no schema inferred (remove the repeated key)',
      );
    }
    return named(humanMessage(err, paths, key));
  };
  try {
    await conn.run(`SET memory_limit = ${sqlString(memoryLimit)}`);
    await conn.run(`SET temp_directory = ${sqlString(joinPath(work, 'spill'))}`);
    await conn.run("SET max_temp_directory_size = '256MB'");
    const db = new BoundedConnection(
      conn,
      Date.now() + timeoutMs,
      () => `reading ${key} took more than ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}: no schema inferred`,
    );
    const read: SampleRead =
      format === 'csv'
        ? await prepareCsv(path, work, key, db)
        : format === 'ndjson'
          ? await prepareNdjson(path, work, key, db)
          : { reader: readerSql(path, 'parquet'), notes: [] };
    const sampled = await sampleColumns(db, read, format, maxRows);
    const notes = [...read.notes, ...sampled.notes];
    const checked = await checkWithLoader(sampled.columns, path, format, key, memoryLimit);
    notes.push(...checked.notes);
    if (sampled.rows === 0) notes.push('the sample has no rows: check the types');
    return { columns: checked.columns, rows: sampled.rows, notes };
  } catch (err) {
    throw human(err);
  } finally {
    conn.closeSync();
    instance.closeSync();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const AGGREGATES_PER_QUERY = 100;

/** Reads the sample and maps its columns (steps 1 and 2 of {@link inferSchema}). */
async function sampleColumns(
  db: BoundedConnection,
  read: SampleRead,
  format: FileFormat,
  maxRows: number,
): Promise<{ columns: InferredColumn[]; rows: number; notes: string[] }> {
  const { names, types } = await db.run(async (c) => {
    const described = await c.runAndReadAll(`SELECT * FROM ${read.reader} LIMIT 0`);
    return { names: described.columnNames(), types: described.columnTypes() };
  });
  // Columns are renamed by position: a file's name may hold what an identifier cannot (a NUL).
  const aliases = names.map((_, i) => quoteIdent(`s3c_c${i}`));
  await db.run((c) => c.run(`CREATE TEMP TABLE s3c_sample AS SELECT * FROM ${read.reader} AS s3c_t(${aliases.join(', ')}) LIMIT ${maxRows}`));

  const fileNames = read.csv?.headerFields?.length === names.length ? read.csv.headerFields : names;
  const leaves: Leaf[] = [];
  fileNames.forEach((name, i) => flatten([name], aliases[i] as string, types[i] as DuckDBType, leaves));

  const aggregates = ['count(*) AS n'];
  leaves.forEach((leaf, i) => {
    aggregates.push(`count(${leaf.expr}) AS c${i}`);
    if (leaf.type.typeId === DuckDBTypeId.VARCHAR && leaf.type.alias === undefined) {
      // Text that is a date and time throughout (DuckDB's detection wants one format for all values).
      aggregates.push(
        `count(${leaf.expr}) FILTER (WHERE regexp_full_match(${leaf.expr}, ${sqlString(DATE_TIME_TEXT)}) ` +
          `AND TRY_CAST(${leaf.expr} AS TIMESTAMPTZ) IS NOT NULL) AS t${i}`,
        `max(length(regexp_extract(${leaf.expr}, ${sqlString(DATE_TIME_FRACTION)}, 1))) AS tf${i}`,
      );
      // Dates and times not in ISO 8601 (09/21/2012, 1-1-2016 10:00 EST): String, with a note.
      aggregates.push(`count(*) FILTER (WHERE regexp_full_match(${leaf.expr}, ${sqlString(OTHER_DATE_TEXT)})) AS od${i}`);
      aggregates.push(`min(${leaf.expr}) AS ox${i}`);
      if (read.numbersInText) {
        aggregates.push(`count(TRY_CAST(${leaf.expr} AS BIGINT)) FILTER (WHERE regexp_full_match(${leaf.expr}, '[-+]?[0-9]+')) AS ni${i}`);
        aggregates.push(`count(TRY_CAST(${leaf.expr} AS DOUBLE)) AS nf${i}`);
      }
    }
    if (leaf.type.typeId === DuckDBTypeId.LIST || leaf.type.typeId === DuckDBTypeId.ARRAY) {
      // A NULL element makes the element type Nullable.
      aggregates.push(`count(*) FILTER (WHERE list_count(${leaf.expr}) < len(${leaf.expr})) AS e${i}`);
    } else if (leaf.type.typeId === DuckDBTypeId.MAP) {
      aggregates.push(`count(*) FILTER (WHERE list_count(map_values(${leaf.expr})) < len(map_values(${leaf.expr}))) AS e${i}`);
    }
    const digits = timestampDigits(leaf.type);
    if (digits !== undefined && digits > 0) {
      // Sub-second part in micro- (or nano-) seconds; the fewest digits that hold it.
      const sub = digits === 9 ? `(nanosecond(${leaf.expr}) % 1000000000)` : `(microsecond(${leaf.expr}) % 1000000)`;
      const steps = digits === 9 ? [[1000000, 3], [1000, 6]] : [[1000, 3]];
      aggregates.push(
        `max(CASE WHEN ${sub} = 0 THEN 0 ${steps.map(([m, d]) => `WHEN ${sub} % ${m} = 0 THEN ${d} `).join('')}ELSE ${digits} END) ` +
          `FILTER (WHERE ${leaf.expr} IS NOT NULL) AS f${i}`,
      );
    }
  });
  // In statements of at most AGGREGATES_PER_QUERY: DuckDB plans one with thousands of them (a
  // file of 1,362 columns) in tens of seconds.
  const stats: Record<string, unknown> = {};
  for (let k = 0; k < aggregates.length; k += AGGREGATES_PER_QUERY) {
    const part = aggregates.slice(k, k + AGGREGATES_PER_QUERY);
    Object.assign(
      stats,
      await db.run(async (c) => (await c.runAndReadAll(`SELECT ${part.join(', ')} FROM s3c_sample`)).getRowObjectsJS()[0] ?? {}),
    );
  }
  const rows = Number(stats.n ?? 0);

  const notes: string[] = [];
  const kept: { leaf: Leaf; index: number; path?: string }[] = [];
  leaves.forEach((leaf, index) => {
    if (format === 'csv') {
      kept.push({ leaf, index });
      return;
    }
    const path = jsonPathOf(leaf.keys);
    if (path === undefined) {
      notes.push(`left out the field ${JSON.stringify(leaf.keys.join('.'))}: a JSONPath cannot hold a backtick or a control character`);
      return;
    }
    kept.push({ leaf, index, path });
  });

  const wanted = kept.map(({ leaf }) => sanitizeColumnName(leaf.keys.join('_')));
  const unique = uniqueColumnNames(wanted);
  let columns: InferredColumn[] = kept.map(({ leaf, index, path }, k) => {
    const fileName = leaf.keys.join(format === 'csv' ? '' : '.');
    const name = unique[k] as string;
    if (format !== 'csv' && name !== (wanted[k] ?? '')) notes.push(`column ${JSON.stringify(fileName)} is named \`${name}\``);
    const digitsSeen = stats[`f${index}`];
    const nonNull = Number(stats[`c${index}`] ?? 0);
    const dateTimeText = nonNull > 0 && Number(stats[`t${index}`] ?? -1) === nonNull;
    const numbers = nonNull > 0 && Number(stats[`ni${index}`] ?? -1) === nonNull ? 'int' : nonNull > 0 && Number(stats[`nf${index}`] ?? -1) === nonNull ? 'float' : undefined;
    const mapped: MappedType = dateTimeText
      ? { type: dateTimeOfDigits(Number(stats[`tf${index}`] ?? 0)) }
      : numbers === 'int'
        ? { type: { kind: 'Int', bits: 64, signed: true } }
        : numbers === 'float'
          ? { type: { kind: 'Float', bits: 64 } }
          : schemaTypeOfDuckDb(leaf.type, digitsSeen === null || digitsSeen === undefined ? 0 : Number(digitsSeen));
    if (mapped.asText !== undefined) notes.push(`column \`${name}\` is ${mapped.asText} in the file: kept as String`);
    if (mapped.type.kind === 'String' && nonNull > 0 && Number(stats[`od${index}`] ?? -1) === nonNull) {
      notes.push(
        `column \`${name}\` holds dates or times not written in ISO 8601 (such as ${JSON.stringify(String(stats[`ox${index}`]))}): kept as String. ` +
          'The loader reads Date and DateTime from ISO 8601 text only (2012-09-21, 2012-09-21 10:00:00), because 01/02/2012 is a different day in different files',
      );
    }
    const nullsSeen = rows > 0 && nonNull < rows;
    const base = Number(stats[`e${index}`] ?? 0) > 0 ? withNullableElements(mapped.type) : mapped.type;
    const final = withMissingValues(base, nullsSeen, format);
    return {
      name,
      type: final.type,
      ...(path !== undefined ? { jsonPath: path } : {}),
      ...(final.defaultExpr !== undefined ? { defaultExpr: final.defaultExpr } : {}),
    };
  });
  if (read.csv) columns = addressableCsvColumns(columns, read.csv, notes);
  return { columns, rows, notes };
}

/** Array(T) → Array(Nullable(T)), Map(K, V) → Map(K, Nullable(V)) when the element can be Nullable; else unchanged. */
export function withNullableElements(type: ColumnType): ColumnType {
  const nullable = (t: ColumnType): ColumnType | undefined =>
    t.kind === 'Nullable' ? t : t.kind === 'LowCardinality' || t.kind === 'Array' || t.kind === 'Map' ? undefined : { kind: 'Nullable', inner: t };
  if (type.kind === 'Array') {
    const e = nullable(type.element);
    return e ? { kind: 'Array', element: e } : type;
  }
  if (type.kind === 'Map') {
    const v = nullable(type.value);
    return v ? { kind: 'Map', key: type.key, value: v } : type;
  }
  return type;
}

/**
 * CSV with a header: the loader finds a column by its name in the header
 * (csvDialect), or an unnamed one by its place, so a column whose header
 * field repeats an earlier name cannot be found: it is left out, with a note
 * (with no header, columns go by position and every one is kept).
 */
function addressableCsvColumns(
  columns: InferredColumn[],
  csv: NonNullable<SampleRead['csv']>,
  notes: string[],
): InferredColumn[] {
  const header = csv.headerFields;
  if (!csv.layout.header || header === undefined || header.length !== columns.length) {
    columns.forEach((c, i) => {
      if (header !== undefined && c.name !== header[i]) notes.push(`column ${JSON.stringify(header[i] ?? '')} is named \`${c.name}\``);
    });
    return columns;
  }
  const dialect = detectCsvDialect(csv.lines, columns.map((c) => c.name), { delimiter: csv.layout.delim });
  const keep: InferredColumn[] = [];
  columns.forEach((c, i) => {
    const field = header[i] ?? '';
    if (dialect.index[i] === i) {
      keep.push(c);
      if (c.name !== field) notes.push(`column ${JSON.stringify(field)} is named \`${c.name}\``);
    } else if (field === '') {
      notes.push(`left out field ${i + 1} of the header: it has no name, so the loader cannot find its values (name it in the file to load it)`);
    } else {
      notes.push(
        `left out field ${i + 1} of the header (${JSON.stringify(field)}): the name is used by an earlier field, so the loader cannot find its values`,
      );
    }
  });
  return keep;
}

/** Rounds of the trial load at most (each widens every column the loader refused). */
const MAX_TRIALS = 5;

/** A column's type widened after the loader refused a value of it (see inferSchema, step 3). */
export function widenAfterRefusal(column: InferredColumn, missing: boolean, refused: boolean): InferredColumn {
  let { type, defaultExpr } = column;
  if (refused) {
    const elements = withNullableElements(type);
    if (elements !== type && formatColumnType(elements) !== formatColumnType(type)) type = elements;
    else {
      type = type.kind === 'Nullable' ? { kind: 'Nullable', inner: STRING } : STRING;
      defaultExpr = undefined;
    }
  }
  if (missing) {
    const m = withMissingValues(type, true, 'ndjson');
    type = m.type;
    if (m.defaultExpr !== undefined) defaultExpr = m.defaultExpr;
  }
  const { defaultExpr: _drop, ...rest } = column;
  return { ...rest, type, ...(defaultExpr !== undefined ? { defaultExpr } : {}) };
}

/**
 * Step 3 of {@link inferSchema}: loads the sample with the DuckDB sink and the
 * columns, widens the columns it refuses, and tries again until every row
 * that is not malformed in the file loads.
 */
async function checkWithLoader(
  start: InferredColumn[],
  path: string,
  format: FileFormat,
  key: string,
  memoryLimit: string,
): Promise<{ columns: InferredColumn[]; notes: string[] }> {
  const notes: string[] = [];
  if (start.length === 0) return { columns: start, notes };
  let columns = start;
  const work = fs.mkdtempSync(joinPath(os.tmpdir(), 's3c-trial-'));
  // The sink's DuckDB reads files only in the folders it is given: ours, where the sample is linked.
  const sink = await DuckDbSink.open(':memory:', { memoryLimit, fileDirectories: [work] });
  try {
    // The sink writes decoded copies beside the file: it gets a link in our own folder. A hard
    // link (a copy across file systems): the sink's DuckDB reads only in `work`, and resolves symlinks.
    const local = joinPath(work, `sample.${format}`);
    try {
      fs.linkSync(resolvePath(path), local);
    } catch {
      fs.copyFileSync(resolvePath(path), local);
    }
    const size = fs.statSync(path).size;
    for (let round = 1; ; round++) {
      // Not s3c_*: that prefix is reserved for the product's own tables, and parseDataSource refuses it.
      const name = `infer_trial_${round}`;
      const text = `SCHEMA >\n${columns.map((c, i) => `    ${columnLine(c)}${i < columns.length - 1 ? ',' : ''}`).join('\n')}\n\nENGINE "MergeTree"\n`;
      const ds = parseDataSource(text, `${name}.datasource`);
      let result;
      try {
        result = await sink.ingestFile({
          dataSource: ds,
          localPath: local,
          format,
          compression: 'none',
          bucket: 'sample',
          key,
          etag: `infer-${round}`,
          size,
          lastModified: new Date().toISOString(),
          jobId: 'infer',
          recordInLedger: false,
        });
      } catch (err) {
        if (err instanceof FileUnreadableError) throw new InferenceError(`the loader cannot read ${key}: ${err.reason}`);
        throw err;
      }
      if (result.quarantined === 0) return { columns, notes };
      const q = quoteIdent(quarantineTableName(name));
      const byColumn = (
        await sink.query(
          `SELECT col, bool_or(starts_with(err, 'missing value')) AS missing, bool_or(NOT starts_with(err, 'missing value')) AS refused, ` +
            `min(err) FILTER (WHERE NOT starts_with(err, 'missing value')) AS example, count(*) AS n ` +
            `FROM (SELECT unnest(c__error_column) AS col, unnest(c__error) AS err FROM ${q} WHERE len(c__error_column) > 0) GROUP BY col`,
        )
      ).map((r) => ({ col: String(r.col), missing: r.missing === true, refused: r.refused === true, example: r.example === null ? undefined : String(r.example) }));
      if (byColumn.length === 0 || round >= MAX_TRIALS) {
        if (byColumn.length > 0) {
          const first = byColumn[0]!;
          throw new InferenceError(`the loader still refuses values of column \`${first.col}\` of ${key} after ${round} tries: ${first.example ?? 'missing values'}`);
        }
        // What is left is malformed in the file itself: the loader quarantines it whatever the schema.
        const shape = (
          await sink.query(`SELECT count(*) AS n, arg_min(c__error[1], c__line) AS first FROM ${q} WHERE len(c__error_column) = 0`)
        )[0];
        const n = Number(shape?.n ?? 0);
        const first = String(shape?.first ?? '');
        notes.push(
          `${n} record${n === 1 ? '' : 's'} of the sample ${n === 1 ? 'is' : 'are'} malformed in the file and will be quarantined whatever the schema` +
            (first !== '' ? ` (${first.length > 160 ? `${first.slice(0, 160)}…` : first})` : ''),
        );
        return { columns, notes };
      }
      const failing = new Map(byColumn.map((b) => [b.col, b]));
      columns = columns.map((c) => {
        const f = failing.get(c.name);
        if (!f) return c;
        const widened = widenAfterRefusal(c, f.missing, f.refused);
        const was = formatColumnType(c.type);
        const now = formatColumnType(widened.type);
        if (f.refused && widened.type.kind !== 'Array' && widened.type.kind !== 'Map' && now !== was) {
          const value = /^value '(.*)' on column '/s.exec(f.example ?? '')?.[1];
          const shown = value === undefined ? '' : ` such as ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
          const dates = /^(Nullable\()?(Date|DateTime)/.test(was)
            ? ' (Date and DateTime read ISO 8601 text such as 2024-01-31 and 2024-01-31 10:00:00; other forms are ambiguous between files, e.g. 01/02/2024)'
            : '';
          notes.push(`column \`${c.name}\` is ${now}, not ${was}: the loader does not read values${shown} as ${was.replace(/^Nullable\((.*)\)$/, '$1')}${dates}`);
        } else if (now !== was || widened.defaultExpr !== c.defaultExpr) {
          notes.push(`column \`${c.name}\` is ${now}${widened.defaultExpr !== undefined ? ` DEFAULT ${widened.defaultExpr}` : ''}: the sample has ${f.refused ? 'NULL elements' : 'missing values'} in it`);
        }
        return widened;
      });
    }
  } finally {
    await sink.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
