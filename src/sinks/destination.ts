/**
 * What a destination is to the rest of the product (SPEC R4, R5.3, R10.1):
 * the operations the activities, the worker and the CLI call, whatever holds
 * the tables. The DuckDB file (`duckdb/sink.ts`, the embedded default)
 * implements it. Another DuckDB-based destination (a DuckLake catalog) is a
 * folder beside it with its own class implementing this interface: its
 * connect step (`ConnectionSetup.attachTables` in duckdb/connection.ts)
 * attaches the lake and makes it the default catalog, and it reuses the load
 * path as it is (`loadFile` of duckdb/singleFile.ts, wrapped in its retry of
 * commit conflicts, and `loadFiles` of duckdb/batch.ts, given that wrapper
 * for the files it loads one by one). The format readers
 * (duckdb/formats/) know nothing of either.
 *
 * Every implementation keeps exactly once: the rows, the quarantine rows and
 * the ledger entry of an object version commit together, and a version
 * already in the ledger loads nothing.
 */
import type { CountFormat } from './recordCount';
import type { GzipVerdict } from './gzipCheck';
import type { DataSourceDef, FileFormat, TtlRule } from '../datafiles/types';
import type { FileUnreadableError } from './errors';
import type { SqlRequest, SqlResult } from '../contract/sql';

/** One object version to load. */
export interface IngestFileInput {
  /** The data source: its name and schema. */
  dataSource: DataSourceDef;
  /** Path of the downloaded object on local disk. */
  localPath: string;
  /** Format of the object (from its extension or IMPORT_FORMAT). */
  format: FileFormat;
  /** Compression of the object (`.gz` → gzip). */
  compression: 'gzip' | 'none';
  /** The object version: bucket, key, ETag, size in bytes, last modified (ISO-8601). */
  bucket: string;
  key: string;
  etag: string;
  size: number;
  lastModified: string;
  /** The job (sync run, sample) that loads it; written to `c__import_id` and the ledger. */
  jobId: string;
  /**
   * Whether to consult and write the ledger (default true). Sample imports
   * (R6.1) load rows without touching it, so a later sync still loads the file.
   */
  recordInLedger?: boolean;
  /**
   * The check of the gzip stream at `localPath`, already under way (it
   * followed the download: see checkGzipWhileWritten). Without it, a gzip
   * CSV load checks the stream as it feeds DuckDB, a gzip NDJSON load starts
   * its own check.
   */
  gzipCheck?: Promise<GzipVerdict>;
  /** What `gzipCheck` counts as it inflates (see recordCounter), if anything. */
  gzipCheckCounts?: CountFormat;
  /**
   * Set while the object is still being downloaded to `localPath` (which
   * exists, and grows): resolves with its final size, rejects when the
   * download failed. A plain CSV is then loaded as it arrives; the load
   * commits only once the whole download is in (see feedGrowingFile).
   */
  downloaded?: Promise<number>;
}

/** What loading one object version did. */
export interface IngestFileResult {
  /** Rows loaded into the typed table. */
  rows: number;
  /** Rows sent to the quarantine table. */
  quarantined: number;
  /** True when the version was already in the ledger and nothing was loaded. */
  alreadyLoaded: boolean;
  /** The job that loaded it (the earlier job when `alreadyLoaded`). */
  jobId: string;
  /** When it was loaded (ISO-8601, UTC). */
  loadedAt: string;
}

/** What `ingestFiles` did with one input: its result, or why the file could not be read. */
export type IngestFilesOutcome = { ok: true; result: IngestFileResult } | { ok: false; error: FileUnreadableError };

/** One row of the ledger `s3c_ledger`: an object version loaded into a data source. */
export interface LedgerEntry {
  dataSource: string;
  bucket: string;
  key: string;
  etag: string;
  size: number;
  rows: number;
  quarantined: number;
  jobId: string;
  loadedAt: string;
}

/** A place the rows of data sources are loaded into, with its ledger. */
export interface Destination {
  /**
   * The one directory of the machine whose files the destination may read:
   * the activities download into folders under it.
   */
  readonly scratchDir: string;
  /** Creates, if missing, the data source's table, its quarantine table and the ledger. Idempotent. */
  ensureTables(ds: DataSourceDef): Promise<void>;
  /** Replaces the sample tables of a data source with empty ones (R6.1). */
  replaceSampleTables(ds: DataSourceDef): Promise<void>;
  /**
   * Loads one object version in one transaction with its quarantine rows and
   * ledger entry; the earlier result (`alreadyLoaded`) when the ledger has it.
   * Throws FileUnreadableError when the file cannot be read at all.
   */
  ingestFile(input: IngestFileInput): Promise<IngestFileResult>;
  /** Loads several object versions, one outcome per input, in order. */
  ingestFiles(inputs: IngestFileInput[]): Promise<IngestFilesOutcome[]>;
  /** The ledger entry of a loaded version (ETag compared without quotes), if any. */
  findLoaded(dataSource: string, key: string, etag: string): Promise<LedgerEntry | undefined>;
  /** The ledger entries of several versions of one bucket, keyed by versionKey. */
  findLoadedMany(
    dataSource: string,
    bucket: string,
    versions: { key: string; etag: string }[],
  ): Promise<Map<string, LedgerEntry>>;
  /** Every ledger entry of a data source, oldest first. */
  ledger(dataSource: string): Promise<LedgerEntry[]>;
  /** Deletes the rows of `table` whose ENGINE_TTL has passed at `now`; how many. */
  expireRows(table: string, rule: TtlRule, now: Date): Promise<number>;
  /** Runs a read-only SQL query (inspection: the CLI, the demo, tests). */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /**
   * Runs a user's query (`s3c sql`, `GET /v0/sql`): exactly one read-only
   * statement that reaches no file, on a connection of its own so that it
   * sees the rows committed so far while loads run, within the request's
   * row, byte and time limits. Throws SqlRefusedError, SqlQueryError or
   * SqlTimeoutError (contract/sql.ts). A DuckDB-based destination reuses
   * `runReadOnlyQuery` of duckdb/sqlQuery.ts with its own connect step (a
   * lake's connection attaches the lake and USEs it).
   */
  runSql(request: SqlRequest): Promise<SqlResult>;
  /** Number of rows of a table. */
  rowCount(table: string): Promise<number>;
  /** Waits for running operations, then releases everything the destination holds. */
  close(): Promise<void>;
}
