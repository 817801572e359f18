/**
 * Names the product itself gives to tables and columns in the destination,
 * so that datafiles cannot take them (issue #18, item 4). DuckDB, like most
 * SQL databases, does not tell `events` from `Events`: every comparison here
 * is case-insensitive.
 *
 * The sink builds its DDL from these constants (src/sinks/duckdbTypes.ts), so
 * the parser's checks and the tables cannot drift apart. Pure: no I/O.
 */
import { type Checked, ok, problem, quote } from './errors';

/** Prefix of the product's own tables (the ledger `s3c_ledger`, the load's temporary tables). */
export const INTERNAL_TABLE_PREFIX = 's3c_';

/** Suffix of a data source's quarantine table: `<name>_quarantine`. */
export const QUARANTINE_SUFFIX = '_quarantine';

/**
 * Suffix of a data source's sample table: a sample import (R6.1) loads into
 * `<name>__sample` (and its `<name>__sample_quarantine`), never into the
 * production table, as the reference's samples "don't affect production".
 */
export const SAMPLE_SUFFIX = '__sample';

/** The table a sample import of `dataSource` loads into. */
export function sampleTableName(dataSource: string): string {
  return `${dataSource}${SAMPLE_SUFFIX}`;
}

/** The columns the quarantine table has after the schema's columns, with their DuckDB types. */
export const QUARANTINE_EXTRA_COLUMNS: readonly (readonly [name: string, duckDbType: string])[] = [
  ['c__error_column', 'VARCHAR[]'],
  ['c__error', 'VARCHAR[]'],
  ['c__import_id', 'VARCHAR'],
  ['insertion_date', 'TIMESTAMP'],
  ['c__object_key', 'VARCHAR'],
  ['c__line', 'BIGINT'],
];

/** A data source name the product does not reserve for itself. */
export function checkDataSourceNameFree(name: string): Checked<string> {
  const lower = name.toLowerCase();
  if (lower.startsWith(INTERNAL_TABLE_PREFIX)) {
    return problem(
      'Reserved data source name',
      quote(name),
      `a name that does not start with ${INTERNAL_TABLE_PREFIX} (in any case): the product's own tables use that prefix`,
    );
  }
  if (lower.endsWith(QUARANTINE_SUFFIX)) {
    return problem(
      'Reserved data source name',
      quote(name),
      `a name that does not end in ${QUARANTINE_SUFFIX} (in any case): the data source ${name.slice(0, -QUARANTINE_SUFFIX.length)} would put its quarantined rows in that table`,
    );
  }
  return ok(name);
}

/**
 * A data source name that is not the sample table of another data source of
 * the project: `events__sample` is refused while `events` exists (in any case).
 */
export function checkSampleNameFree(name: string, dataSources: readonly string[]): Checked<string> {
  const lower = name.toLowerCase();
  if (!lower.endsWith(SAMPLE_SUFFIX)) return ok(name);
  const base = lower.slice(0, -SAMPLE_SUFFIX.length);
  const owner = dataSources.find((other) => other.toLowerCase() === base);
  if (owner === undefined) return ok(name);
  return problem(
    'Reserved data source name',
    quote(name),
    `a name other than ${owner}${SAMPLE_SUFFIX} (in any case): sample imports of the data source ${owner} load into that table`,
  );
}

/** A column name the quarantine table does not add, and that DuckDB can create. */
export function checkColumnNameFree(name: string): Checked<string> {
  const reserved = QUARANTINE_EXTRA_COLUMNS.find(([c]) => c === name.toLowerCase());
  if (reserved) {
    return problem(
      'Reserved column name',
      quote(name),
      `a name other than ${QUARANTINE_EXTRA_COLUMNS.map(([c]) => c).join(', ')} (in any case): the quarantine table adds these columns`,
    );
  }
  // A control character cannot be written in a datafile line on purpose, and NUL cuts SQL text short.
  const control = /[\u0000-\u001f\u007f]/.exec(name);
  if (control) return problem('Invalid column name', quote(name), 'a name without control characters (tab, NUL, ...)');
  return ok(name);
}
