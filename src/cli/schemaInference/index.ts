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
 *
 * The steps have a file each: reading the sample as the loader does
 * (reading.ts, csvSample.ts, ndjsonSample.ts), typing its columns
 * (sampling.ts, typeMapping.ts, names.ts), and the trial load with the
 * loader (trialLoad.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { basename, join as joinPath } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FileFormat } from '../../datafiles/types';
import { sqlString } from '../../sinks/duckdbTypes';
import { BoundedConnection } from './boundedConnection';
import { prepareCsv } from './csvSample';
import { inferenceFailure } from './failures';
import {
  DEFAULT_INFERENCE_MEMORY,
  DEFAULT_INFERENCE_TIMEOUT_MS,
  DEFAULT_MAX_SAMPLE_ROWS,
  type InferOptions,
  type InferredSchema,
} from './model';
import { prepareNdjson } from './ndjsonSample';
import { type SampleRead, readerSql } from './reading';
import { sampleColumns } from './sampling';
import { checkWithLoader } from './trialLoad';

export { looksLikeData } from './csvSample';
export {
  DEFAULT_INFERENCE_MEMORY,
  DEFAULT_INFERENCE_TIMEOUT_MS,
  DEFAULT_MAX_SAMPLE_ROWS,
  type InferOptions,
  type InferredColumn,
  type InferredSchema,
  InferenceError,
} from './model';
export { RESERVED_COLUMN_NAMES, jsonPathOf, sanitizeColumnName, uniqueColumnNames } from './names';
export { type CsvReadLayout, csvReadOptions, readerSql } from './reading';
export { asColumns, columnLine } from './render';
export { widenAfterRefusal } from './trialLoad';
export {
  type MappedType,
  dateTimeOfDigits,
  schemaTypeOfDuckDb,
  timestampDigits,
  withMissingValues,
  withNullableElements,
} from './typeMapping';

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
export async function inferSchema(
  path: string,
  format: FileFormat,
  options: InferOptions = {},
): Promise<InferredSchema> {
  const maxRows = options.maxRows ?? DEFAULT_MAX_SAMPLE_ROWS;
  const key = options.key ?? basename(path);
  const memoryLimit = options.memoryLimit ?? DEFAULT_INFERENCE_MEMORY;
  const timeoutMs = options.timeoutMs ?? DEFAULT_INFERENCE_TIMEOUT_MS;
  const work = fs.mkdtempSync(joinPath(os.tmpdir(), 's3c-infer-'));
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run(`SET memory_limit = ${sqlString(memoryLimit)}`);
    await conn.run(`SET temp_directory = ${sqlString(joinPath(work, 'spill'))}`);
    await conn.run("SET max_temp_directory_size = '256MB'");
    const db = new BoundedConnection(
      conn,
      Date.now() + timeoutMs,
      () => `reading ${key} took more than ${durationText(timeoutMs)}: no schema inferred`,
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
    throw inferenceFailure(err, [work, path], key, memoryLimit);
  } finally {
    conn.closeSync();
    instance.closeSync();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A timeout as a user reads it: milliseconds under a second, else whole seconds. */
function durationText(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}
