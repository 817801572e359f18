/**
 * The ledger `s3c_ledger`: one row per object version loaded into a data
 * source, written in the transaction of its rows (exactly once). ETags are
 * stored and compared without surrounding quotes.
 */
import { BIGINT, LIST, listValue, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import { normalizeEtag } from '../../contract';
import { LEDGER_TABLE } from '../duckdbTypes';
import type { IngestFileInput, IngestFileResult, LedgerEntry } from '../destination';
import type { LoadContext } from './loadContext';

const LEDGER_SELECT =
  'SELECT data_source, bucket, key, etag, size, rows, quarantined, job_id, ' +
  `strftime(loaded_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS loaded_at FROM ${LEDGER_TABLE}`;

function toLedgerEntry(r: Record<string, unknown>): LedgerEntry {
  return {
    dataSource: String(r.data_source),
    bucket: String(r.bucket),
    key: String(r.key),
    etag: String(r.etag),
    size: Number(r.size),
    rows: Number(r.rows),
    quarantined: Number(r.quarantined),
    jobId: String(r.job_id),
    loadedAt: String(r.loaded_at),
  };
}

/** The result of an ingest of a version the ledger already has. */
export function alreadyLoaded(e: LedgerEntry): IngestFileResult {
  return { rows: e.rows, quarantined: e.quarantined, alreadyLoaded: true, jobId: e.jobId, loadedAt: e.loadedAt };
}

/** Every ledger entry of a data source, oldest first. */
export async function ledgerEntries(conn: DuckDBConnection, dataSource: string): Promise<LedgerEntry[]> {
  const r = await conn.runAndReadAll(`${LEDGER_SELECT} WHERE data_source = $1 ORDER BY loaded_at, key`, [dataSource]);
  return r.getRowObjectsJS().map(toLedgerEntry);
}

/** The ledger entry of a version (of any bucket when `bucket` is undefined), if any. */
export async function findLoaded(
  conn: DuckDBConnection,
  dataSource: string,
  bucket: string | undefined,
  key: string,
  etag: string,
): Promise<LedgerEntry | undefined> {
  const params = [dataSource, key, normalizeEtag(etag)];
  let sql = `${LEDGER_SELECT} WHERE data_source = $1 AND key = $2 AND etag = $3`;
  if (bucket !== undefined) {
    sql += ' AND bucket = $4';
    params.push(bucket);
  }
  const r = await conn.runAndReadAll(sql + ' LIMIT 1', params);
  const row = r.getRowObjectsJS()[0];
  return row ? toLedgerEntry(row) : undefined;
}

/** The key of a version among the loaded ones: (data source, bucket, key, ETag without quotes) as JSON. */
export function ledgerKey(i: IngestFileInput): string {
  return JSON.stringify([i.dataSource.name, i.bucket, i.key, normalizeEtag(i.etag)]);
}

/** Ledger entries of the given versions that are already loaded, by {@link ledgerKey}. */
export function loadedVersions(conn: DuckDBConnection, inputs: IngestFileInput[]): Promise<Map<string, LedgerEntry>> {
  return loadedTuples(
    conn,
    inputs.map((i) => [i.dataSource.name, i.bucket, i.key, normalizeEtag(i.etag)]),
  );
}

/**
 * Ledger entries of (data source, bucket, key, ETag) tuples, keyed by their
 * JSON: one query per data source and bucket, the keys bound as one list
 * (a literal VALUES list of 1,000 tuples cost ~50 ms to parse, the list ~15).
 */
export async function loadedTuples(
  conn: DuckDBConnection,
  tuples: [string, string, string, string][],
): Promise<Map<string, LedgerEntry>> {
  const found = new Map<string, LedgerEntry>();
  const groups = new Map<string, { dataSource: string; bucket: string; keys: Set<string>; wanted: Set<string> }>();
  for (const [dataSource, bucket, key, etag] of tuples) {
    const g = JSON.stringify([dataSource, bucket]);
    let group = groups.get(g);
    if (!group) groups.set(g, (group = { dataSource, bucket, keys: new Set(), wanted: new Set() }));
    group.keys.add(key);
    group.wanted.add(JSON.stringify([key, etag]));
  }
  for (const { dataSource, bucket, keys, wanted } of groups.values()) {
    const r = await conn.runAndReadAll(
      `${LEDGER_SELECT} WHERE data_source = $1 AND bucket = $2 AND key IN (SELECT unnest($3))`,
      [dataSource, bucket, listValue([...keys])],
      { 3: LIST(VARCHAR) },
    );
    for (const row of r.getRowObjectsJS()) {
      const e = toLedgerEntry(row);
      // Other versions of the same keys come back too.
      if (wanted.has(JSON.stringify([e.key, e.etag])))
        found.set(JSON.stringify([e.dataSource, e.bucket, e.key, e.etag]), e);
    }
  }
  return found;
}

/** A loaded version to record: its input and what it loaded. */
export interface LedgerWrite {
  input: IngestFileInput;
  rows: number;
  quarantined: number;
}

/**
 * Writes the ledger rows of loaded versions (inside the caller's
 * transaction), each column bound as one list: parsing 250 rows of literals
 * cost more than inserting them.
 */
export async function writeLedger(conn: DuckDBConnection, entries: LedgerWrite[], loadedAt: string): Promise<void> {
  const column = (f: (e: LedgerWrite) => string | bigint) => listValue(entries.map(f));
  await conn.run(
    `INSERT INTO ${LEDGER_TABLE} (data_source, bucket, key, etag, size, last_modified, format, rows, quarantined, job_id, loaded_at) ` +
      'SELECT unnest($1), unnest($2), unnest($3), unnest($4), unnest($5), unnest($6), unnest($7), unnest($8), unnest($9), unnest($10), CAST($11 AS TIMESTAMP)',
    [
      column((e) => e.input.dataSource.name),
      column((e) => e.input.bucket),
      column((e) => e.input.key),
      column((e) => normalizeEtag(e.input.etag)),
      column((e) => BigInt(e.input.size)),
      column((e) => e.input.lastModified),
      column((e) => e.input.format + (e.input.compression === 'gzip' ? '.gz' : '')),
      column((e) => BigInt(e.rows)),
      column((e) => BigInt(e.quarantined)),
      column((e) => e.input.jobId),
      loadedAt.replace('Z', ''),
    ],
    {
      1: LIST(VARCHAR),
      2: LIST(VARCHAR),
      3: LIST(VARCHAR),
      4: LIST(VARCHAR),
      5: LIST(BIGINT),
      6: LIST(VARCHAR),
      7: LIST(VARCHAR),
      8: LIST(BIGINT),
      9: LIST(BIGINT),
      10: LIST(VARCHAR),
      11: VARCHAR,
    },
  );
}

/** The destination's claim of loaded versions (before their ledger rows: it may look for rivals' rows), then the rows, inside the caller's transaction. */
export async function recordLoaded(ctx: LoadContext, entries: LedgerWrite[], loadedAt: string): Promise<void> {
  if (ctx.claimVersions)
    await ctx.claimVersions(
      ctx.conn,
      entries.map((e) => e.input),
    );
  await writeLedger(ctx.conn, entries, loadedAt);
}
