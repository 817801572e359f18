/**
 * CSV: all-VARCHAR read_csv in the layout the file's first lines give (see
 * csvDialect.ts and docs/csv.md); the tolerant path reads the splitter's
 * output of it (csvSplit.ts): the splitter, not DuckDB, defines records.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { detectCsvDialect, headLines, mightBeTypedHeader, splitCsvLine, type CsvDialect } from '../../csvDialect';
import { convertFromString, rawCol } from '../../duckdbConvert';
import { defaultSql, isNullable, isStringLike, quoteIdent, sqlString } from '../../duckdbTypes';
import type { DataSourceDef } from '../../../datafiles/types';
import { splitCsv, type CsvSplitLayout } from '../../csvSplit';
import { readHead } from '../localFiles';
import type { FormatReader, ReadPlan } from './formatReader';
import { fileListSql, MAX_LINE_SIZE, tolerantOptions } from './readOptions';

export const csvReader: FormatReader = {
  text: true,
  gzipCounts: 'csv',
  pipesGzip: true,
  async plan(ctx, ds, path, gzip) {
    const dialect = await csvDialect(ctx.conn, ds, await readHead(path, gzip));
    return ctx.planners.get(ds, `csv\u0000${gzip}\u0000${JSON.stringify(dialect)}`, () =>
      csvPlanner(ds, dialect, gzip),
    )(path);
  },
};

/**
 * The CSV layout of a file whose first lines are `head` (see
 * detectCsvDialect). When the names do not tell a header and the first
 * record looks like words in typed columns, DuckDB is asked whether those
 * columns refuse the first record while they take the next ones (the
 * values are bound parameters).
 */
async function csvDialect(conn: DuckDBConnection, ds: DataSourceDef, head: string): Promise<CsvDialect> {
  const names = ds.schema.map((c) => c.name);
  const settings = { header: ds.import?.csvHeader, delimiter: ds.import?.csvDelimiter };
  const lines = headLines(head);
  const dialect = detectCsvDialect(lines, names, settings);
  if (dialect.header || settings.header !== undefined) return dialect;
  const records = lines
    .slice(dialect.skipLines)
    .filter((l) => l.trim() !== '')
    .slice(0, 3);
  const rows = records.map((l) => splitCsvLine(l, dialect.delim));
  const typed = ds.schema.map((c) => !isStringLike(c.type));
  if (rows.length < 2 || !mightBeTypedHeader(rows[0]!, typed)) return dialect;
  const fails = await typedColumnsRefuse(conn, ds, dialect, rows, typed);
  if (!fails[0] || fails.slice(1).some(Boolean)) return dialect;
  // A header has as many fields as the records after it (a title line has not).
  const typedHeader = detectCsvDialect(lines, names, settings, true);
  return rows.slice(1).every((f) => f.length === typedHeader.fields) ? typedHeader : dialect;
}

/** Per record of `rows`: whether one of its typed fields does not convert to its column's type. */
async function typedColumnsRefuse(
  conn: DuckDBConnection,
  ds: DataSourceDef,
  dialect: CsvDialect,
  rows: string[][],
  typed: boolean[],
): Promise<boolean[]> {
  const cols = ds.schema.map((c, i) => ({ c, i })).filter(({ i }) => typed[i] && dialect.index[i]! >= 0);
  const params: (string | null)[] = [];
  const selects = rows.map((fields) => {
    const values = cols.map(({ i }) => {
      const v = fields[dialect.index[i]!]?.trim();
      params.push(v === undefined || v === '' ? null : v);
      return `CAST($${params.length} AS VARCHAR) AS ${rawCol(i)}`;
    });
    const fails = cols.map(
      ({ c, i }) => `(${rawCol(i)} IS NOT NULL AND ${convertFromString(rawCol(i), c.type, 'text')} IS NULL)`,
    );
    return `SELECT ${params.length} AS s3c_at, (${fails.join(' OR ')}) AS s3c_fails FROM (SELECT ${values.join(', ')})`;
  });
  const r = await conn.runAndReadAll(`${selects.join(' UNION ALL ')} ORDER BY s3c_at`, params);
  return r.getRowObjectsJS().map((row) => row.s3c_fails === true);
}

