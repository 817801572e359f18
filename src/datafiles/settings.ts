/**
 * Validators for single setting values, shared by the datafile parsers. Each
 * returns a {@link Checked}; the parsers add file and line. Pure.
 */
import type { FileFormat, ImportSchedule } from './types';
import { type Checked, ok, problem, quote } from './errors';
import { checkCron } from './cron';
import { CONNECTION_NAME_PATTERN, CONNECTION_NAME_RULE } from './statements';

/** Values of `IMPORT_FORMAT`. */
export const FILE_FORMATS: readonly FileFormat[] = ['csv', 'ndjson', 'parquet'];

/** The table engines a data source may declare (the MergeTree family without extra engine parameters). */
export const ENGINES: readonly string[] = [
  'MergeTree',
  'ReplacingMergeTree',
  'SummingMergeTree',
  'AggregatingMergeTree',
];

const FROM_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Checks `IMPORT_FROM_TIMESTAMP`: `YYYY-MM-DDTHH:MM:SS` with optional fraction
 * and an explicit offset (`Z`, `+02:00` or `+0200`), a real calendar instant.
 * Returns the instant normalised to UTC, `YYYY-MM-DDTHH:MM:SSZ` (with `.sss`
 * only when the milliseconds are not zero). Every refusal's `what` is
 * `Invalid IMPORT_FROM_TIMESTAMP`.
 */
export function checkFromTimestamp(value: string, display = quote(value)): Checked<string> {
  const what = 'Invalid IMPORT_FROM_TIMESTAMP';
  const m = FROM_TIMESTAMP.exec(value);
  if (!m) return problem(what, display, 'YYYY-MM-DDTHH:MM:SSZ, e.g. 2024-05-01T00:00:00Z');
  if (m[8] === undefined) {
    return problem(
      what,
      `${display} without a UTC offset`,
      'an explicit UTC offset: YYYY-MM-DDTHH:MM:SSZ or e.g. +02:00 at the end',
    );
  }
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (
    probe.getUTCFullYear() !== y ||
    probe.getUTCMonth() !== mo - 1 ||
    probe.getUTCDate() !== d ||
    probe.getUTCHours() !== h ||
    probe.getUTCMinutes() !== mi ||
    probe.getUTCSeconds() !== s
  ) {
    return problem(
      what,
      `${display}, which is not a real date and time`,
      'a valid calendar date and a time from 00:00:00 to 23:59:59',
    );
  }
  const offset = m[8];
  if (offset !== 'Z') {
    const oh = Number(offset.slice(1, 3));
    const om = Number(offset.slice(-2));
    if (oh > 23 || om > 59)
      return problem(what, `${display} with offset ${quote(offset)}`, 'an offset from -23:59 to +23:59');
  }
  const normalisedOffset = offset === 'Z' ? 'Z' : `${offset.slice(0, 3)}:${offset.slice(-2)}`;
  const fraction = (m[7] ?? '').slice(0, 4).padEnd(m[7] ? 4 : 0, '0');
  const instant = new Date(`${value.slice(0, 19)}${fraction}${normalisedOffset}`);
  const iso = instant.toISOString();
  return ok(iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso);
}

/** Checks `IMPORT_SCHEDULE`: `@auto`, `@once`, `@on-demand` or a 5-field cron expression. */
export function checkSchedule(value: string, display = quote(value)): Checked<ImportSchedule> {
  switch (value) {
    case '@auto':
      return ok({ kind: 'auto' });
    case '@once':
      return ok({ kind: 'once' });
    case '@on-demand':
      return ok({ kind: 'on-demand' });
  }
  if (value.startsWith('@')) {
    return problem(
      'Invalid IMPORT_SCHEDULE',
      display,
      '@auto, @once, @on-demand or a 5-field cron expression such as "0 * * * *"',
    );
  }
  const cron = checkCron(value);
  if (!cron.ok) return cron;
  return ok({ kind: 'cron', expression: cron.value });
}

/** Checks `IMPORT_FORMAT` (case-insensitive); returns the lower-case format. */
export function checkFormat(value: string, display = quote(value)): Checked<FileFormat> {
  const f = value.toLowerCase();
  if ((FILE_FORMATS as readonly string[]).includes(f)) return ok(f as FileFormat);
  return problem('Invalid IMPORT_FORMAT', display, FILE_FORMATS.join(', '));
}

