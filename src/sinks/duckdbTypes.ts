/**
 * Schema → DuckDB DDL for the DuckDB destination (SPEC R1.3, R4.3, R10.1).
 *
 * Type mapping (ClickHouse type of the schema language → DuckDB column type):
 *
 * | Schema type                         | DuckDB type                               |
 * |-------------------------------------|-------------------------------------------|
 * | String, LowCardinality(T)           | VARCHAR (LowCardinality: the type of T)   |
 * | FixedString(N)                      | VARCHAR (values longer than N bytes are   |
 * |                                     | quarantined; shorter ones are not padded) |
 * | UUID                                | UUID                                      |
 * | Bool                                | BOOLEAN                                   |
 * | Int8 / Int16 / Int32 / Int64        | TINYINT / SMALLINT / INTEGER / BIGINT     |
 * | UInt8 / UInt16 / UInt32 / UInt64    | UTINYINT / USMALLINT / UINTEGER / UBIGINT |
 * | Float32 / Float64                   | FLOAT / DOUBLE                            |
 * | Decimal(P, S)                       | DECIMAL(P, S) (P capped at 38, DuckDB max)|
 * | Date, Date32                        | DATE                                      |
 * | DateTime                            | TIMESTAMP (UTC wall time)                 |
 * | DateTime('tz')                      | TIMESTAMPTZ                               |
 * | DateTime64(p), p ≤ 3                | TIMESTAMP_MS                              |
 * | DateTime64(p), 4 ≤ p ≤ 6            | TIMESTAMP (microseconds)                  |
 * | DateTime64(p), p ≥ 7                | TIMESTAMP_NS                              |
 * | DateTime64(p, 'tz')                 | TIMESTAMPTZ (microseconds)                |
 * | Nullable(T)                         | the type of T, nullable column            |
 * | Array(T)                            | T[]                                       |
 * | Map(String, T)                      | MAP(VARCHAR, T)                           |
 *
 * Every column whose type is not Nullable (nor LowCardinality(Nullable(T))) is
 * NOT NULL.
 */
import type { Column, ColumnType, DataSourceDef } from '../datafiles/types';

/** The ingestion ledger shared by every data source of a database file. */
export const LEDGER_TABLE = 's3c_ledger';

/** Name of a data source's quarantine table (R4.3). */
export function quarantineTableName(dataSource: string): string {
  return `${dataSource}_quarantine`;
}

/** Quotes an SQL identifier (`"a ""b"""`). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes an SQL string literal (`'it''s'`). */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** True when the column accepts NULL (Nullable(T) or LowCardinality(Nullable(T))). */
export function isNullable(type: ColumnType): boolean {
  if (type.kind === 'Nullable') return true;
  if (type.kind === 'LowCardinality') return isNullable(type.inner);
  return false;
}

/** The type without its Nullable / LowCardinality wrappers. */
export function baseType(type: ColumnType): ColumnType {
  if (type.kind === 'Nullable' || type.kind === 'LowCardinality') return baseType(type.inner);
  return type;
}

/** True for String-like types (String, FixedString) once unwrapped. */
export function isStringLike(type: ColumnType): boolean {
  const b = baseType(type);
  return b.kind === 'String' || b.kind === 'FixedString';
}

