/** Reading and inflating the downloaded files before DuckDB reads them. */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { GZIP_CHUNK } from '../gzipCheck';

/** Bytes read from the start of a file to learn its layout: this much, or up to HEAD_MAX until a line ends. */
const HEAD_BYTES = 64 * 1024;
export const HEAD_MAX = 1024 * 1024;

/**
 * The first bytes of a file (inflated when `gzip`): HEAD_BYTES, or more up to
 * HEAD_MAX until one line has ended; `complete` when that is the whole file.
 * Errors of a gzip stream are left to its check.
 */
export async function readHeadBytes(path: string, gzip = false): Promise<{ bytes: Buffer; complete: boolean }> {
  const chunks: Buffer[] = [];
  let total = 0;
  let ended = true;
  const input = createReadStream(path, { highWaterMark: HEAD_BYTES });
  const stream = gzip ? input.pipe(createGunzip()) : input;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= HEAD_MAX || (total >= HEAD_BYTES && chunks.some((c) => c.includes(10)))) {
        ended = false;
        break;
      }
    }
  } catch {
    /* the gzip check reports it */
  } finally {
    input.destroy();
    if (stream !== input) stream.destroy();
  }
  return { bytes: Buffer.concat(chunks), complete: ended };
}

/** readHeadBytes as text, without a last line cut by the limit. */
export async function readHead(path: string, gzip = false): Promise<string> {
  const { bytes, complete } = await readHeadBytes(path, gzip);
  let text = bytes.toString('utf8');
  const nl = text.lastIndexOf('\n');
  if (!complete && nl >= 0) text = text.slice(0, nl);
  return text;
}

export async function gunzipTo(src: string, dest: string): Promise<void> {
  await pipeline(
    createReadStream(src, { highWaterMark: GZIP_CHUNK }),
    createGunzip({ chunkSize: GZIP_CHUNK }),
    createWriteStream(dest, { highWaterMark: 4 * GZIP_CHUNK }),
  );
}

/** Why a gzip stream could not be inflated, in plain words. */
export function gzipReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string } | undefined)?.code;
  if (/unexpected end of file/i.test(msg) || code === 'Z_BUF_ERROR') {
    return 'truncated gzip data (unexpected end of file)';
  }
  if (/incorrect header check/i.test(msg)) return 'not gzip data (incorrect header check)';
  return `corrupt gzip data (${msg})`;
}
