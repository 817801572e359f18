/** read_csv options and names the text readers share with the tolerant insert. */
import { sqlString } from '../../duckdbTypes';

/**
 * Longest line (CSV record, NDJSON document) accepted, in bytes. DuckDB's
 * default is 2 MB; it is raised only for files that have a longer line, because
 * a large max_line_size makes read_csv 1.5–3× slower.
 */
export const MAX_LINE_SIZE = 64 * 1024 * 1024;

/**
 * read_csv's rejects tables (TEMP; it takes only a bare name): the tolerant
 * insert reads and drops them (see ../scratchTables.ts).
 */
export const REJECTS_TABLE = 's3c_rejects';
export const REJECTS_SCAN = 's3c_rejects_scan';

/** read_csv options of the tolerant path: skip what cannot be split, optionally recording it. */
export function tolerantOptions(rejects: boolean, bigLines: boolean): string {
  return (
    `${bigLines ? `max_line_size = ${MAX_LINE_SIZE}, ` : ''}ignore_errors = true` +
    (rejects ? `, store_rejects = true, rejects_table = '${REJECTS_TABLE}', rejects_scan = '${REJECTS_SCAN}'` : '')
  );
}

/** A list of files as a DuckDB table function argument. */
export function fileListSql(paths: string[]): string {
  return `[${paths.map(sqlString).join(', ')}]`;
}