/** The DuckDB type (without NULL constraint) for a schema type; see the table above. */
export function duckDbType(type: ColumnType): string {
  switch (type.kind) {
    case 'String':
    case 'FixedString':
      return 'VARCHAR';
    case 'LowCardinality':
    case 'Nullable':
      return duckDbType(type.inner);
    case 'UUID':
      return 'UUID';
    case 'Bool':
      return 'BOOLEAN';
    case 'Int': {
      const names = { 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' } as const;
      return (type.signed ? '' : 'U') + names[type.bits];
    }
    case 'Float':
      return type.bits === 32 ? 'FLOAT' : 'DOUBLE';
    case 'Decimal': {
      const p = Math.min(Math.max(type.precision, 1), 38);
      const s = Math.min(Math.max(type.scale, 0), p);
      return `DECIMAL(${p}, ${s})`;
    }
    case 'Date':
    case 'Date32':
      return 'DATE';
    case 'DateTime':
      return type.timezone ? 'TIMESTAMPTZ' : 'TIMESTAMP';
    case 'DateTime64':
      if (type.timezone) return 'TIMESTAMPTZ';
      if (type.precision <= 3) return 'TIMESTAMP_MS';
      if (type.precision <= 6) return 'TIMESTAMP';
      return 'TIMESTAMP_NS';
    case 'Array':
      return `${duckDbType(type.element)}[]`;
    case 'Map':
      return `MAP(${duckDbType(type.key)}, ${duckDbType(type.value)})`;
  }
}

/**
 * Translates a ClickHouse `DEFAULT` expression to DuckDB SQL.
 *
 * Literals pass through (string literals have their backslash escapes turned
 * into SQL escapes); the common functions are renamed: `now()`, `now64(p)` →
 * `now()`, `today()` → `current_date`, `yesterday()` → `current_date - 1`,
 * `generateUUIDv4()` → `uuid()`, `toDate(x)`/`toDateTime(x)`/`toString(x)`… →
 * casts. Anything else is passed through unchanged, and `ensureTables` checks
 * that DuckDB accepts it.
 */
export function translateDefault(expr: string): string {
  let out = '';
  let i = 0;
  const text = expr.trim();
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "'") {
      // ClickHouse string literal: backslash escapes and '' both allowed.
      let j = i + 1;
      let value = '';
      while (j < text.length) {
        const c = text[j]!;
        if (c === '\\' && j + 1 < text.length) {
          const n = text[j + 1]!;
          value += n === 'n' ? '\n' : n === 't' ? '\t' : n === '0' ? '\0' : n;
          j += 2;
        } else if (c === "'" && text[j + 1] === "'") {
          value += "'";
          j += 2;
        } else if (c === "'") {
          j += 1;
          break;
        } else {
          value += c;
          j += 1;
        }
      }
      out += sqlString(value);
      i = j;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (m) {
      const word = m[0];
      const rest = text.slice(i + word.length);
      const call = /^\s*\(/.test(rest);
      const lower = word.toLowerCase();
      if (call && (lower === 'now' || lower === 'now64')) {
        // drop any precision argument
        const close = rest.indexOf(')');
        out += 'now()';
        i += word.length + close + 1;
        continue;
      }
      if (call && (lower === 'today' || lower === 'yesterday' || lower === 'generateuuidv4')) {
        const close = rest.indexOf(')');
        out += lower === 'today' ? 'current_date' : lower === 'yesterday' ? '(current_date - 1)' : 'uuid()';
        i += word.length + close + 1;
        continue;
      }
      const casts: Record<string, string> = {
        todate: 'CAST(',
        todate32: 'CAST(',
        todatetime: 'CAST(',
        todatetime64: 'CAST(',
        tostring: 'CAST(',
      };
      if (call && casts[lower] !== undefined) {
        // toX(arg[, ...]) → CAST(arg AS T); only the first argument is kept.
        const target: Record<string, string> = {
          todate: 'DATE',
          todate32: 'DATE',
          todatetime: 'TIMESTAMP',
          todatetime64: 'TIMESTAMP',
          tostring: 'VARCHAR',
        };
        const open = rest.indexOf('(');
        const inner = splitFirstArg(rest.slice(open + 1));
        if (inner) {
          out += `CAST(${translateDefault(inner.arg)} AS ${target[lower]})`;
          i += word.length + open + 1 + inner.consumed;
          continue;
        }
      }
      out += word;
      i += word.length;
      continue;
    }
    out += ch;
    i += 1;
  }
  return out;
}

/** From `a, b)rest` returns the first argument and how many chars up to and including `)`. */
function splitFirstArg(s: string): { arg: string; consumed: number } | undefined {
  let depth = 0;
  let inStr = false;
  let firstEnd = -1;
  for (let k = 0; k < s.length; k++) {
    const c = s[k]!;
    if (inStr) {
      if (c === '\\') k++;
      else if (c === "'") inStr = false;
      continue;
    }
    if (c === "'") inStr = true;
    else if (c === '(') depth++;
    else if (c === ')') {
      if (depth === 0) {
        return { arg: s.slice(0, firstEnd < 0 ? k : firstEnd), consumed: k + 1 };
      }
      depth--;
    } else if (c === ',' && depth === 0 && firstEnd < 0) firstEnd = k;
  }
  return undefined;
}

/** The DuckDB expression for a column's DEFAULT, cast to the column type. */
export function defaultSql(column: Column): string | undefined {
  if (column.defaultExpr === undefined || column.defaultExpr.trim() === '') return undefined;
  return `CAST((${translateDefault(column.defaultExpr)}) AS ${duckDbType(column.type)})`;
}

/** Column definition of the typed table. */
function columnDdl(column: Column): string {
  const def = defaultSql(column);
  return (
    `${quoteIdent(column.name)} ${duckDbType(column.type)}` +
    (isNullable(column.type) ? '' : ' NOT NULL') +
    (def ? ` DEFAULT (${def})` : '')
  );
}

/** `CREATE TABLE IF NOT EXISTS` for the ledger shared by all data sources. */
export function ledgerDdl(): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (` +
    'data_source VARCHAR NOT NULL, bucket VARCHAR NOT NULL, key VARCHAR NOT NULL, etag VARCHAR NOT NULL, ' +
    'size BIGINT NOT NULL, last_modified VARCHAR, format VARCHAR, rows BIGINT NOT NULL, quarantined BIGINT NOT NULL, ' +
    'job_id VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL, ' +
    'PRIMARY KEY (data_source, bucket, key, etag))'
  );
}

/**
 * The DuckDB DDL of a data source: its typed table, its quarantine table and
 * the shared ledger, each as an idempotent `CREATE TABLE IF NOT EXISTS`.
 *
 * The quarantine table has every schema column as nullable VARCHAR (the raw
 * value), then `c__error_column VARCHAR[]`, `c__error VARCHAR[]`,
 * `c__import_id VARCHAR`, `insertion_date TIMESTAMP`, `c__object_key VARCHAR`
 * and `c__line BIGINT` (line for CSV/NDJSON, 1-based row for Parquet).
 */
export function tableDdl(ds: DataSourceDef): string[] {
  if (ds.schema.length === 0) throw new Error(`data source '${ds.name}' has no columns`);
  const table = `CREATE TABLE IF NOT EXISTS ${quoteIdent(ds.name)} (${ds.schema.map(columnDdl).join(', ')})`;
  const quarantine =
    `CREATE TABLE IF NOT EXISTS ${quoteIdent(quarantineTableName(ds.name))} (` +
    ds.schema.map((c) => `${quoteIdent(c.name)} VARCHAR`).join(', ') +
    ', c__error_column VARCHAR[], c__error VARCHAR[], c__import_id VARCHAR, insertion_date TIMESTAMP, ' +
    'c__object_key VARCHAR, c__line BIGINT)';
  return [table, quarantine, ledgerDdl()];
}
