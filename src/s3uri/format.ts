import type { FileFormat } from '../datafiles/types';

/** How an object's bytes are compressed as a whole (not Parquet column codecs). */
export type Compression = 'gzip' | 'none';

/** What an object key's extension says about its content. */
export interface ObjectFormat {
  format: FileFormat;
  compression: Compression;
}

/** Base extensions (without `.gz`), lowercase, with the format each one means (R4.1). */
const BASE_EXTENSIONS: ReadonlyArray<readonly [extension: string, format: FileFormat]> = [
  ['.csv', 'csv'],
  ['.ndjson', 'ndjson'],
  ['.jsonl', 'ndjson'],
  ['.json', 'ndjson'],
  ['.parquet', 'parquet'],
];

const GZIP_EXTENSION = '.gz';

/**
 * Every supported extension, lowercase: each base extension alone and
 * followed by `.gz`. Matching against keys is ASCII case-insensitive.
 */
export const SUPPORTED_EXTENSIONS: readonly string[] = BASE_EXTENSIONS.flatMap(([ext]) => [ext, ext + GZIP_EXTENSION]);

/**
 * Tells the format and compression of an object from its key's extension
 * (SPEC R4.1): `.csv`, `.ndjson`, `.jsonl`, `.json`, `.parquet`, each
 * optionally followed by `.gz`. The comparison ignores ASCII case
 * (`DATA.CSV.GZ` is gzip CSV). Only the end of the key counts, so a hidden
 * file such as `dir/.csv` is CSV too.
 *
 * Never throws.
 *
 * @returns the format, or `undefined` when the extension is not supported —
 *   callers skip such objects and count them (R3.3).
 */
export function formatOfKey(key: string): ObjectFormat | undefined {
  let rest = key;
  let compression: Compression = 'none';
  if (endsWithIgnoringAsciiCase(rest, GZIP_EXTENSION)) {
    rest = rest.slice(0, rest.length - GZIP_EXTENSION.length);
    compression = 'gzip';
  }
  for (const [ext, format] of BASE_EXTENSIONS) {
    if (endsWithIgnoringAsciiCase(rest, ext)) return { format, compression };
  }
  return undefined;
}

/**
 * The format and compression of an object of a data source: `importFormat`
 * (IMPORT_FORMAT) for every key whatever its extension (`.tsv`, `.txt`,
 * `.tbl.gz`: a final `.gz` still means gzip), else what the extension says
 * (formatOfKey); undefined when neither tells.
 */
export function objectFormat(key: string, importFormat?: FileFormat): ObjectFormat | undefined {
  if (importFormat === undefined) return formatOfKey(key);
  return { format: importFormat, compression: endsWithIgnoringAsciiCase(key, GZIP_EXTENSION) ? 'gzip' : 'none' };
}

/**
 * `text.endsWith(lowerSuffix)`, folding only ASCII `A`-`Z` in `text`. Unicode
 * case folding could change lengths and would disagree with the automaton,
 * which knows exactly two spellings of each extension letter.
 */
function endsWithIgnoringAsciiCase(text: string, lowerSuffix: string): boolean {
  const offset = text.length - lowerSuffix.length;
  if (offset < 0) return false;
  for (let i = 0; i < lowerSuffix.length; i++) {
    if (asciiLower(text.charCodeAt(offset + i)) !== lowerSuffix.charCodeAt(i)) return false;
  }
  return true;
}

/** Lowercases a UTF-16 code unit when it is ASCII `A`-`Z`. */
export function asciiLower(unit: number): number {
  return unit >= 0x41 && unit <= 0x5a ? unit + 0x20 : unit;
}

/** Uppercases a UTF-16 code unit when it is ASCII `a`-`z`. */
export function asciiUpper(unit: number): number {
  return unit >= 0x61 && unit <= 0x7a ? unit - 0x20 : unit;
}
