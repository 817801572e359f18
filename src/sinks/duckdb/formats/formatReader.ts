/**
 * How a file format is read by DuckDB: one FormatReader per format (csv.ts,
 * ndjson.ts, parquet.ts, registered in index.ts) plans the SQL that reads a
 * file as raw columns `s3c_r<i>`, one per schema column; the load path
 * (../singleFile.ts, ../batch.ts) converts and inserts them. A reader knows
 * nothing of the destination: it may ask DuckDB about a file (DESCRIBE) on
 * the connection it is given, never touch a table.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { CountFormat } from '../../recordCount';
import type { CsvSplitLayout } from '../../csvSplit';
import type { DataSourceDef } from '../../../datafiles/types';
import type { PlannerCache } from './plannerCache';

/** How a format is read: the strict relation, the tolerant relation, line numbering. */
export interface ReadPlan {
  /** SELECT producing columns s3c_r<i> (raw values), strict: any structural problem raises. */
  fastSource: string;
  /**
   * (CSV has none: its tolerant source reads the splitter's output, `csv.split`.)
   * Tolerant SELECT producing s3c_r<i> and s3c_bad (NULL, or the error text of
   * a whole line); when `numbered`, also s3c_rn (1-based, file order) and, for
   * CSV/NDJSON, the structural rejects in TEMP table s3c_rejects.
   */
  tolerantSource?: (numbered: boolean, bigLines: boolean) => string;
  /** Per schema column: SQL converting the raw value `s3c_r<i>` (NULL on failure). */
  conversions: string[];
  /** Per schema column: SQL giving the raw value as text for the quarantine table. */
  rawText: string[];
  /**
   * Lines before the first data row (CSV header); undefined → no reject tables (Parquet).
   * `prefixDelim`: the file read is the CSV splitter's output, each record
   * prefixed by its line and this delimiter (see csvSplit), and the
   * splitter's malformed records are in NDJSON file `splitBad`.
   */
  rejects?: { headerLines: number; kind: 'csv' | 'ndjson'; prefixDelim?: string; splitBad?: string };
  /** CSV: the file's layout (how its records are counted). */
  csv?: CsvSplitLayout;
  /**
   * Sorts the file's records out before the tolerant path reads it (CSV: the
   * splitter writes the well-formed records apart from the malformed ones):
   * the tolerant source and rejects over its output, and the records it
   * counted, which are then the records seen. Without it the tolerant path
   * reads the file itself.
   */
  sortRecords?: (
    file: SortedFile,
  ) => Promise<{ records: number } & Required<Pick<ReadPlan, 'tolerantSource' | 'rejects'>>>;
  /** Parquet: the rows its footer declares. */
  footerRows?: number;
  /**
   * Strict SELECT over several files read the same way (same options and
   * conversions): s3c_r<i> plus `s3c_file`, the path the row came from.
   * Undefined when the format cannot be read that way (e.g. a key named `filename`).
   */
  batchSource?: (paths: string[]) => string;
  /**
   * `fastSource` over a named pipe that carries this file's text inflated
   * (see feedGzipThroughFifo). CSV only: NDJSON is never piped.
   */
  pipeSource?: (pipe: string) => string;
}

/** The file `sortRecords` reads, and where it may write. */
export interface SortedFile {
  path: string;
  /** The file is read gzip-compressed. */
  gzip: boolean;
  /** A new temporary path beside the download, removed after the load. */
  tempPath: (suffix: string) => string;
}

/** What a reader may use while planning: DuckDB (to ask about a file) and the planners made so far. */
export interface PlanContext {
  conn: DuckDBConnection;
  planners: PlannerCache;
}

/** The reading of one file format. */
export interface FormatReader {
  /**
   * Text formats are checked for their encoding (and decoded to UTF-8 when
   * needed) and read gzip-compressed as they are; other formats are inflated
   * to a file first.
   */
  readonly text: boolean;
  /** What a gzip check counts as it inflates a file of this format (text formats). */
  readonly gzipCounts?: CountFormat;
  /** A gzip file is fed to DuckDB inflated through a named pipe (see feedGzipThroughFifo). */
  readonly pipesGzip: boolean;
  /** Plans the read of a non-empty file (`gzip`: a text file read compressed). */
  plan(ctx: PlanContext, ds: DataSourceDef, path: string, gzip: boolean): Promise<ReadPlan>;
}
