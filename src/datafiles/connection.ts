/**
 * Parser of `.connection` files of `TYPE s3` (SPEC R1.1, R7). Pure: secret
 * references are resolved through the caller's `resolve`.
 */
import { z } from 'zod';
import type { ConnectionDef } from './types';
import { type Checked, DatafileError, errorAt, ok, problem } from './errors';
import { displayValue, hasSecretReference } from './secrets';
import { type KeywordRule, type Statement, nameFromPath, readStatements, statementValue } from './statements';
import { type Setting, issuesToErrors, setting } from './zodSettings';

/** The keywords of a `.connection` file. */
export const CONNECTION_KEYWORDS = [
  'TYPE',
  'S3_REGION',
  'S3_ARN',
  'S3_ENDPOINT',
  'S3_ACCESS_KEY',
  'S3_SECRET',
] as const;

/** One keyword of a `.connection` file. */
export type ConnectionKeyword = (typeof CONNECTION_KEYWORDS)[number];

const RULES: Record<ConnectionKeyword, KeywordRule> = Object.fromEntries(
  CONNECTION_KEYWORDS.map((k) => [k, { block: 'never' }]),
) as Record<ConnectionKeyword, KeywordRule>;

/**
 * `arn:<partition>:iam::<12-digit account>:role/<optional path/><name>`.
 * Partitions: aws, aws-cn, aws-us-gov.
 */
const ROLE_ARN = /^arn:aws(?:-cn|-us-gov)?:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
const AWS_REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;
const ANY_REGION = /^[A-Za-z0-9_-]+$/;

/**
 * The AWS account id of an IAM role ARN (`arn:aws:iam::123456789012:role/x`
 * gives `123456789012`), or undefined when `arn` is not a role ARN. Used to
 * refuse account changes of a connection in use (SPEC R2.3).
 */
export function roleAccountId(arn: string): string | undefined {
  return ROLE_ARN.exec(arn)?.[1];
}

function checkType(value: string, display: string): Checked<'s3'> {
  return value.toLowerCase() === 's3' ? ok('s3') : problem('Unsupported connection TYPE', display, 's3');
}

function checkArn(value: string, display: string): Checked<string> {
  return ROLE_ARN.test(value)
    ? ok(value)
    : problem('Invalid S3_ARN', display, 'an IAM role ARN: arn:aws:iam::<12-digit account id>:role/<role name>');
}

function checkEndpoint(value: string, display: string): Checked<string> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return problem('Invalid S3_ENDPOINT', display, 'an http:// or https:// URL, e.g. http://localhost:9000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return problem('Invalid S3_ENDPOINT', display, 'an http:// or https:// URL, e.g. http://localhost:9000');
  }
  return ok(value);
}

function checkRegionName(value: string, display: string): Checked<string> {
  return ANY_REGION.test(value) ? ok(value) : problem('Invalid S3_REGION', display, 'a region name such as us-east-1');
}

function nonEmpty(keyword: string) {
  return (value: string, display: string): Checked<string> =>
    value.trim() !== '' ? ok(value) : problem(`Empty ${keyword}`, display, `a non-empty ${keyword}`);
}

const ConnectionSchema = z.object({
  type: setting(checkType),
  region: setting(checkRegionName),
  roleArn: setting(checkArn).optional(),
  endpoint: setting(checkEndpoint).optional(),
  accessKey: setting(nonEmpty('S3_ACCESS_KEY')).optional(),
  secretKey: setting(nonEmpty('S3_SECRET')).optional(),
});

const FIELD_KEYWORDS: Record<string, ConnectionKeyword> = {
  type: 'TYPE',
  region: 'S3_REGION',
  roleArn: 'S3_ARN',
  endpoint: 'S3_ENDPOINT',
  accessKey: 'S3_ACCESS_KEY',
  secretKey: 'S3_SECRET',
};

const MISSING_EXPECTED: Record<string, string> = {
  TYPE: 'TYPE s3',
  S3_REGION: 'S3_REGION "<region>", e.g. S3_REGION "us-east-1"',
};

/** Everything {@link checkConnection} found in one file. */
export interface ConnectionCheck {
  /** The definition, when the file had no error. */
  connection?: ConnectionDef;
  /** Every problem of the file, in line order. */
  errors: DatafileError[];
  /** Line of each keyword present. */
  lines: Partial<Record<ConnectionKeyword, number>>;
}

/**
 * Parses and validates a `.connection` file, collecting every problem.
 *
 * Rules: `TYPE s3` and `S3_REGION` are required; credentials are `S3_ARN` (an
 * IAM role ARN), or both `S3_ACCESS_KEY` and `S3_SECRET`, or all three (the
 * static keys are then the base credentials that assume the role). Without
 * `S3_ENDPOINT` the region must look like an AWS region (`eu-west-1`); with
 * it, any region name is accepted (`auto` for R2, `us-east-1` for MinIO).
 *
 * @param resolve - turns each raw value (after unquoting) into its final text,
 *   resolving `{{ tb_secret(...) }}`; it may throw DatafileError.
 */
