/** DuckDB's errors on reading a file, told apart from errors that are not about the file. */
import { duckdbInternalReason, firstLine } from '../../util/errors';
import { ParquetFooterError } from '../parquetFooter';
import { FileUnreadableError, type FileFailure } from '../errors';

/**
 * Maps a DuckDB error raised while reading a file to a FileUnreadableError.
 * Errors that are not about the file (they neither match a known file problem
 * nor name the file, e.g. the database disk is full) pass through unchanged, so
 * that the activity is retried rather than the file given up.
 */
export function classify(e: unknown, fail: FileFailure, paths: string[], key: string): Error {
  if (e instanceof FileUnreadableError) return e;
  if (e instanceof ParquetFooterError) return fail(e.message);
  const msg = firstLine(e);
  // DuckDB's own bug on this file's content (parquet-cpp's example file): the same file raises it again.
  const internal = duckdbInternalReason(msg);
  if (internal) return fail(internal);
  // Retrying the same file under the same memory limit cannot heal this.
  if (/^Out of Memory Error/i.test(msg)) {
    const detail = msg.replace(/^Out of Memory Error:\s*/i, '');
    return fail(
      `DuckDB ran out of memory loading this file (${detail}); raise duckdbMemoryLimit in s3c.yaml (S3C_DUCKDB_MEMORY_LIMIT) or split the file`,
      true,
    );
  }
  const codec = /Unsupported compression codec "?([A-Za-z0-9_]+)"?/i.exec(msg);
  if (codec) return fail(`unsupported codec ${codec[1]!.toUpperCase()} in Parquet file`);
  if (/too small to be a Parquet file|No magic bytes|not a parquet file|magic bytes/i.test(msg)) {
    return fail('not a Parquet file (no Parquet magic bytes)');
  }
  if (/No files found that match/i.test(msg) && paths.some((p) => msg.includes(p))) return fail('file not found');
  const full = e instanceof Error ? e.message : String(e);
  if (/^(IO|Invalid Input|Invalid|Serialization|Conversion) Error/i.test(msg) && paths.some((p) => full.includes(p))) {
    let reason = msg.replace(/^[A-Za-z ]*Error:\s*/, '');
    for (const p of paths) reason = reason.replaceAll(p, key);
    return fail(reason);
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** A statement DuckDB cannot even plan: a bug here, never bad data. */
export function isPlanningBug(e: unknown): boolean {
  return /^(Binder|Parser|Catalog|Not implemented|Internal) Error/i.test(firstLine(e));
}
