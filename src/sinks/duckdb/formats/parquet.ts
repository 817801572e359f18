/**
 * Parquet: read_parquet, JSONPaths resolved against the file's schema
 * (metadata only), each column converted by the first candidate conversion
 * DuckDB binds. A gzip Parquet file is inflated to a file first.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  columnPath,
  convertFromTypedCandidates,
  duckJsonPath,
  rawCol,
  textOf,
  type PathSegment,
} from '../../duckdbConvert';
import { quoteIdent, sqlString } from '../../duckdbTypes';
import { firstLine } from '../../../util/errors';
import { parquetFooterRows } from '../../parquetFooter';
import type { Column, DataSourceDef } from '../../../datafiles/types';
import type { FormatReader, ReadPlan } from './formatReader';
import { fileListSql } from './readOptions';

export const parquetReader: FormatReader = {
  text: false,
  pipesGzip: false,
  plan: (ctx, ds, path) => planParquet(ctx.conn, ds, path),
};

/** Parquet: JSONPaths resolved against the file's schema (metadata only). */
async function planParquet(conn: DuckDBConnection, ds: DataSourceDef, path: string): Promise<ReadPlan> {
  // First: a file that is not Parquet fails on its footer, before DuckDB reads it.
  const footerRows = await parquetFooterRows(path);
  const src = `read_parquet(${sqlString(path)}) AS p`;
  const raws: string[] = [];
  for (const col of ds.schema) raws.push(await resolveParquetPath(conn, src, columnPath(col.name, col.jsonPath)));
  const rawSelect = raws.map((r, i) => `${r} AS ${rawCol(i)}`).join(', ');
  const described = await conn.runAndReadAll(`DESCRIBE SELECT ${rawSelect} FROM ${src}`);
  const rawTypes = described.getRowObjectsJS().map((r) => String(r.column_type));
  const conversions: string[] = [];
  for (const [i, col] of ds.schema.entries()) {
    conversions.push(await chooseConversion(conn, col, i, rawTypes[i] ?? 'VARCHAR', `SELECT ${rawSelect} FROM ${src}`));
  }
  // `$` (the whole row as JSON) would also see read_parquet's filename column.
  const batchable = ds.schema.every((c) => columnPath(c.name, c.jsonPath).length > 0);
  return {
    fastSource: `SELECT ${rawSelect} FROM ${src}`,
    batchSource: batchable
      ? (paths) =>
          `SELECT ${rawSelect}, p.filename AS s3c_file FROM read_parquet(${fileListSql(paths)}, filename = true) AS p`
      : undefined,
    tolerantSource: (numbered, _bigLines) =>
      `SELECT ${numbered ? 'row_number() OVER () AS s3c_rn, ' : ''}${rawSelect}, CAST(NULL AS VARCHAR) AS s3c_bad FROM ${src}`,
    conversions,
    rawText: ds.schema.map((_, i) => textOf(rawCol(i), rawTypes[i] ?? 'VARCHAR')),
    footerRows,
  };
}

/** The conversion of column i from its Parquet type: the first candidate DuckDB binds over `rows`, else the last. */
async function chooseConversion(
  conn: DuckDBConnection,
  col: Column,
  i: number,
  rawType: string,
  rows: string,
): Promise<string> {
  const candidates = convertFromTypedCandidates(rawCol(i), rawType, col.type);
  for (const cand of candidates.slice(0, -1)) {
    if (await binds(conn, `SELECT ${cand} FROM (${rows})`)) return cand;
  }
  return candidates[candidates.length - 1]!;
}

async function binds(conn: DuckDBConnection, sql: string): Promise<boolean> {
  try {
    await conn.runAndReadAll(`DESCRIBE ${sql}`);
    return true;
  } catch {
    return false;
  }
}

async function typeOf(conn: DuckDBConnection, expr: string, src: string): Promise<string | undefined> {
  try {
    const r = await conn.runAndReadAll(`DESCRIBE SELECT ${expr} FROM ${src}`);
    return String(r.getRowObjectsJS()[0]?.column_type);
  } catch (e) {
    // A missing column/field is a missing value; a file problem is not.
    if (/Binder Error/i.test(firstLine(e))) return undefined;
    throw e;
  }
}

/** SQL for a JSONPath over a Parquet row `p`; a path absent from the schema gives NULL. */
async function resolveParquetPath(conn: DuckDBConnection, src: string, segs: PathSegment[]): Promise<string> {
  if (segs.length === 0) return 'CAST(to_json(p) AS VARCHAR)';
  if (segs[0]!.kind !== 'key') return 'CAST(NULL AS VARCHAR)';
  let expr = `p.${quoteIdent(segs[0]!.name)}`;
  let type = await typeOf(conn, expr, src);
  for (let k = 1; k < segs.length; k++) {
    if (type === undefined) return 'CAST(NULL AS VARCHAR)';
    const s = segs[k]!;
    if (type === 'VARCHAR' || type === 'JSON') {
      // A JSON text column: the rest of the path applies inside it.
      return `json_extract_string(${expr}, ${sqlString(duckJsonPath(segs.slice(k)))})`;
    }
    if (s.kind === 'all') return expr;
    expr = s.kind === 'key' ? `(${expr})[${sqlString(s.name)}]` : `(${expr})[${s.index >= 0 ? s.index + 1 : s.index}]`;
    type = await typeOf(conn, expr, src);
  }
  return type === undefined ? 'CAST(NULL AS VARCHAR)' : expr;
}
