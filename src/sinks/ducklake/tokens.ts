/**
 * Exactly once across workers on a DuckLake, which has no unique
 * constraints: two workers that load the same object version would both
 * commit their rows and their ledger entry. DuckLake does refuse a commit
 * that deletes from a table another transaction deleted from since this one
 * began (docs/ducklake.md, "Transactions and conflicts"). So the transaction
 * that records a version in the ledger also updates (deletes and re-inserts)
 * the one row of the version's token table: of two transactions loading the
 * same version, the second to commit fails with a conflict, and its retry
 * finds the first one's ledger entry and loads nothing.
 *
 * The token catches a rival that commits after this transaction's snapshot
 * (taken at its first statement). One that committed between the load's
 * ledger lookup (before its transaction) and that snapshot is caught by
 * looking in the ledger again, inside the transaction: the loser's rows are
 * rolled back and its retry returns the rival's result. (Found by the
 * two-process race test: without the second look, 3 of 20 versions loaded twice.)
 *
 * A version's token table is one of TOKEN_TABLES, chosen by a hash of its
 * ledger key, so two loads of different versions conflict only when their
 * versions share a table (1 in TOKEN_TABLES for single files; a batch of
 * many files touches many tables). A conflict costs the loser a retry of its
 * load (sink.ts); it never loses rows.
 */
import { createHash } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ledgerDdl } from '../duckdbTypes';
import type { IngestFileInput } from '../destination';
import { inTransaction } from '../duckdb/connection';
import { ledgerKey, loadedVersions } from '../duckdb/ledger';
import { S3cError } from '../../util/errors';

/** A version this transaction loads was committed by a rival after the load looked in the ledger: run the load again (it then finds the entry). */
export class LoadedMeanwhileError extends S3cError {
  constructor(readonly versions: number) {
    super(`${versions} version(s) were loaded by another worker during this load; it is rolled back and run again`);
  }
}

/** Token tables: more make conflicts between different versions rarer, each costs a catalog table. */
export const TOKEN_TABLES = 16;

/** Name of token table `n` (in the lake's main schema, beside the ledger). */
export function tokenTable(n: number): string {
  return `s3c_token_${String(n).padStart(2, '0')}`;
}

/** The token table of a version: a hash of its ledger key (data source, bucket, key, ETag). */
export function tokenOf(input: IngestFileInput): number {
  return createHash('sha256').update(ledgerKey(input)).digest().readUInt32BE(0) % TOKEN_TABLES;
}

/**
 * Creates the ledger (without its primary key: DuckLake has none) and the
 * token tables with their one row, in one transaction. Two workers starting
 * at once conflict on the CREATE: the caller retries, and then finds them.
 */
export async function ensureLakeTables(conn: DuckDBConnection): Promise<void> {
  await inTransaction(conn, async () => {
    await conn.run(ledgerDdl(false));
    for (let n = 0; n < TOKEN_TABLES; n++) {
      const table = tokenTable(n);
      await conn.run(`CREATE TABLE IF NOT EXISTS ${table} (n BIGINT NOT NULL)`);
      await conn.run(`INSERT INTO ${table} SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM ${table})`);
    }
  });
}

/**
 * Inside the caller's ledger transaction: refuses versions a rival committed
 * before this transaction's snapshot, then updates the token row of each
 * version's table, so that a rival committing after it makes this commit fail.
 */
export async function claimVersions(conn: DuckDBConnection, versions: IngestFileInput[]): Promise<void> {
  const meanwhile = await loadedVersions(conn, versions);
  if (meanwhile.size > 0) throw new LoadedMeanwhileError(meanwhile.size);
  const tables = [...new Set(versions.map(tokenOf))].sort((a, b) => a - b);
  for (const n of tables) {
    const r = await conn.run(`UPDATE ${tokenTable(n)} SET n = n + 1`);
    // A token table without its row would claim nothing, silently: refuse to commit instead.
    if (r.rowsChanged < 1) throw new Error(`internal: the lake's token table ${tokenTable(n)} has no row`);
  }
}
