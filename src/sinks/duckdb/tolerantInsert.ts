/**
 * The tolerant insert: two streaming passes over the file (no full staging,
 * so memory stays flat for multi-GB files). The first loads the good rows,
 * the second numbers rows in file order and keeps only the bad ones (few) in
 * a TEMP table, from which the quarantine rows are written once the
 * structural rejects (CSV/NDJSON lines DuckDB could not split) are known.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { convCol, rawCol } from '../duckdbConvert';
import { quarantineTableName, quoteIdent, sqlString } from '../duckdbTypes';
import type { DataSourceDef } from '../../datafiles/types';
import type { IngestFileInput } from '../destination';
import type { ReadPlan } from './formats';
import { dropScratchTables, TEMP_BAD_ROWS, TEMP_REJ, TEMP_REJECTS } from './scratchTables';
import { failConditions, finalValue, type FailCondition } from './strictInsert';

const EMPTY_LIST = 'CAST([] AS VARCHAR[])';

/** One tolerant load: the data source, its plan and the SQL pieces both passes use. */
interface Tolerant {
  c: DuckDBConnection;
  ds: DataSourceDef;
  plan: ReadPlan;
  fails: FailCondition[][];
  anyFailSql: string;
  /** The tolerant relation with raw and converted columns (`numbered`: with s3c_rn). */
  conv: (numbered: boolean) => string;
  /** The quarantine table and its columns, and the values every quarantine row shares. */
  qtable: string;
  qcols: string;
  common: string;
}

/**
 * Loads the good rows of `plan` into the data source's table and the bad
 * ones into its quarantine table (inside the caller's transaction); or
 * 'needBigLines' when a line is longer than read_csv's default limit.
 */
export async function tolerantInsert(
  c: DuckDBConnection,
  ds: DataSourceDef,
  plan: ReadPlan,
  input: IngestFileInput,
  loadedAt: string,
  bigLines: boolean,
): Promise<{ rows: number; quarantined: number } | 'needBigLines'> {
  const t = tolerant(c, ds, plan, input, loadedAt, bigLines);
  await dropScratchTables(c);
  const rows = await insertGoodRows(t);
  await collectBadRows(t);
  if (plan.rejects && !bigLines && (await hasLongLines(c))) return 'needBigLines';
  const lineExpr = await collectRejects(t);
  let quarantined = await quarantineBadRows(t, lineExpr);
  quarantined += await quarantineRejects(t);
  await dropScratchTables(c);
  return { rows, quarantined };
}

function tolerant(
  c: DuckDBConnection,
  ds: DataSourceDef,
  plan: ReadPlan,
  input: IngestFileInput,
  loadedAt: string,
  bigLines: boolean,
): Tolerant {
  const cols = ds.schema;
  const tolerantSource = plan.tolerantSource;
  if (!tolerantSource) throw new Error('internal: a read plan without a tolerant source');
  const conv = (numbered: boolean) =>
    `SELECT ${numbered ? 's3c_rn, ' : ''}s3c_bad, ${cols.map((_, i) => rawCol(i)).join(', ')}, ` +
    `${plan.conversions.map((x, i) => `${x} AS ${convCol(i)}`).join(', ')} FROM (${tolerantSource(numbered, bigLines)})`;
  const fails = cols.map((col, i) => failConditions(col, i));
  const anyFail = fails.flat().map((f) => f.cond);
  return {
    c,
    ds,
    plan,
    fails,
    anyFailSql: anyFail.length ? anyFail.join(' OR ') : 'false',
    conv,
    qtable: quoteIdent(quarantineTableName(ds.name)),
    qcols: `${cols.map((x) => quoteIdent(x.name)).join(', ')}, c__error_column, c__error, c__import_id, insertion_date, c__object_key, c__line`,
    common: `${sqlString(input.jobId)}, CAST(${sqlString(loadedAt.replace('Z', ''))} AS TIMESTAMP), ${sqlString(input.key)}`,
  };
}

/** Pass 1: the good rows, into the data source's table. */
async function insertGoodRows(t: Tolerant): Promise<number> {
  const cols = t.ds.schema;
  const good = await t.c.run(
    `INSERT INTO ${quoteIdent(t.ds.name)} (${cols.map((x) => quoteIdent(x.name)).join(', ')}) ` +
      `SELECT ${cols.map((col, i) => finalValue(col, i)).join(', ')} FROM (${t.conv(false)}) WHERE s3c_bad IS NULL AND NOT (${t.anyFailSql})`,
  );
  return good.rowsChanged;
}

/** Pass 2: the bad rows, numbered in file order (needs order preservation; reset by the caller on error). */
async function collectBadRows(t: Tolerant): Promise<void> {
  const cols = t.ds.schema;
  const errColumns = `flatten([${cols
    .map((col, i) => {
      const f = t.fails[i]!;
      return f.length
        ? `CASE WHEN ${f.map((x) => x.cond).join(' OR ')} THEN [${sqlString(col.name)}] ELSE ${EMPTY_LIST} END`
        : EMPTY_LIST;
    })
    .join(', ')}])`;
  const errTexts = `flatten([${cols
    .map((_, i) => {
      const f = t.fails[i]!;
      return f.length
        ? `CASE ${f.map((x) => `WHEN ${x.cond} THEN [${x.message}]`).join(' ')} ELSE ${EMPTY_LIST} END`
        : EMPTY_LIST;
    })
    .join(', ')}])`;
  await t.c.run('SET preserve_insertion_order = true');
  await t.c.run(
    `CREATE TEMP TABLE ${TEMP_BAD_ROWS} AS SELECT s3c_rn, s3c_bad, ` +
      `${t.plan.rawText.map((x, i) => `CASE WHEN s3c_bad IS NULL THEN ${x} END AS ${quoteIdent(`s3c_q${i}`)}`).join(', ')}, ` +
      `CASE WHEN s3c_bad IS NULL THEN ${errColumns} ELSE ${EMPTY_LIST} END AS s3c_err_cols, ` +
      `CASE WHEN s3c_bad IS NULL THEN ${errTexts} END AS s3c_errs ` +
      `FROM (${t.conv(true)}) WHERE s3c_bad IS NOT NULL OR ${t.anyFailSql}`,
  );
  await t.c.run('SET preserve_insertion_order = false');
}

