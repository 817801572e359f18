/**
 * The strict insert of the fast paths (one pass: every row converts or the
 * statement raises) and the per-column failure conditions it shares with
 * the tolerant insert.
 */
import { convCol, rawCol } from '../duckdbConvert';
import { defaultSql, isNullable, quoteIdent, sqlString } from '../duckdbTypes';
import type { Column, DataSourceDef } from '../../datafiles/types';

/** A way column i fails: its condition and its quarantine message (SQL). */
export interface FailCondition {
  kind: 'conversion' | 'missing';
  cond: string;
  message: string;
}

/**
 * INSERT into the data source's table of the final column values over
 * `source` (s3c_r<i> columns), raising an error on the first row that does not
 * convert: the strict one-pass read of the fast paths.
 *
 * The table's NOT NULL constraints already refuse a missing or unconvertible
 * value of a non-Nullable column (every conversion maps a failure, and NULL,
 * to NULL), so only Nullable columns are checked here. A check that cannot
 * fire (a column whose conversion is the raw value itself) is left out: per-row
 * CASEs cost about 10% on the single-threaded gzip reads.
 */
export function strictInsert(ds: DataSourceDef, conversions: string[], source: string): string {
  const cols = ds.schema;
  const inner = `SELECT ${cols.map((_, i) => rawCol(i)).join(', ')}, ${conversions
    .map((c, i) => `${c} AS ${convCol(i)}`)
    .join(', ')} FROM (${source})`;
  const values = cols.map((c, i) => {
    const identity = conversions[i] === rawCol(i);
    const checked = isNullable(c.type)
      ? failConditions(c, i).filter((x) => !(identity && x.kind === 'conversion'))
      : [];
    const v = finalValue(c, i);
    return checked.length === 0
      ? v
      : `CASE WHEN ${checked.map((x) => x.cond).join(' OR ')} THEN error('s3c: row does not convert') ELSE ${v} END`;
  });
  return `INSERT INTO ${quoteIdent(ds.name)} (${cols.map((c) => quoteIdent(c.name)).join(', ')}) SELECT ${values.join(', ')} FROM (${inner})`;
}

/** Conditions under which column i fails, each with its quarantine message (SQL). */
export function failConditions(col: Column, i: number): FailCondition[] {
  const r = rawCol(i);
  const v = convCol(i);
  const out: FailCondition[] = [
    {
      kind: 'conversion',
      cond: `(${r} IS NOT NULL AND ${v} IS NULL)`,
      message: `'value ''' || CAST(${r} AS VARCHAR) || ''' on column ' || ${sqlString(`'${col.name}' is not ${col.typeText}`)}`,
    },
  ];
  if (!isNullable(col.type) && defaultSql(col) === undefined) {
    out.push({
      kind: 'missing',
      cond: `(${r} IS NULL)`,
      message: sqlString(`missing value on column '${col.name}' (${col.typeText} is not Nullable)`),
    });
  }
  return out;
}

/** The value loaded into column i: the converted value, or the DEFAULT when missing. */
export function finalValue(col: Column, i: number): string {
  const def = defaultSql(col);
  return def ? `CASE WHEN ${rawCol(i)} IS NULL THEN ${def} ELSE ${convCol(i)} END` : convCol(i);
}
