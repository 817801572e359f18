/**
 * (Re)computes the measured fields of `test/fixtures/realworld/manifest.json`:
 * each package's wheel/tarball name and sha256, and each file's `sha256`,
 * `bytes` and `duckdb` figures, read with the DuckDB the project uses
 * (`@duckdb/node-api`, in process). The authored fields (id, file, format,
 * compression, source, derived, recipe, notes) are kept as they are.
 *
 * To add a file: add an entry with its authored fields (and its package to
 * `packages` if new), run this script, review the diff, commit.
 *
 * `duckdb` is DuckDB's own reading of the file, with default options:
 * - Parquet: `records` = `SELECT count(*) FROM read_parquet(f)`, `metadata_rows`
 *   = sum of the row groups' `num_rows` (`parquet_metadata`), `columns`,
 *   `created_by`.
 * - NDJSON: `records` = the number of non-blank lines (after gunzip); and
 *   `read_json` = what `read_json(f, format = 'newline_delimited')` gives (a
 *   count or its first error line), for information.
 * - CSV: `records` = `SELECT count(*) FROM read_csv(f)` (auto-detect), or
 *   `error` = DuckDB's first error line; `delimiter`, `quote`, `skip_rows`,
 *   `header`, `columns` and `column_names` (the first 40) from
 *   `sniff_csv(f)`, or `sniff_error`; and `lines`, the physical line count of
 *   the (inflated) file, for comparison: the sniffer may skip leading lines.
 *
 * Run: `node --import tsx scripts/realworld-manifest.ts`
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  buildCorpus,
  ensurePackage,
  filesDir,
  manifestPath,
  readManifest,
  sha256,
  type Entry,
} from './realworld-corpus';

const MAX_NAMES = 40;

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** DuckDB's first error line, with the corpus folder taken out of paths (the manifest is the same on every machine). */
function firstLine(err: unknown): string {
  const line = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
  return line.split(`${filesDir}/`).join('');
}

/** Physical lines of the (inflated) text: newline-terminated ones plus a last one without a newline. */
function countLines(text: string): number {
  if (text === '') return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

async function one(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>> {
  const rows = (await conn.runAndReadAll(sql)).getRowObjectsJS();
  return rows[0] ?? {};
}

async function figures(conn: DuckDBConnection, e: Entry, path: string, data: Buffer): Promise<Record<string, unknown>> {
  const f = sqlString(path);
  if (e.format === 'parquet') {
    const out: Record<string, unknown> = {};
    try {
      out.records = Number((await one(conn, `SELECT count(*) AS n FROM read_parquet(${f})`)).n);
    } catch (err) {
      out.error = firstLine(err);
    }
    try {
      const m = await one(conn, `SELECT num_rows AS n, created_by AS c FROM parquet_file_metadata(${f})`);
      out.metadata_rows = Number(m.n);
      out.created_by = m.c ?? null;
      out.columns = Number(
        (await one(conn, `SELECT count(*) AS n FROM (DESCRIBE SELECT * FROM read_parquet(${f}))`)).n,
      );
    } catch (err) {
      out.metadata_error = firstLine(err);
    }
    return out;
  }
  if (e.format === 'ndjson') {
    const text = (e.compression === 'gzip' ? gunzipSync(data) : data).toString('utf8');
    const out: Record<string, unknown> = { records: text.split(/\r?\n/).filter((l) => l.trim() !== '').length };
    try {
      out.read_json = {
        records: Number((await one(conn, `SELECT count(*) AS n FROM read_json(${f}, format = 'newline_delimited')`)).n),
      };
    } catch (err) {
      out.read_json = { error: firstLine(err) };
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  out.lines = countLines((e.compression === 'gzip' ? gunzipSync(data) : data).toString('latin1'));
  try {
    out.records = Number((await one(conn, `SELECT count(*) AS n FROM read_csv(${f})`)).n);
  } catch (err) {
    out.error = firstLine(err);
  }
  try {
    const s = await one(
      conn,
      `SELECT Delimiter AS d, Quote AS q, SkipRows AS k, HasHeader AS h, Columns AS c FROM sniff_csv(${f})`,
    );
    const cols = (s.c as Array<{ name: string }> | null) ?? [];
    out.delimiter = s.d;
    out.quote = s.q;
    out.skip_rows = Number(s.k);
    out.header = s.h;
    out.columns = cols.length;
    out.column_names = cols.slice(0, MAX_NAMES).map((c) => c.name);
  } catch (err) {
    out.sniff_error = firstLine(err);
  }
  return out;
}

/** Committed files name packages, never hosts: refuse a manifest that would carry an address. */
function checkNoHosts(text: string): void {
  const m = /https?:\/\/|\bwww\.|\b[a-z0-9-]+\.(com|org|net|edu|gov|io|dev)\b/i.exec(text);
  if (m) {
    const around = text.slice(Math.max(0, m.index - 80), m.index + 80);
    throw new Error(`the manifest would contain what looks like a host name ("${m[0]}") near: ${around}`);
  }
}

async function main(): Promise<void> {
  const manifest = readManifest();
  const ids = new Set<string>();
  for (const e of manifest.files) {
    if (!/^[a-z0-9_]+$/.test(e.id)) throw new Error(`id ${e.id}: use only [a-z0-9_]`);
    if (ids.has(e.id)) throw new Error(`id ${e.id} is used twice`);
    ids.add(e.id);
  }
  // Packages: record the file the registry served and its hash.
  for (const p of manifest.packages) {
    const path = await ensurePackage(p, false);
    p.file = path.split('/').pop()!;
    p.sha256 = sha256(readFileSync(path));
  }
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  await buildCorpus({ strict: false });

  const fresh = readManifest();
  for (const e of fresh.files) {
    const path = join(filesDir, e.file);
    const data = readFileSync(path);
    e.sha256 = sha256(data);
    e.bytes = data.length;
    // A database of its own per file: an INTERNAL error (nodeparquet_cpp_example) invalidates the database it happens in.
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    e.duckdb = await figures(conn, e, path, data);
    conn.closeSync();
    instance.closeSync();
    console.log(`${e.id}: ${JSON.stringify(e.duckdb).slice(0, 160)}`);
  }
  const text = `${JSON.stringify(fresh, null, 2)}\n`;
  checkNoHosts(text);
  writeFileSync(manifestPath, text);
  await buildCorpus({ strict: true });
  console.log(`Wrote ${manifestPath}: ${fresh.files.length} files`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