export function checkConnection(
  text: string,
  path: string,
  resolve: (raw: string, line: number) => string,
): ConnectionCheck {
  const errors: DatafileError[] = [];
  const name = nameFromPath(path, '.connection', 'connection');
  if (!name.ok) errors.push(errorAt({ file: path, line: 1 }, name.problem));

  const attempted = new Set<string>();
  const statements = readStatements(text, path, RULES, errors, attempted);
  const read = readSettings(statements, path, resolve, errors);
  const { lines } = read;
  const firstLine = statements[0]?.line ?? 1;
  const parsed = ConnectionSchema.safeParse(read.input);
  if (!parsed.success) {
    for (const e of issuesToErrors(parsed.error, path, FIELD_KEYWORDS, firstLine, (k) => MISSING_EXPECTED[k] ?? k)) {
      const missing = e.what.startsWith('Missing ') ? e.what.slice('Missing '.length) : undefined;
      // Not missing: its line was there but had an error of its own.
      if (missing !== undefined && (read.unreadable.has(missing) || attempted.has(missing))) continue;
      errors.push(e);
    }
  } else {
    const c = parsed.data;
    if (c.endpoint === undefined && !AWS_REGION.test(c.region)) {
      errors.push(
        new DatafileError({
          file: path,
          line: lines.S3_REGION ?? firstLine,
          what: 'Invalid S3_REGION',
          found: read.input.region?.display ?? '',
          expected: 'an AWS region such as us-east-1 or eu-west-1 (any name is accepted together with S3_ENDPOINT)',
        }),
      );
    }
    const credentials = credentialsProblem(lines, attempted, path, firstLine);
    if (credentials) errors.push(credentials);
    if (errors.length === 0 && name.ok) {
      const connection: ConnectionDef = { name: name.value, path, type: c.type, region: c.region };
      if (c.roleArn !== undefined) connection.roleArn = c.roleArn;
      if (c.endpoint !== undefined) connection.endpoint = c.endpoint;
      if (c.accessKey !== undefined) connection.accessKey = c.accessKey;
      if (c.secretKey !== undefined) connection.secretKey = c.secretKey;
      return { connection, errors, lines };
    }
  }
  errors.sort((a, b) => a.line - b.line);
  return { errors, lines };
}

/** Each statement's value as a Setting of its field, resolved; keywords whose value failed are `unreadable` (errors reported). */
function readSettings(
  statements: readonly Statement[],
  path: string,
  resolve: (raw: string, line: number) => string,
  errors: DatafileError[],
): { input: Record<string, Setting>; unreadable: Set<string>; lines: Partial<Record<ConnectionKeyword, number>> } {
  const input: Record<string, Setting> = {};
  const unreadable = new Set<string>();
  const lines: Partial<Record<ConnectionKeyword, number>> = {};
  for (const s of statements) {
    const keyword = s.keyword as ConnectionKeyword;
    lines[keyword] = s.line;
    const field = Object.keys(FIELD_KEYWORDS).find((f) => FIELD_KEYWORDS[f] === keyword) as string;
    const v = statementValue(s);
    if (!v.ok) {
      errors.push(errorAt({ file: path, line: s.line }, v.problem));
      unreadable.add(keyword);
      continue;
    }
    try {
      const value = resolve(v.value, s.line);
      input[field] = {
        value,
        display: displayValue(v.value, value),
        line: s.line,
        secret: hasSecretReference(v.value),
      };
    } catch (e) {
      if (!(e instanceof DatafileError)) throw e;
      errors.push(e);
      unreadable.add(keyword);
    }
  }
  return { input, unreadable, lines };
}

/** What is wrong with the credential keywords present (`lines`): half a key pair, or no credentials at all. */
function credentialsProblem(
  lines: Partial<Record<ConnectionKeyword, number>>,
  attempted: Set<string>,
  path: string,
  firstLine: number,
): DatafileError | undefined {
  const hasKey = lines.S3_ACCESS_KEY !== undefined;
  const hasSecret = lines.S3_SECRET !== undefined;
  // A credentials line had its own error; do not guess further.
  if (['S3_ARN', 'S3_ACCESS_KEY', 'S3_SECRET'].some((k) => attempted.has(k))) return undefined;
  if (hasKey !== hasSecret) {
    const [present, missing] = hasKey ? ['S3_ACCESS_KEY', 'S3_SECRET'] : ['S3_SECRET', 'S3_ACCESS_KEY'];
    return new DatafileError({
      file: path,
      line: lines[present as ConnectionKeyword] ?? firstLine,
      what: `Missing ${missing}`,
      found: `${present} without ${missing}`,
      expected: 'both S3_ACCESS_KEY and S3_SECRET, or neither',
    });
  }
  if (lines.S3_ARN === undefined && !hasKey) {
    return new DatafileError({
      file: path,
      line: firstLine,
      what: 'Missing credentials',
      found: 'neither S3_ARN nor S3_ACCESS_KEY/S3_SECRET',
      expected: 'S3_ARN "<IAM role ARN>" (or, for local use, S3_ACCESS_KEY and S3_SECRET)',
    });
  }
  return undefined;
}

/**
 * Parses and validates a `.connection` file (see {@link checkConnection}).
 *
 * @throws DatafileError — the first problem of the file (by line).
 */
export function parseConnection(
  text: string,
  path: string,
  resolve: (raw: string, line: number) => string,
): ConnectionDef {
  const r = checkConnection(text, path, resolve);
  if (!r.connection) throw r.errors[0] as DatafileError;
  return r.connection;
}
