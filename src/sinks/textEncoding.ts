/**
 * The text encoding of a CSV or NDJSON file, told from its first bytes, and
 * its decoding to UTF-8 (docs/csv.md, "Encodings"). DuckDB reads UTF-8 only;
 * without this, a UTF-16 file loaded rows of NUL bytes and a Latin-1 file had
 * every line with an accent quarantined.
 *
 * - A UTF-16 byte order mark (LE or BE), or UTF-16 without one (ASCII text
 *   with a NUL byte beside nearly every character): decoded from UTF-16.
 * - A UTF-32 byte order mark: refused, naming the encoding.
 * - First bytes that are not UTF-8: decoded as Windows-1252 (the superset of
 *   Latin-1 that WHATWG decoders use for "latin1"). A file that is UTF-8 in
 *   its first 64 KiB is read as UTF-8; a later bad byte then costs its line,
 *   quarantined, not the file.
 *
 * `IMPORT_ENCODING` (an extension of the reference) names the encoding
 * instead: the only way to read a legacy encoding other than Windows-1252
 * (Windows-1251 Cyrillic, Shift_JIS, …) as its text.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** A WHATWG encoding name, as `TextDecoder` knows it ('utf-16le', 'windows-1252', 'windows-1251', …). */
export type TextEncoding = string;

export type EncodingVerdict =
  { kind: 'utf-8' } | { kind: 'decode'; encoding: TextEncoding } | { kind: 'refuse'; reason: string };

/** Share of NUL bytes at one parity (and at most at the other) that marks UTF-16 without a BOM. */
const NUL_SHARE = 0.9;

/**
 * The encoding of a text whose first bytes are `head` (`complete`: the
 * whole file, so its last character is not cut).
 */
export function sniffEncoding(head: Buffer, complete: boolean): EncodingVerdict {
  const b = head;
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) {
    return {
      kind: 'refuse',
      reason: 'the file is UTF-32 (little-endian byte order mark), which is not supported: re-encode it as UTF-8',
    };
  }
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) {
    return {
      kind: 'refuse',
      reason: 'the file is UTF-32 (big-endian byte order mark), which is not supported: re-encode it as UTF-8',
    };
  }
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return { kind: 'decode', encoding: 'utf-16le' };
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return { kind: 'decode', encoding: 'utf-16be' };
  if (b.length >= 8) {
    let even = 0;
    let odd = 0;
    const pairs = Math.floor(b.length / 2);
    for (let i = 0; i + 1 < b.length; i += 2) {
      if (b[i] === 0) even++;
      if (b[i + 1] === 0) odd++;
    }
    if (odd >= pairs * NUL_SHARE && even <= pairs * (1 - NUL_SHARE)) return { kind: 'decode', encoding: 'utf-16le' };
    if (even >= pairs * NUL_SHARE && odd <= pairs * (1 - NUL_SHARE)) return { kind: 'decode', encoding: 'utf-16be' };
  }
  // A multi-byte character cut by the end of the head is no evidence.
  let end = b.length;
  if (!complete) {
    for (let k = 1; k <= 3 && end - k >= 0; k++) {
      if ((b[end - k]! & 0xc0) === 0xc0) {
        end -= k;
        break;
      }
      if ((b[end - k]! & 0x80) === 0) break;
    }
  }
  return isUtf8(b.subarray(0, end)) ? { kind: 'utf-8' } : { kind: 'decode', encoding: 'windows-1252' };
}

/**
 * The encoding of a text: `declared` (IMPORT_ENCODING, a canonical WHATWG name:
 * see checkEncoding) when given, else told from its first bytes.
 */
export function chooseEncoding(head: Buffer, complete: boolean, declared?: TextEncoding): EncodingVerdict {
  if (declared === undefined) return sniffEncoding(head, complete);
  return declared === 'utf-8' ? { kind: 'utf-8' } : { kind: 'decode', encoding: declared };
}

const NAMES: Record<string, string> = {
  'windows-1252': 'Latin-1 (Windows-1252)',
  'utf-16le': 'UTF-16 LE',
  'utf-16be': 'UTF-16 BE',
  'utf-8': 'UTF-8',
};

/** Human name of an encoding, for messages. */
export function encodingName(e: TextEncoding): string {
  return NAMES[e] ?? e;
}

/**
 * Decodes the file at `src` (inflated first when `gzip`, which also checks
 * the gzip stream) from `encoding` to UTF-8 at `dest`, without a byte order
 * mark. Rejects on text that is not valid in that encoding (a lone UTF-16
 * surrogate) with a message naming it.
 */
export async function decodeToUtf8(src: string, dest: string, encoding: TextEncoding, gzip: boolean): Promise<void> {
  const decoder = new TextDecoder(encoding, { fatal: true });
  const decode = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        done(null, Buffer.from(decoder.decode(chunk, { stream: true }), 'utf8'));
      } catch {
        done(new Error(`the text is not valid ${encodingName(encoding)}`));
      }
    },
    flush(done) {
      try {
        done(null, Buffer.from(decoder.decode(), 'utf8'));
      } catch {
        done(new Error(`the text is not valid ${encodingName(encoding)} (it ends inside a character)`));
      }
    },
  });
  const input = createReadStream(src, { highWaterMark: 1 << 20 });
  const output = createWriteStream(dest, { highWaterMark: 4 << 20 });
  if (gzip) await pipeline(input, createGunzip({ chunkSize: 1 << 20 }), decode, output);
  else await pipeline(input, decode, output);
}
