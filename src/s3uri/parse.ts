import { BucketUriError } from './errors';
import { formatOfKey } from './format';

const SCHEME = 's3://';

/** A bucket URI split into its two parts, both exactly as written. */
export interface BucketUri {
  /** The bucket name. */
  bucket: string;
  /** Everything after `s3://<bucket>/`; may be empty (the whole bucket). */
  pattern: string;
}

/**
 * How a URI selects objects (R3.1, R3.2):
 * - `glob`: the pattern has a `*`; keys must match it.
 * - `exact`: no `*`, and the pattern ends in a supported extension; it names
 *   one object.
 * - `prefix`: no `*`, and no supported extension; every supported object
 *   under that prefix, taken as a directory (see {@link directoryOfPrefix}).
 */
export type UriMode = 'glob' | 'exact' | 'prefix';

/**
 * One piece of a pattern:
 * - `literal`: these characters, exactly (case-sensitive).
 * - `star`: `*`, zero or more characters other than `/`.
 * - `globstar`: `**`, zero or more of any characters.
 * - `anyDirectories`: `**` plus the `/` after it, when the `**` starts a
 *   directory level: zero or more whole directories (nothing, or any text
 *   ending in `/`), so `s3://b/a/**` + `/b` matches the key `a/b`.
 * - `supportedFile`: any characters ending in a supported extension (only in
 *   prefix mode; it is not something a user can write).
 */
export type Token =
  | { kind: 'literal'; text: string }
  | { kind: 'star' }
  | { kind: 'globstar' }
  | { kind: 'anyDirectories' }
  | { kind: 'supportedFile' };

/**
 * Splits `s3://bucket/pattern` into bucket and pattern, checking both.
 *
 * `s3://bucket` and `s3://bucket/` both mean the whole bucket (an empty
 * pattern, prefix mode). The pattern is not otherwise restricted: every
 * character other than `*` is literal, including spaces, `?`, `[`, `{`,
 * `%` and unicode, and no percent-decoding happens.
 *
 * @throws {BucketUriError} `missing-scheme` when the URI does not start with
 *   lowercase `s3://`; `invalid-bucket` when the bucket name is empty or breaks
 *   the S3 naming rules (3-63 characters; lowercase letters, digits, dots and
 *   hyphens; starting and ending with a letter or digit; no two adjacent dots;
 *   not an IP address); `invalid-pattern` when the pattern has a run of three
 *   or more `*`.
 */
export function parseBucketUri(uri: string): BucketUri {
  if (!uri.startsWith(SCHEME)) {
    const reason = uri.toLowerCase().startsWith(SCHEME)
      ? `the scheme must be lowercase "s3://"`
      : `it must start with "s3://"`;
    throw new BucketUriError('missing-scheme', uri, reason);
  }
  const rest = uri.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const pattern = slash === -1 ? '' : rest.slice(slash + 1);
  const bucketProblem = bucketNameProblem(bucket);
  if (bucketProblem !== undefined) throw new BucketUriError('invalid-bucket', uri, bucketProblem);
  const stars = /\*{3,}/.exec(pattern);
  if (stars !== null) {
    throw new BucketUriError(
      'invalid-pattern',
      uri,
      `the pattern contains "${stars[0]}"; use * (within one directory level) or ** (across levels)`,
    );
  }
  return { bucket, pattern };
}

/**
 * Why `name` is not a usable S3 bucket name, or `undefined` when it is.
 * Reserved prefixes and suffixes (`xn--`, `-s3alias`, ...) are creation-time
 * rules and access point aliases legitimately end in `-s3alias`, so they pass.
 */
function bucketNameProblem(name: string): string | undefined {
  if (name === '') return 'the bucket name is empty';
  const quoted = JSON.stringify(name);
  const bad = /[^a-z0-9.-]/.exec(name);
  if (bad !== null) {
    return `bucket name ${quoted} contains ${JSON.stringify(bad[0])}; S3 bucket names use only lowercase letters, digits, dots and hyphens`;
  }
  if (name.length < 3 || name.length > 63) {
    return `bucket name ${quoted} is ${name.length} characters long; S3 bucket names are 3 to 63 characters`;
  }
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) {
    return `bucket name ${quoted} must start and end with a lowercase letter or digit`;
  }
  if (name.includes('..')) return `bucket name ${quoted} contains two adjacent dots`;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return `bucket name ${quoted} is formatted like an IP address`;
  return undefined;
}

/** True when the pattern has a wildcard, i.e. selects objects by glob matching. */
export function patternHasWildcard(pattern: string): boolean {
  return pattern.includes('*');
}

/** The selection mode of an already-parsed pattern; see {@link UriMode}. */
export function modeOfPattern(pattern: string): UriMode {
  if (patternHasWildcard(pattern)) return 'glob';
  return formatOfKey(pattern) !== undefined ? 'exact' : 'prefix';
}

/**
 * The directory a prefix-mode pattern stands for: the pattern itself when it
 * is empty or ends in `/`, otherwise the pattern plus `/`. So `my-path`
 * selects `my-path/a.csv` but neither `my-path.csv` nor `my-pathology/a.csv`.
 */
export function directoryOfPrefix(pattern: string): string {
  return pattern === '' || pattern.endsWith('/') ? pattern : pattern + '/';
}

/**
 * The tokens a pattern stands for, in every mode: exact mode is one literal;
 * prefix mode is the directory literal followed by `supportedFile`.
 */
export function tokenize(pattern: string): Token[] {
  const mode = modeOfPattern(pattern);
  if (mode === 'exact') return [{ kind: 'literal', text: pattern }];
  if (mode === 'prefix') {
    const directory = directoryOfPrefix(pattern);
    const tokens: Token[] = directory === '' ? [] : [{ kind: 'literal', text: directory }];
    tokens.push({ kind: 'supportedFile' });
    return tokens;
  }
  const tokens: Token[] = [];
  let literal = '';
  let i = 0;
  while (i < pattern.length) {
    if (pattern[i] !== '*') {
      literal += pattern[i];
      i++;
      continue;
    }
    if (literal !== '') tokens.push({ kind: 'literal', text: literal });
    literal = '';
    if (pattern[i + 1] !== '*') {
      tokens.push({ kind: 'star' });
      i += 1;
      continue;
    }
    // `**`: whole directory levels when it starts a level and is followed by `/`.
    const startsLevel = i === 0 || pattern[i - 1] === '/';
    if (startsLevel && pattern[i + 2] === '/') {
      tokens.push({ kind: 'anyDirectories' });
      i += 3;
    } else {
      tokens.push({ kind: 'globstar' });
      i += 2;
    }
  }
  if (literal !== '') tokens.push({ kind: 'literal', text: literal });
  return tokens;
}

/**
 * The longest key prefix every match must start with (R3.4): the literal text
 * before the first `*` in glob mode, the key in exact mode, the directory in
 * prefix mode.
 */
export function listPrefixOfPattern(pattern: string): string {
  switch (modeOfPattern(pattern)) {
    case 'glob':
      return pattern.slice(0, pattern.indexOf('*'));
    case 'exact':
      return pattern;
    case 'prefix':
      return directoryOfPrefix(pattern);
  }
}
