/**
 * The row count a Parquet file's footer declares, read by us (hyparquet's
 * Thrift decoder), not by DuckDB: the load invariant then compares DuckDB's
 * rows with a count DuckDB did not make, and a footer DuckDB's metadata
 * functions choke on cannot reach them. (`parquet_file_metadata` on
 * parquet-cpp's own example file raised an INTERNAL error that invalidated
 * the whole database: every later load of the worker failed.)
 */
import { open } from 'node:fs/promises';
import { parquetMetadata } from 'hyparquet';
import { TerminalError } from '../util/errors';

/** Bigger footers are refused, not read into memory (real ones are KiB to a few MiB). */
export const MAX_FOOTER_BYTES = 64 << 20;

/** A file whose footer cannot be read: its reason is for the user. */
export class ParquetFooterError extends TerminalError {
  override name = 'ParquetFooterError';
}

const MAGIC = 'PAR1';

/** The rows the footer of the Parquet file at `path` declares. */
export async function parquetFooterRows(path: string): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size < 12) throw new ParquetFooterError('not a Parquet file (no Parquet magic bytes)');
    const tail = Buffer.alloc(8);
    await fh.read(tail, 0, 8, size - 8);
    const magic = tail.toString('latin1', 4, 8);
    if (magic === 'PARE')
      throw new ParquetFooterError('the Parquet file is encrypted (PARE footer), which is not supported');
    if (magic !== MAGIC) throw new ParquetFooterError('not a Parquet file (no Parquet magic bytes)');
    const length = tail.readUInt32LE(0);
    if (length > size - 12)
      throw new ParquetFooterError(
        `the Parquet footer claims ${length} bytes in a file of ${size}: the file is cut or corrupt`,
      );
    if (length > MAX_FOOTER_BYTES)
      throw new ParquetFooterError(`the Parquet footer is ${length} bytes, over the ${MAX_FOOTER_BYTES}-byte limit`);
    const footer = Buffer.alloc(length + 8);
    await fh.read(footer, 0, length + 8, size - length - 8);
    let rows: bigint | number;
    try {
      rows = parquetMetadata(footer, { geoparquet: false }).num_rows;
    } catch (e) {
      throw new ParquetFooterError(`the Parquet footer cannot be read (${e instanceof Error ? e.message : String(e)})`);
    }
    const n = Number(rows);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new ParquetFooterError(`the Parquet footer declares ${String(rows)} rows`);
    return n;
  } finally {
    await fh.close();
  }
}
