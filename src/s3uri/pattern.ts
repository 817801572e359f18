import { compileTokens, intersectionWitness, runAutomaton, type Automaton } from './automaton';
import { formatOfKey } from './format';
import {
  listPrefixOfPattern,
  modeOfPattern,
  parseBucketUri,
  patternHasWildcard,
  tokenize,
  type UriMode,
} from './parse';

/** A bucket URI made ready for matching many keys. Plain data plus one function. */
export interface CompiledBucketUri {
  /** The URI as given. */
  readonly uri: string;
  readonly bucket: string;
  /** The part after `s3://<bucket>/`, as written. */
  readonly pattern: string;
  readonly mode: UriMode;
  /** Every matching key starts with this (R3.4); list with it. */
  readonly listPrefix: string;
  /** True when `key` (no leading `/`, exactly as S3 lists it) is selected. */
  matches(key: string): boolean;
}

interface Compiled extends CompiledBucketUri {
  readonly automaton: Automaton;
}

// Callers filter listings with `matchKey(uri, key)` for one URI at a time, so
// remembering the last URI saves recompiling per key. Pure: it only caches.
let lastCompiled: Compiled | undefined;

function compile(uri: string): Compiled {
  if (lastCompiled !== undefined && lastCompiled.uri === uri) return lastCompiled;
  const { bucket, pattern } = parseBucketUri(uri);
  const mode = modeOfPattern(pattern);
  const listPrefix = listPrefixOfPattern(pattern);
  const automaton = compileTokens(tokenize(pattern));
  // Exact and prefix mode have cheap direct tests that agree with the automaton
  // (the tests check that); glob mode runs the automaton after a prefix check.
  const matches =
    mode === 'exact'
      ? (key: string): boolean => key === pattern
      : mode === 'prefix'
        ? (key: string): boolean => key.startsWith(listPrefix) && formatOfKey(key) !== undefined
        : (key: string): boolean => key.startsWith(listPrefix) && runAutomaton(automaton, key);
  lastCompiled = { uri, bucket, pattern, mode, listPrefix, automaton, matches };
  return lastCompiled;
}

/**
 * Parses and compiles a bucket URI once, for matching many keys.
 *
 * @throws {BucketUriError} when the URI is invalid (see {@link parseBucketUri}).
 */
export function compileBucketUri(uri: string): CompiledBucketUri {
  const { automaton: _automaton, ...compiled } = compile(uri);
  return compiled;
}

/**
 * True when the object `key` is selected by `uri` (R3.1, R3.2).
 *
 * - `*` matches zero or more characters within one directory level (never `/`).
 * - `**` matches zero or more characters across levels; `**` + `/` at the
 *   start of a level may also match zero directories, so `s3://b/**` + `/*.csv`
 *   matches `a.csv` as well as `x/y/a.csv`.
 * - Every other character is literal and case-sensitive: `?`, `[`, `]`, `{`,
 *   `}`, `(`, `)`, `+`, `!`, `%`, spaces and unicode mean themselves.
 * - Without `*`, a URI ending in a supported extension names one key;
 *   otherwise it selects every key with a supported extension under it as a
 *   directory (`s3://b/my-path` selects `my-path/a.csv` and `my-path/x/y.parquet`,
 *   not `my-path.csv` nor `my-pathology/a.csv`).
 *
 * In glob and exact mode the extension does not matter here: callers skip and
 * count matching objects without a supported extension (R3.3).
 *
 * @param key the object key as S3 lists it (no leading `/`).
 * @throws {BucketUriError} when the URI is invalid (see {@link parseBucketUri}).
 */
export function matchKey(uri: string, key: string): boolean {
  return compile(uri).matches(key);
}

/**
 * The bucket and the key prefix to list so that a listing never covers more
 * of the bucket than the URI can match (R3.4): the literal text before the
 * first `*` (`s3://b/logs/2024-*` + `/x.csv` lists `logs/2024-`; a leading
 * `**` lists the whole bucket, `''`), the key itself for an exact URI, and the
 * directory (with its trailing `/`) in prefix mode.
 *
 * @throws {BucketUriError} when the URI is invalid (see {@link parseBucketUri}).
 */
export function listPrefix(uri: string): { bucket: string; prefix: string } {
  const { bucket, listPrefix: prefix } = compile(uri);
  return { bucket, prefix };
}

/**
 * True when some key would be selected by both URIs (R3.5). Different
 * buckets never collide. The check is exact: it intersects the two patterns'
 * languages (see {@link collisionExample}), it is not a prefix heuristic.
 *
 * @throws {BucketUriError} when either URI is invalid.
 */
export function patternsCollide(a: string, b: string): boolean {
  return collisionExample(a, b) !== undefined;
}

/**
 * A shortest key that both URIs select, or `undefined` when they do not
 * collide — for messages such as "both would load `ab.csv`". Where any
 * character would do, the example uses `x`.
 *
 * The two URIs are compiled to automata over characters (literal, "any but
 * `/`" for `*`, "any" for `**`, optional directories for `**` + `/`, and in
 * prefix mode "ends in a supported extension"), and a breadth-first search over
 * pairs of their states looks for a pair where both accept.
 *
 * @throws {BucketUriError} when either URI is invalid.
 */
export function collisionExample(a: string, b: string): string | undefined {
  const first = compile(a);
  const firstAutomaton = first.automaton;
  const second = compile(b);
  if (first.bucket !== second.bucket) return undefined;
  // Cheap exit: the literal prefixes must agree as far as the shorter goes.
  const shorter = Math.min(first.listPrefix.length, second.listPrefix.length);
  if (first.listPrefix.slice(0, shorter) !== second.listPrefix.slice(0, shorter)) return undefined;
  return intersectionWitness(firstAutomaton, second.automaton);
}

/**
 * True when the URI's pattern has a `*`, i.e. it selects keys by glob matching
 * rather than naming one object or a directory.
 *
 * @throws {BucketUriError} when the URI is invalid (see {@link parseBucketUri}).
 */
export function hasWildcard(uri: string): boolean {
  return patternHasWildcard(parseBucketUri(uri).pattern);
}

/**
 * One sentence saying what the URI selects, for CLI output and logs, e.g.
 * `every CSV, NDJSON or Parquet object under "my-path/" in bucket "b"`.
 *
 * @throws {BucketUriError} when the URI is invalid (see {@link parseBucketUri}).
 */
export function describePattern(uri: string): string {
  const { bucket, pattern, mode, listPrefix: prefix } = compile(uri);
  const inBucket = `in bucket ${JSON.stringify(bucket)}`;
  switch (mode) {
    case 'exact':
      return `the object ${JSON.stringify(pattern)} ${inBucket}`;
    case 'prefix':
      return prefix === ''
        ? `every CSV, NDJSON or Parquet object ${inBucket}`
        : `every CSV, NDJSON or Parquet object under ${JSON.stringify(prefix)} ${inBucket}`;
    case 'glob':
      return `every object whose key matches ${JSON.stringify(pattern)} ${inBucket}, listed from ${
        prefix === '' ? 'the bucket root' : JSON.stringify(prefix)
      }`;
  }
}
