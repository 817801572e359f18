/**
 * The tolerant load's scratch tables. They live in DuckDB's TEMP catalog and
 * are always named with it (`temp.main.x`): an unqualified `DROP TABLE x`
 * falls through to the user's schema when no temp table `x` exists, and so
 * dropped a data source's table of that name (issue #18, item 3). read_csv
 * creates its rejects tables in TEMP too; it takes only a bare name.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { REJECTS_SCAN, REJECTS_TABLE } from './formats';

export const TEMP_BAD_ROWS = 'temp.main.s3c_bad_rows';
export const TEMP_REJ = 'temp.main.s3c_rej';
export const TEMP_REJECTS = `temp.main.${REJECTS_TABLE}`;
const SCRATCH_TABLES = [TEMP_BAD_ROWS, TEMP_REJ, TEMP_REJECTS, `temp.main.${REJECTS_SCAN}`];

export async function dropScratchTables(c: DuckDBConnection): Promise<void> {
  for (const t of SCRATCH_TABLES) await c.run(`DROP TABLE IF EXISTS ${t}`);
}
