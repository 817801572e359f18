/**
 * What the load path (singleFile.ts, batch.ts) works with: the connection a
 * destination set up (see connection.ts), the read planners made so far, and
 * the diagnostics it reports. A destination owns one and serialises its use.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { FileFormat, DataSourceDef } from '../../datafiles/types';
import { fileFailure, FileUnreadableError } from '../errors';
import type { IngestFileInput } from '../destination';
import { formatReader, type PlannerCache, type ReadPlan } from './formats';
import { classify } from './readErrors';

/** How the loads went, for tests and the benchmark. */
export interface LoadDiagnostics {
  /**
   * How the last single-file load that read a file loaded it — `fast`
   * (one pass, every row good), `tolerant` (bad rows: the two-pass path) or
   * `empty` (nothing to read).
   */
  lastLoadPath: 'fast' | 'tolerant' | 'empty' | undefined;
  /**
   * Batched statements committed and the files they loaded; calls, and the
   * turns they were loaded in (fewer when calls waited together).
   */
  readonly batchStats: { batches: number; files: number; calls: number; turns: number };
}

export interface LoadContext {
  conn: DuckDBConnection;
  planners: PlannerCache;
  diagnostics: LoadDiagnostics;
  /** Runs in the transaction of every ledger write, before it (see ConnectionSetup.claimVersions). */
  claimVersions?: ClaimVersions;
}

/** What a destination adds to the transaction that records `versions` in the ledger (e.g. a DuckLake's conflict tokens). */
export type ClaimVersions = (conn: DuckDBConnection, versions: IngestFileInput[]) => Promise<void>;

/** Builds the read plan of a non-empty file (`gzip`: CSV or NDJSON read compressed). */
export function planRead(
  ctx: LoadContext,
  ds: DataSourceDef,
  format: FileFormat,
  path: string,
  gzip = false,
): Promise<ReadPlan> {
  return formatReader(format).plan(ctx, ds, path, gzip);
}

/** How a batch reads one of its files, or why the file cannot be read (other errors are thrown). */
export async function planFile(
  ctx: LoadContext,
  input: IngestFileInput,
  plainPath: string,
): Promise<ReadPlan | FileUnreadableError> {
  try {
    return await planRead(ctx, input.dataSource, input.format, plainPath);
  } catch (e) {
    const err = classify(e, fileFailure(input), [plainPath, input.localPath], input.key);
    if (err instanceof FileUnreadableError) return err;
    throw err;
  }
}
