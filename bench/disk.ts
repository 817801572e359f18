/**
 * The bench's disk check: before a large run, the bytes it will write against
 * the bytes free, refused with both figures rather than failing half way
 * (a 10 GB run writes the data set, MinIO's copy of it, and during each load
 * a downloaded copy plus the database).
 */
import { existsSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { dataSetFile, SIZE_OF_CSV, type BenchFormat } from './dataset';

/** What a big run of `formats` will still write, by where it goes. */
export interface DiskNeed {
  /** Files of the data set not generated yet, plus MinIO's copy of every format (under bench/data). */
  dataBytes: number;
  /** The largest download plus the database one load writes (under the temp folder), freed after each load. */
  scratchBytes: number;
}

/** A file's size, or its estimate from the CSV's size when it is not generated yet. */
function fileBytes(dir: string, format: BenchFormat, csvBytes: number): { bytes: number; exists: boolean } {
  const path = dataSetFile(dir, format);
  if (existsSync(path)) return { bytes: statSync(path).size, exists: true };
  return { bytes: csvBytes * SIZE_OF_CSV[format], exists: false };
}

/**
 * Estimates the bytes a run will write. MinIO's copy is counted whether or not
 * it is there already (the bench uploads again what is missing or changed); a
 * load's database is taken as large as the CSV (DuckDB's file of the bench
 * table is smaller: this is the margin).
 */
export function diskNeed(dir: string, sizeMb: number, formats: BenchFormat[]): DiskNeed {
  const csvBytes = sizeMb * 1024 * 1024;
  let dataBytes = 0;
  let largest = 0;
  for (const f of formats) {
    const { bytes, exists } = fileBytes(dir, f, csvBytes);
    dataBytes += (exists ? 0 : bytes) + bytes;
    largest = Math.max(largest, bytes);
  }
  return { dataBytes, scratchBytes: largest + csvBytes };
}

/** Free bytes of the file system holding `path` (or its nearest existing parent). */
function freeBytes(path: string): { free: number; device: number } {
  let at = path;
  while (!existsSync(at)) at = dirname(at);
  const fs = statfsSync(at);
  return { free: fs.bavail * fs.bsize, device: statSync(at).dev };
}

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;

/** The bench cannot write what it needs. */
export class NotEnoughDiskError extends Error {
  constructor(
    readonly neededBytes: number,
    readonly freeBytes: number,
    readonly where: string,
  ) {
    super(
      `not enough free disk for this bench run: it needs about ${gb(neededBytes)} (${neededBytes} bytes) under ${where}, ` +
        `and ${gb(freeBytes)} (${freeBytes} bytes) are free. Free some space, ask for fewer formats ` +
        `(BENCH_FORMATS=csv) or a smaller data set (BENCH_SIZE_MB).`,
    );
    this.name = 'NotEnoughDiskError';
  }
}

/**
 * Throws {@link NotEnoughDiskError} unless the data folder and the temp
 * folder have room for `need`; on one file system, for both together.
 */
export function checkFreeDisk(dataRoot: string, need: DiskNeed): void {
  const data = freeBytes(dataRoot);
  const scratch = freeBytes(tmpdir());
  if (data.device === scratch.device) {
    const needed = need.dataBytes + need.scratchBytes;
    if (needed > data.free) throw new NotEnoughDiskError(needed, data.free, `${dataRoot} and ${tmpdir()}`);
    return;
  }
  if (need.dataBytes > data.free) throw new NotEnoughDiskError(need.dataBytes, data.free, dataRoot);
  if (need.scratchBytes > scratch.free) throw new NotEnoughDiskError(need.scratchBytes, scratch.free, tmpdir());
}
