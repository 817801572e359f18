/**
 * The connect step of a DuckDB-based destination: session settings, memory
 * limit, the catalog its tables live in, the ledger, and file access shut
 * down. The load SQL names tables unqualified and its scratch tables
 * `temp.main.x`, so a destination whose tables live elsewhere (a DuckLake
 * catalog) attaches it and makes it the default in `attachTables`.
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ledgerDdl, sqlString } from '../duckdbTypes';
import type { ClaimVersions } from './loadContext';

/**
 * Session settings of the sink's connection (exported so that the benchmark's
 * bare-DuckDB baseline runs with the same ones).
 */
export const SINK_SETTINGS: readonly string[] = ["SET TimeZone = 'UTC'", 'SET preserve_insertion_order = false'];

/** What every connection of a sink is set up with. */
export interface ConnectionSetup {
  /** The only directories SQL may read or write (see restrictFileAccess). */
  directories: string[];
  memoryLimit?: string;
  /**
   * Makes the catalog and schema the destination's tables live in the
   * connection's default (e.g. ATTACH a lake, then USE it). None for the
   * DuckDB file: its tables are in the file's own `main` schema.
   */
  attachTables?: (conn: DuckDBConnection) => Promise<void>;
  /**
   * Added to every transaction that writes the ledger (see LoadContext).
   * None for the DuckDB file: its ledger's primary key already refuses a
   * second entry, and one writer loads at a time.
   */
  claimVersions?: ClaimVersions;
}

/** Connects to the sink's database: settings, memory limit, tables' catalog, ledger, file access shut down to `setup.directories`. */
export async function connectSink(instance: DuckDBInstance, setup: ConnectionSetup): Promise<DuckDBConnection> {
  const conn = await instance.connect();
  try {
    for (const setting of SINK_SETTINGS) await conn.run(setting);
    // Without a limit DuckDB caches written tables up to 80% of RAM: the worker would grow with every load.
    if (setup.memoryLimit) await conn.run(`SET memory_limit = ${sqlString(setup.memoryLimit)}`);
    if (setup.attachTables) await setup.attachTables(conn);
    await conn.run(ledgerDdl());
    await restrictFileAccess(conn, setup.directories);
    return conn;
  } catch (e) {
    conn.closeSync();
    throw e;
  }
}

/**
 * Shuts DuckDB's access to files down to `directories` (and the database
 * file itself, with its WAL and spill folder), for every connection of the
 * instance: `read_text`, `read_csv`, `COPY ... TO`, `ATTACH`, `INSTALL` and
 * `LOAD` of any other path fail with a Permission Error. DuckDB makes this
 * one-way: once `enable_external_access` is false it cannot be set back, and
 * `allowed_directories` / `allowed_paths` cannot change, so a statement that
 * slipped through cannot undo it. `lock_configuration` is not set: it would
 * also freeze `preserve_insertion_order`, which the load path sets per
 * statement.
 */
async function restrictFileAccess(conn: DuckDBConnection, directories: string[]): Promise<void> {
  await conn.run(`SET allowed_directories = [${directories.map(sqlString).join(', ')}]`);
  await conn.run('SET enable_external_access = false');
}

/** Runs `fn` in a transaction: committed when it returns, rolled back when it throws. */
export async function inTransaction<T>(conn: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
  await conn.run('BEGIN TRANSACTION');
  try {
    const out = await fn();
    await conn.run('COMMIT');
    return out;
  } catch (e) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
