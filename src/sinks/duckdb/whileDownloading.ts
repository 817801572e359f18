/**
 * Loading a file while it is still being downloaded (IngestFileInput's
 * `downloaded`): which files may be, and waiting for enough of one to plan
 * its read. The feed itself: feedGrowingFile (../gzipCheck.ts).
 */
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IngestFileInput } from '../destination';
import { HEAD_MAX } from './localFiles';

/** How often the size of a file being downloaded is looked at while waiting for its first bytes. */
const POLL_MS = 10;

/**
 * Whether `input` is read by DuckDB while it downloads: plain CSV, whose
 * reader takes a pipe as it takes a file. Gzip CSV is already fed inflated
 * through a pipe (after its download); DuckDB's JSON reader holds every
 * buffer of a file it cannot seek in memory (see ndjson.ts); Parquet is read
 * from its end.
 */
export function streamsWhileDownloading(input: Pick<IngestFileInput, 'format' | 'compression'>): boolean {
  return input.format === 'csv' && input.compression === 'none';
}

/**
 * The size of the file at `path` once enough of it has arrived to plan its
 * read (HEAD_MAX bytes: its encoding and CSV layout are read from its head),
 * or once it is complete (`final`). Rejects as `downloaded` does when the
 * download fails first.
 */
export async function arrivedSize(
  path: string,
  downloaded: Promise<number>,
): Promise<{ size: number; final: boolean }> {
  let final: number | undefined;
  const done = downloaded.then((size) => {
    final = size;
  });
  for (;;) {
    await Promise.race([done, sleep(POLL_MS)]);
    if (final !== undefined) return { size: final, final: true };
    const { size } = await stat(path);
    if (size >= HEAD_MAX) return { size, final: false };
  }
}