/**
 * Checks `IMPORT_CSV_HEADER` (an extension of the reference): `true` (the
 * first record is a header), `false` (it is data) or `auto` (detected: see
 * csvDialect). Returns undefined for `auto`.
 */
export function checkCsvHeader(value: string, display = quote(value)): Checked<boolean | undefined> {
  const v = value.trim().toLowerCase();
  if (v === 'true') return ok(true);
  if (v === 'false') return ok(false);
  if (v === 'auto') return ok(undefined);
  return problem('Invalid IMPORT_CSV_HEADER', display, 'true, false or auto');
}

/**
 * Checks `IMPORT_CSV_DELIMITER` (an extension of the reference): one
 * printable ASCII character other than a quote; `\t` or `tab` for a tab.
 */
export function checkCsvDelimiter(value: string, display = quote(value)): Checked<string> {
  const v = value === '\\t' || value.toLowerCase() === 'tab' ? '\t' : value;
  if (!/^[\t\x21-\x7e]$/.test(v) || v === '"') {
    return problem(
      'Invalid IMPORT_CSV_DELIMITER',
      display,
      'one ASCII character such as , ; | or \\t (tab), not a quote or a space',
    );
  }
  return ok(v);
}

/**
 * The canonical name of an encoding label ('latin1' → 'windows-1252',
 * 'utf-16' → 'utf-16le'), or undefined when no decoder knows it.
 */
function canonicalEncoding(label: string): string | undefined {
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    return undefined;
  }
}

/**
 * Checks `IMPORT_ENCODING` (an extension of the reference): `auto` (told
 * from the first bytes: see textEncoding) or an encoding name a WHATWG
 * decoder knows (`utf-8`, `utf-16le`, `windows-1251`, `shift_jis`, …).
 * Returns the canonical name, undefined for `auto`.
 */
export function checkEncoding(value: string, display = quote(value)): Checked<string | undefined> {
  if (value.trim().toLowerCase() === 'auto') return ok(undefined);
  const name = canonicalEncoding(value);
  if (name === undefined) {
    return problem(
      'Invalid IMPORT_ENCODING',
      display,
      'auto or an encoding name such as utf-8, utf-16le, windows-1252 (latin1), windows-1251, iso-8859-2, shift_jis',
    );
  }
  return ok(name);
}

/**
 * Minimal check of `IMPORT_BUCKET_URI`: `s3://`, then a valid bucket name
 * (3–63 characters of lower-case letters, digits, `.` and `-`, starting and
 * ending with a letter or digit), then optionally `/` and a key pattern. The
 * full pattern rules live in src/s3uri.
 */
export function checkBucketUri(value: string, display = quote(value)): Checked<string> {
  const what = 'Invalid IMPORT_BUCKET_URI';
  if (!value.startsWith('s3://')) return problem(what, display, 's3://bucket/pattern, starting with s3://');
  const rest = value.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  if (bucket === '')
    return problem(what, `${display} with no bucket name`, 's3://bucket/pattern with a bucket name after s3://');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    return problem(
      'Invalid bucket name in IMPORT_BUCKET_URI',
      display,
      'a bucket name of 3 to 63 lower-case letters, digits, "." and "-", starting and ending with a letter or digit',
    );
  }
  if (/\s/.test(value)) return problem(what, `${display} containing whitespace`, 'a URI without spaces');
  return ok(value);
}

/** Checks a connection name used by `IMPORT_CONNECTION_NAME`. */
export function checkConnectionName(value: string, display = quote(value)): Checked<string> {
  if (CONNECTION_NAME_PATTERN.test(value)) return ok(value);
  return problem('Invalid IMPORT_CONNECTION_NAME', display, `the name of a .connection file: ${CONNECTION_NAME_RULE}`);
}

/** Checks `ENGINE`; accepts a trailing `()` (`MergeTree()`). */
export function checkEngine(value: string, display = quote(value)): Checked<string> {
  const name = value.replace(/\(\s*\)$/, '');
  if (ENGINES.includes(name)) return ok(name);
  return problem('Unknown ENGINE', display, `one of ${ENGINES.join(', ')}`);
}
