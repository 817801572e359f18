/**
 * The DuckDB destination (SPEC R4, R5.3, R10.1; DESIGN "Data flow of one file").
 *
 * `DuckDbSink.ingestFile` takes an object version already downloaded to local
 * disk and, in ONE DuckDB transaction, loads its good rows into the data
 * source's typed table, its bad rows into `<name>_quarantine`, and records the
 * version in the ledger `s3c_ledger`. A version already in the ledger is not
 * loaded again: its earlier result is returned with `alreadyLoaded: true`.
 *
 * The folder, one concern per file:
 * - sink.ts: the DuckDB file destination (open, serialise, reopen, close);
 *   ../destination.ts is the interface it implements.
 * - connection.ts: the connect step (settings, the tables' catalog, file access).
 * - singleFile.ts, batch.ts: the load paths; strictInsert.ts, tolerantInsert.ts
 *   (with scratchTables.ts): the inserts they run; ledger.ts, tables.ts.
 * - formats/: one FormatReader per format, planning the read of a file.
 * - readErrors.ts, ../errors.ts: which errors are the file's, and their messages.
 *
 * SQL strategy (no row ever crosses into JavaScript):
 *
 * 1. Fast path, one pass: `INSERT INTO t SELECT <converted> FROM read_xxx(...)`
 *    where every value is converted with TRY semantics and a row that does not
 *    convert raises `error()`. Clean files (the common case) are thus read once,
 *    at about the speed of a bare `INSERT ... SELECT * FROM read_csv(...)`.
 *    CSV: read_csv with explicit all-VARCHAR columns, auto_detect=false.
 *    NDJSON: read_json with the top-level keys as VARCHAR/JSON columns (or, when
 *    a column uses `$`, each line as one VARCHAR and one json_extract_string).
 *    Parquet: read_parquet, JSONPaths resolved against the file's schema.
 * 2. If the fast path fails on data (a bad value, a CSV row with the wrong
 *    number of fields, an invalid NDJSON line, …) the transaction is rolled back
 *    and the tolerant path runs, two streaming passes: one inserts the good rows,
 *    one numbers rows in file order and keeps only the bad ones (few) in a TEMP
 *    table; structural rejects (lines DuckDB cannot split) come from read_csv's
 *    `store_rejects`. Nothing is staged in full, so memory stays flat.
 *    Worst case (a bad row at the very end) is ~3 reads of the file.
 *
 * Gzip CSV and NDJSON: DuckDB silently stops at a truncated gzip stream, and
 * a truncated file must fail (R4.4), so node:zlib inflates the whole stream
 * on a thread to verify every gzip trailer, and nothing commits before that
 * check has passed. CSV: the fast path reads the text zlib inflates, through
 * a named pipe (feedGzipThroughFifo), one inflate instead of two. NDJSON:
 * DuckDB reads the gzip file itself, beside a check that may have started
 * while the object downloaded (`gzipCheck`). Gzip Parquet
 * (and the files of a multi-file batch) are inflated to a temporary file first.
 * Plain CSV (one large file, from the ingest activity): DuckDB reads the
 * object while it still downloads, through a named pipe fed from the growing
 * file (feedGrowingFile, `downloaded`), which counts its records on the way;
 * the commit waits for the whole download, and the tolerant path reads the
 * complete file. Temp files and pipes are always removed.
 *
 * Decisions where the spec is silent:
 * - CSV header: the first line is a header when, split on the delimiter, it
 *   contains every schema column name (any order; extra columns are ignored).
 *   Delimiter: `,` unless `\t`, `;` or `|` splits the first line into the
 *   schema's columns (or its header). Quote and escape `"` (RFC 4180).
 * - CSV empty field: NULL for Nullable columns, '' for non-Nullable String /
 *   FixedString columns, DEFAULT when there is one, else a "missing value"
 *   quarantine. `""` is the empty string; `\N` is NULL.
 * - A missing value (absent key, JSON null, empty CSV field, Parquet NULL) of a
 *   non-Nullable column without DEFAULT is quarantined with
 *   `missing value on column 'x' (Int32 is not Nullable)`.
 * - Ints refuse fractions ('1.5' is not an Int32, '2.0' is 2). DateTime text
 *   with an offset is converted to UTC; without one it is UTC (or wall time in
 *   the column's zone for DateTime('tz')); integers are epoch seconds.
 * - NDJSON: blank lines are skipped; a line that is not JSON or not an object
 *   is quarantined with the raw line in `c__error`, all columns NULL, and an
 *   empty `c__error_column`. Same for CSV rows DuckDB cannot split.
 * - `c__line` is the physical line for NDJSON and for CSV (one record per line
 *   assumed), the 1-based row for Parquet. `insertion_date` = `loadedAt`.
 * - ETags are stored and compared without surrounding quotes. A 0-byte object
 *   is an empty file whatever its format.
 */
export { DuckDbSink } from './sink';
export { SINK_SETTINGS } from './connection';
export { FileUnreadableError, OutOfMemoryError, RecordCountMismatchError } from '../errors';
export type { Destination, IngestFileInput, IngestFileResult, IngestFilesOutcome, LedgerEntry } from '../destination';
export {
  sampleDataSource,
  tableDdl,
  quarantineTableName,
  LEDGER_TABLE,
  duckDbType,
  renderDefault,
} from '../duckdbTypes';
export { parseJsonPath } from '../duckdbConvert';
