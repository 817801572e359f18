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
 * always written backquoted so spaces and punctuation are kept; backticks and
 * control characters become `_`, surrounding spaces are trimmed, an empty name
 * becomes `column_<n>`, and a name that repeats an earlier one (ignoring case,
 * as DuckDB does) or one of the quarantine table's own columns gets `_2`,
 * `_3`... A field whose key holds a backtick or a control character cannot be
 * written as a JSONPath and is left out (with a note).
 */
import { type DuckDBType, DuckDBInstance, DuckDBTypeId } from '@duckdb/node-api';
import type { Column, ColumnType, FileFormat } from '../datafiles/types';
import { formatColumnType } from '../datafiles';
import { quoteIdent, sqlString } from '../sinks/duckdbTypes';

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

/** Raised when DuckDB cannot read the sample; the message is DuckDB's first line. */
export class InferenceError extends Error {
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
 * A file's column name made fit for a `SCHEMA` line: backticks and control
 * characters become `_` and surrounding spaces are trimmed.
 *
 * @returns undefined when nothing is left (the caller numbers the column).
 */
export function sanitizeColumnName(raw: string): string | undefined {
  const name = raw.replace(/[`\u0000-\u001f\u007f]/gu, '_').trim();
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

/** DuckDB table function that reads a plain (not gzip) sample file of a format. */
export function readerSql(path: string, format: FileFormat): string {
  const p = sqlString(path);
  switch (format) {
    case 'csv':
      return `read_csv(${p}, auto_detect = true, sample_size = -1)`;
    case 'ndjson':
      return `read_json(${p}, format = 'newline_delimited', sample_size = -1)`;
    case 'parquet':
      return `read_parquet(${p})`;
  }
}

/** ISO-8601 date and time as text (`T` or space, optional fraction and offset). */
const DATE_TIME_TEXT = '\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\\s*([Zz]|UTC|[+-][0-9]{2}(:?[0-9]{2})?)?\\s*';
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

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (message.split('\n').find((l) => l.trim() !== '') ?? message).trim();
}

/**
 * Infers the schema of a local, uncompressed sample file with an in-memory
 * DuckDB: reads at most `maxRows` rows with the format's reader (auto
 * detection over the whole sample), flattens STRUCTs, counts missing values
 * and the fraction digits of timestamps, and maps each column (module doc).
 *
 * @throws InferenceError when DuckDB cannot read the file.
 */
export async function inferSchema(path: string, format: FileFormat, options: { maxRows?: number } = {}): Promise<InferredSchema> {
  const maxRows = options.maxRows ?? DEFAULT_MAX_SAMPLE_ROWS;
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    let names: string[];
    let types: DuckDBType[];
    try {
      await conn.run(`CREATE TEMP TABLE s3c_sample AS SELECT * FROM ${readerSql(path, format)} LIMIT ${maxRows}`);
      const described = await conn.runAndReadAll('SELECT * FROM s3c_sample LIMIT 0');
      names = described.columnNames();
      types = described.columnTypes();
    } catch (err) {
      throw new InferenceError(firstLine(err));
    }

    const leaves: Leaf[] = [];
    names.forEach((name, i) => flatten([name], quoteIdent(name), types[i] as DuckDBType, leaves));

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
    let stats: Record<string, unknown>;
    try {
      const r = await conn.runAndReadAll(`SELECT ${aggregates.join(', ')} FROM s3c_sample`);
      stats = r.getRowObjectsJS()[0] ?? {};
    } catch (err) {
      throw new InferenceError(firstLine(err));
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
    const columns: InferredColumn[] = kept.map(({ leaf, index, path }, k) => {
      const fileName = leaf.keys.join(format === 'csv' ? '' : '.');
      const name = unique[k] as string;
      if (format === 'csv' ? name !== fileName : name !== (wanted[k] ?? '')) {
        notes.push(`column ${JSON.stringify(fileName)} is named \`${name}\``);
      }
      const digitsSeen = stats[`f${index}`];
      const nonNull = Number(stats[`c${index}`] ?? 0);
      const dateTimeText = nonNull > 0 && Number(stats[`t${index}`] ?? -1) === nonNull;
      const mapped = dateTimeText
        ? { type: dateTimeOfDigits(Number(stats[`tf${index}`] ?? 0)) }
        : schemaTypeOfDuckDb(leaf.type, digitsSeen === null || digitsSeen === undefined ? 0 : Number(digitsSeen));
      if (mapped.asText !== undefined) notes.push(`column \`${name}\` is ${mapped.asText} in the file: kept as String`);
      const nullsSeen = rows > 0 && Number(stats[`c${index}`] ?? 0) < rows;
      const base = mapped.type;
      const final = withMissingValues(base, nullsSeen, format);
      return {
        name,
        type: final.type,
        ...(path !== undefined ? { jsonPath: path } : {}),
        ...(final.defaultExpr !== undefined ? { defaultExpr: final.defaultExpr } : {}),
      };
    });
    if (format === 'csv' && columns.some((c, i) => c.name !== (kept[i]?.leaf.keys[0] ?? ''))) {
      notes.push('a renamed CSV column no longer matches the header: the columns will be matched by position');
    }
    if (rows === 0) notes.push('the sample has no rows: check the types');
    return { columns, rows, notes };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