/**
 * CSV: all-VARCHAR read_csv in the layout `dialect` gives (see csvDialect).
 * Files with the same layout share the planner.
 */
function csvPlanner(ds: DataSourceDef, dialect: CsvDialect, gzip: boolean): (path: string) => ReadPlan {
  const { delim, fields, header, skipLines, skipRecords, lastFieldOptional, index } = dialect;
  const fieldColumns = Array.from({ length: fields }, (_, k) => `'c${k}': 'VARCHAR'`).join(', ');
  const dialectOptions =
    `auto_detect = false, delim = ${sqlString(delim)}, quote = '"', escape = '"', allow_quoted_nulls = false, ` +
    `nullstr = ['', '\\N']${lastFieldOptional ? ', null_padding = true' : ''}`;
  const optionsFor = (compressed: boolean) =>
    `columns = {${fieldColumns}}, header = ${header ? 'true' : 'false'}, skip = ${skipLines}, ${dialectOptions}, ` +
    `compression = '${compressed ? 'gzip' : 'none'}'`;
  const options = optionsFor(gzip);
  // The splitter's output: each well-formed record behind its line number (see csvSplit).
  const splitOptions = `columns = {'s3c_line': 'BIGINT', ${fieldColumns}}, header = false, ${dialectOptions}, compression = 'none'`;
  const rawSelect = csvRawSelect(ds, index);
  const conversions = ds.schema.map((c, i) => convertFromString(rawCol(i), c.type, 'text'));
  const rawText = ds.schema.map((_, i) => rawCol(i));
  const layout: CsvSplitLayout = {
    delim,
    fields,
    header: header !== undefined,
    skipLines,
    skipRecords,
    lastFieldOptional,
  };
  return (path) => ({
    fastSource: `SELECT ${rawSelect} FROM read_csv(${sqlString(path)}, ${options})`,
    batchSource: (paths) =>
      `SELECT ${rawSelect}, filename AS s3c_file FROM read_csv(${fileListSql(paths)}, ${options}, filename = true)`,
    pipeSource: (pipe) => `SELECT ${rawSelect} FROM read_csv(${sqlString(pipe)}, ${optionsFor(false)})`,
    conversions,
    rawText,
    csv: layout,
    sortRecords: async (file) => {
      const goodPath = file.tempPath('good');
      const badPath = file.tempPath('bad');
      const split = await splitCsv(file.path, layout, {
        goodPath,
        badPath,
        gzip: file.gzip,
        maxRecordBytes: MAX_LINE_SIZE,
      });
      return {
        records: split.records,
        tolerantSource: (numbered, bigLines) =>
          `SELECT s3c_line AS s3c_rn, ${rawSelect}, CAST(NULL AS VARCHAR) AS s3c_bad ` +
          `FROM read_csv(${sqlString(goodPath)}, ${splitOptions}, ${tolerantOptions(numbered, bigLines)})`,
        rejects: { headerLines: 0, kind: 'csv', prefixDelim: delim, splitBad: split.bad > 0 ? badPath : undefined },
      };
    },
  });
}

/** The raw columns s3c_r<i> taken from the file's fields c<k> (`index`: the field of each schema column, or -1). */
function csvRawSelect(ds: DataSourceDef, index: number[]): string {
  const raws = ds.schema.map((c, i) => {
    // A column the file lacks (a header without its name) is a missing value.
    if (index[i]! < 0) return 'CAST(NULL AS VARCHAR)';
    const ref = quoteIdent(`c${index[i]!}`);
    // An empty field of a non-Nullable String column without DEFAULT is ''.
    return isStringLike(c.type) && !isNullable(c.type) && defaultSql(c) === undefined ? `COALESCE(${ref}, '')` : ref;
  });
  return raws.map((r, i) => `${r} AS ${rawCol(i)}`).join(', ');
}