/** Whether read_csv skipped a line longer than its limit (the load is then done again with a larger one). */
async function hasLongLines(c: DuckDBConnection): Promise<boolean> {
  const long = await c.runAndReadAll(
    `SELECT count(*)::INT AS n FROM ${TEMP_REJECTS} WHERE CAST(error_type AS VARCHAR) = 'LINE SIZE OVER MAXIMUM'`,
  );
  return Number(long.getRowObjectsJS()[0]?.n ?? 0) > 0;
}

/**
 * The structural rejects, one row per line, in TEMP_REJ; returns the SQL of
 * a bad row's line (s3c_rn counts only the records DuckDB could split).
 */
async function collectRejects(t: Tolerant): Promise<string> {
  const prefixDelim = t.plan.rejects?.prefixDelim;
  if (prefixDelim !== undefined) {
    // The splitter's output: a reject's line is the number before its first delimiter, its text what follows.
    const d = sqlString(prefixDelim);
    await t.c.run(
      `CREATE TEMP TABLE ${TEMP_REJ} AS SELECT TRY_CAST(split_part(csv_line, ${d}, 1) AS BIGINT) AS line, ` +
        `substr(csv_line, strpos(csv_line, ${d}) + 1) AS csv_line, error_type, error_message FROM (` +
        'SELECT line, min(csv_line) AS csv_line, min(CAST(error_type AS VARCHAR)) AS error_type, ' +
        `string_agg(DISTINCT error_message, '; ') AS error_message FROM ${TEMP_REJECTS} GROUP BY line)`,
    );
    return 's3c_rn';
  }
  if (!t.plan.rejects) return 's3c_rn';
  const h = t.plan.rejects.headerLines;
  // One row per rejected line, with the number of accepted records before it.
  await t.c.run(
    `CREATE TEMP TABLE ${TEMP_REJ} AS SELECT line, csv_line, error_type, error_message, ` +
      `CAST(line AS BIGINT) - ${h} - row_number() OVER (ORDER BY line) AS before FROM (` +
      'SELECT line, min(csv_line) AS csv_line, min(CAST(error_type AS VARCHAR)) AS error_type, ' +
      `string_agg(DISTINCT error_message, '; ') AS error_message FROM ${TEMP_REJECTS} GROUP BY line)`,
  );
  return `s3c_rn + ${h} + (SELECT count(*) FROM ${TEMP_REJ} AS r WHERE r.before < s3c_rn)`;
}

/** The rows that did not convert (or whole lines marked bad), into the quarantine table. */
async function quarantineBadRows(t: Tolerant, lineExpr: string): Promise<number> {
  const bad = await t.c.run(
    `INSERT INTO ${t.qtable} (${t.qcols}) SELECT ${t.ds.schema.map((_, i) => quoteIdent(`s3c_q${i}`)).join(', ')}, s3c_err_cols, ` +
      `CASE WHEN s3c_bad IS NULL THEN s3c_errs ELSE ['line ' || s3c_line || ' ' || s3c_bad] END, ${t.common}, s3c_line ` +
      `FROM (SELECT *, ${lineExpr} AS s3c_line FROM ${TEMP_BAD_ROWS})`,
  );
  return bad.rowsChanged;
}

/** The lines DuckDB (and the CSV splitter) could not split, into the quarantine table. */
async function quarantineRejects(t: Tolerant): Promise<number> {
  const rejects = t.plan.rejects;
  if (!rejects) return 0;
  const nulls = t.ds.schema.map(() => 'NULL').join(', ');
  const what =
    rejects.kind === 'csv'
      ? "CASE WHEN error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS') THEN ' has the wrong number of fields (' ELSE ' could not be parsed as CSV (' END || error_message || ')'"
      : "' is not valid JSON'";
  const rej = await t.c.run(
    `INSERT INTO ${t.qtable} (${t.qcols}) SELECT ${nulls}, ${EMPTY_LIST}, ` +
      `['line ' || line || ${what} || ': ''' || trim(csv_line, chr(10) || chr(13)) || ''''], ${t.common}, line FROM ${TEMP_REJ}`,
  );
  if (!rejects.splitBad) return rej.rowsChanged;
  // Records the CSV splitter found malformed, with the same wording as DuckDB's rejects.
  const bad = await t.c.run(
    `INSERT INTO ${t.qtable} (${t.qcols}) SELECT ${nulls}, ${EMPTY_LIST}, ` +
      "['line ' || line || CASE WHEN starts_with(reason, 'Expected Number of Columns') THEN ' has the wrong number of fields (' " +
      "ELSE ' could not be parsed as CSV (' END || reason || '): ''' || text || ''''], " +
      `${t.common}, line FROM read_json(${sqlString(rejects.splitBad)}, format = 'newline_delimited', records = true, ` +
      "auto_detect = false, columns = {'line': 'BIGINT', 'reason': 'VARCHAR', 'text': 'VARCHAR'})",
  );
  return rej.rowsChanged + bad.rowsChanged;
}
