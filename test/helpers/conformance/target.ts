/**
 * The destinations the sink conformance table (./index.ts) runs against: the
 * DuckDB file and the DuckLake. Each case asks for a fresh destination (no
 * data source tables, an empty ledger), loads files into it and reads the
 * tables back as JSON rows (BIGINT as text, times in UTC), whatever holds them.
 */
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Destination } from '../../../src/sinks/destination';
import { DuckDbSink } from '../../../src/sinks/duckdb';
import { inTransaction } from '../../../src/sinks/duckdb/connection';
import { quoteIdent } from '../../../src/sinks/duckdbTypes';
import type { LoadDiagnostics } from '../../../src/sinks/duckdb/loadContext';
import { DuckLakeSink, LAKE_CATALOG, type LakeAccess } from '../../../src/sinks/ducklake';

/** A destination a case loads into. */
export interface OpenSink {
  sink: Destination;
  /** How the last single-file load read its file (see LoadDiagnostics). */
  lastLoadPath(): LoadDiagnostics['lastLoadPath'];
  /** Rows of a query, JSON-friendly: BIGINTs as strings, as DuckDB's JSON rows give them. */
  read(sql: string): Promise<unknown[]>;
}

export interface ConformanceTarget {
  readonly name: 'duckdb' | 'ducklake';
  /** Folder for the files to load (the destination may read it). */
  readonly dir: string;
  /** A destination with no data source tables and an empty ledger. */
  open(): Promise<OpenSink>;
  /** The same destination opened again, as a restarted worker (or another one) opens it; `s` is closed. */
  reopen(s: OpenSink): Promise<OpenSink>;
  /** Closes what the case opened (after each case). */
  release(): Promise<void>;
}

/** Rows of `sql` on a sink's own connection, as JSON (its session runs in UTC: SINK_SETTINGS). */
async function readRows(on: DuckDbSink, sql: string): Promise<unknown[]> {
  const rows = await on.withConnection(async (conn) => (await conn.runAndReadAll(sql)).getRowObjectsJson());
  return JSON.parse(JSON.stringify(rows)) as unknown[];
}

function openSink(sink: Destination, inner: DuckDbSink): OpenSink {
  return { sink, lastLoadPath: () => inner.lastLoadPath, read: (sql) => readRows(inner, sql) };
}

/** A new DuckDB file per `open()` under `dir`. */
export function duckdbFileTarget(dir: string): ConformanceTarget {
  let seq = 0;
  const opened: DuckDbSink[] = [];
  const openAt = async (path: string) => {
    const sink = await DuckDbSink.open(path, { fileDirectories: [dir] });
    opened.push(sink);
    return openSink(sink, sink);
  };
  return {
    name: 'duckdb',
    dir,
    open: () => openAt(join(dir, `conformance-${++seq}.duckdb`)),
    async reopen(s) {
      await s.sink.close();
      return openAt((s.sink as DuckDbSink).path);
    },
    async release() {
      for (const sink of opened.splice(0)) await sink.close();
    },
  };
}

/**
 * One lake for every case (opening a DuckLakeSink loads 100 MB of
 * extensions): `open()` empties it instead, dropping the data source tables
 * and the ledger's entries in one lake transaction. `reopen` opens a second
 * sink on the same lake, as another worker would.
 */
export async function duckLakeTarget(
  access: LakeAccess,
  dir: string,
): Promise<ConformanceTarget & { close(): Promise<void> }> {
  const shared = await DuckLakeSink.open(access, { fileDirectories: [dir] });
  const others: DuckLakeSink[] = [];
  return {
    name: 'ducklake',
    dir,
    async open() {
      await shared.inner.withConnection(emptyLake);
      return openSink(shared, shared.inner);
    },
    async reopen(s) {
      if (s.sink !== shared) await s.sink.close();
      const other = await DuckLakeSink.open(access, { fileDirectories: [dir] });
      others.push(other);
      return openSink(other, other.inner);
    },
    async release() {
      for (const sink of others.splice(0)) await sink.close();
    },
    close: () => shared.close(),
  };
}

/** Drops every table of the lake but the ledger and the token tables, and empties the ledger. */
async function emptyLake(conn: DuckDBConnection): Promise<void> {
  const tables = await conn.runAndReadAll(
    "SELECT table_name FROM duckdb_tables() WHERE database_name = $1 AND table_name <> 's3c_ledger' AND table_name NOT LIKE 's3c\\_token\\_%' ESCAPE '\\'",
    [LAKE_CATALOG],
  );
  await inTransaction(conn, async () => {
    for (const [name] of tables.getRows()) await conn.run(`DROP TABLE ${quoteIdent(String(name))}`);
    await conn.run('DELETE FROM s3c_ledger');
  });
}
