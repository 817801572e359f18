/**
 * The answer of a query as JSON, CSV or a text table: the same for
 * `s3c sql --format` and `GET /v0/sql?format=` (docs/querying.md).
 */
import type { SqlResult, SqlValue } from '../contract/sql';

/** The output formats. */
export const SQL_FORMATS = ['json', 'csv', 'table'] as const;
export type SqlFormat = (typeof SQL_FORMATS)[number];

/** The JSON answer: columns, rows as objects, their count, and whether they were cut. */
export interface SqlJson {
  meta: { name: string; type: string }[];
  data: Record<string, SqlValue>[];
  rows: number;
  limit: number;
  truncated: boolean;
  /** Why rows are missing: more than `limit` rows, or more than the byte limit of one answer. */
  truncated_by?: 'rows' | 'bytes';
  statistics: { elapsed_ms: number };
}

/** The answer as JSON, each row an object keyed by column name. */
export function sqlJson(result: SqlResult, limit: number): SqlJson {
  const data = result.data.map((row) => Object.fromEntries(result.meta.map((c, i) => [c.name, row[i] ?? null])));
  return {
    meta: result.meta,
    data,
    rows: result.rows,
    limit,
    truncated: result.truncated !== undefined,
    ...(result.truncated ? { truncated_by: result.truncated } : {}),
    statistics: { elapsed_ms: result.elapsedMs },
  };
}

/** One sentence on why the answer was cut, or undefined when it holds every row. */
export function truncationNote(result: SqlResult, limit: number): string | undefined {
  if (result.truncated === 'rows')
    return `truncated: the first ${result.rows} rows (limit ${limit}); raise the limit or narrow the query`;
  if (result.truncated === 'bytes')
    return `truncated: the first ${result.rows} rows (an answer holds at most 1 MB); select fewer columns or rows`;
  return undefined;
}

/** A value as text: strings as they are, NULL empty (CSV) or `NULL` (table), lists and structs as JSON. */
function text(value: SqlValue, nullText: string): string {
  if (value === null) return nullText;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A CSV field (RFC 4180): quoted when it holds a comma, quote or line break, or is the empty string (NULL is empty unquoted). */
function csvField(value: SqlValue): string {
  const t = text(value, '');
  return value !== null && (t === '' || /[",\r\n]/.test(t)) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** The answer as CSV: a header of column names, then a line per row (CRLF, as RFC 4180). */
export function sqlCsv(result: SqlResult): string {
  const lines = [result.meta.map((c) => csvField(c.name)), ...result.data.map((row) => row.map(csvField))];
  return lines.map((fields) => `${fields.join(',')}\r\n`).join('');
}

/** A table cell: one line (line breaks shown as `\n`). */
function cell(value: SqlValue): string {
  return text(value, 'NULL').replace(/\r?\n/g, '\\n');
}

/** The answer as a text table (header, rule, rows) with a count line. */
export function sqlTable(result: SqlResult, limit: number): string {
  const header = result.meta.map((c) => c.name);
  const rows = result.data.map((row) => row.map(cell));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  const count = `(${result.rows} row${result.rows === 1 ? '' : 's'})`;
  const note = truncationNote(result, limit);
  return (
    [
      line(header),
      widths.map((w) => '-'.repeat(w)).join('-+-'),
      ...rows.map(line),
      note ? `${count} ${note}` : count,
    ].join('\n') + '\n'
  );
}
