/** The activities that keep a data source's tables: create them, empty the sample tables, expire rows (ENGINE_TTL). */
import type { DataSourceDef, TtlRule } from '../datafiles/types';
import type { ActivityScope } from './scope';

/** Input of `expireRows`: a data source's table and its parsed ENGINE_TTL. */
export interface ExpireRowsInput {
  dataSource: string;
  ttl: TtlRule;
}

/** What one TTL run deleted, and when (worker clock). */
export interface ExpireRowsResult {
  dataSource: string;
  deleted: number;
  at: string;
}

/**
 * Deletes the rows of a data source's table whose ENGINE_TTL has passed
 * (DuckDB has no TTL of its own). A retry deletes what expired since: harmless.
 */
export async function expireRows(scope: ActivityScope, input: ExpireRowsInput): Promise<ExpireRowsResult> {
  const at = new Date();
  const deleted = await scope.deps.sink.expireRows(input.dataSource, input.ttl, at);
  return { dataSource: input.dataSource, deleted, at: at.toISOString() };
}

/** Creates the data source's table, quarantine table and the ledger (idempotent). */
export async function prepareDestination(scope: ActivityScope, dataSource: DataSourceDef): Promise<void> {
  await scope.deps.sink.ensureTables(dataSource);
}

/** Empties the data source's sample tables (created if missing) before a sample import loads into them. */
export async function prepareSampleTables(scope: ActivityScope, dataSource: DataSourceDef): Promise<void> {
  await scope.deps.sink.replaceSampleTables(dataSource);
}
