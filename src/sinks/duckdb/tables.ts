/**
 * The tables of data sources: created from their definitions (DDL rendered
 * by duckdbTypes.ts), sample tables replaced, rows counted and expired.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { firstLine } from '../../util/errors';
import type { DataSourceDef, TtlRule } from '../../datafiles/types';
import { defaultSql, isNullable, quarantineTableName, quoteIdent, sampleDataSource, tableDdl } from '../duckdbTypes';
import { ttlDeleteSql } from '../duckdbTtl';
import { inTransaction } from './connection';

/**
 * Creates, if missing, the data source's typed table `<name>`, its quarantine
 * table `<name>_quarantine` and the shared ledger `s3c_ledger`. Idempotent.
 * Throws when a DEFAULT expression cannot be translated to DuckDB.
 */
export async function ensureTables(conn: DuckDBConnection, ds: DataSourceDef): Promise<void> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(ds.name)) throw new Error(`invalid data source name '${ds.name}'`);
  for (const c of ds.schema) {
    try {
      // Rendered from the checked grammar (defaultSql refuses anything else), never the text as written.
      const def = defaultSql(c);
      if (!def) continue;
      const r = await conn.runAndReadAll(`SELECT (${def}) IS NULL AS missing`);
      if (!isNullable(c.type) && r.getRowObjectsJS()[0]?.missing === true)
        throw new Error(`it is NULL and ${c.typeText} is not Nullable`);
    } catch (e) {
      throw new Error(
        `${ds.path}:${c.line}: DEFAULT ${c.defaultExpr} of column '${c.name}' cannot be used with DuckDB: ${firstLine(e)}`,
      );
    }
  }
  for (const stmt of tableDdl(ds)) await conn.run(stmt);
}

/**
 * Replaces the sample tables of a data source (`<name>__sample` and its
 * quarantine) with empty ones, in one transaction: each sample import shows
 * only its own rows. Takes the production definition, so no caller can
 * drop a production table through it.
 */
export function replaceSampleTables(conn: DuckDBConnection, ds: DataSourceDef): Promise<void> {
  const sample = sampleDataSource(ds);
  return inTransaction(conn, async () => {
    for (const table of [sample.name, quarantineTableName(sample.name)])
      await conn.run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`);
    await ensureTables(conn, sample);
  });
}

/** Number of rows of a table (e.g. `events` or `events_quarantine`). */
export async function rowCount(conn: DuckDBConnection, table: string): Promise<number> {
  const r = await conn.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${quoteIdent(table)}`);
  return Number(r.getRowObjectsJS()[0]?.n ?? 0);
}

/**
 * Deletes the rows of `table` whose ENGINE_TTL has passed at `now` and
 * returns how many; 0 when the table does not exist yet (no sync loaded it).
 */
export async function expireRows(conn: DuckDBConnection, table: string, rule: TtlRule, now: Date): Promise<number> {
  // In the default catalog and schema, where the load put it (see connection.ts): not a TEMP table of that name.
  const exists = await conn.runAndReadAll(
    'SELECT 1 FROM information_schema.tables WHERE table_name = $1 AND table_catalog = current_database() AND table_schema = current_schema()',
    [table],
  );
  if (exists.currentRowCount === 0) return 0;
  const r = await conn.run(ttlDeleteSql(table, rule), [rule.amount, now.toISOString()]);
  return r.rowsChanged;
}

/**
 * Runs a read-only SQL query and returns its rows as plain JS values
 * (BIGINT as number when safe). For inspection: the CLI, the demo, tests.
 */
export async function queryRows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const r = await conn.runAndReadAll(sql);
  return r.getRowObjectsJS().map((row) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      out[k] = typeof v === 'bigint' && Number.isSafeInteger(Number(v)) ? Number(v) : v;
    }
    return out;
  });
}
