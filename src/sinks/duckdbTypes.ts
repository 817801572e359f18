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
import { checkDefaultExpr, NUMBER_TEXT, type DefaultValue } from '../datafiles/defaultExpr';
import {
  INTERNAL_TABLE_PREFIX,
  QUARANTINE_EXTRA_COLUMNS,
  QUARANTINE_SUFFIX,
  sampleTableName,
} from '../datafiles/reserved';

/** The ingestion ledger shared by every data source of a database file (the `s3c_` prefix is reserved: see datafiles/reserved). */
export const LEDGER_TABLE = `${INTERNAL_TABLE_PREFIX}ledger`;

/** Name of a data source's quarantine table (R4.3). */
export function quarantineTableName(dataSource: string): string {
  return `${dataSource}${QUARANTINE_SUFFIX}`;
}

/**
 * The definition a sample import loads with: the same schema, under the
 * name of the data source's sample table (`<name>__sample`, whose quarantine
 * is `<name>__sample_quarantine`), so sampled rows never reach production.
 */
export function sampleDataSource(ds: DataSourceDef): DataSourceDef {
  return { ...ds, name: sampleTableName(ds.name) };
}

/** Quotes an SQL identifier (`"a ""b"""`); throws on a NUL (see {@link refuseNul}). */
export function quoteIdent(name: string): string {
  return `"${refuseNul(name).replaceAll('"', '""')}"`;
}

/** Quotes an SQL string literal (`'it''s'`); throws on a NUL (see {@link refuseNul}). */
export function sqlString(value: string): string {
  return `'${refuseNul(value).replaceAll("'", "''")}'`;
}

/**
 * DuckDB reads SQL text up to its first NUL: a quoted NUL would make it run a
 * prefix of our statement, closing quote missing. The parsers refuse NUL in
 * names, DEFAULTs and JSONPaths; this is the net under them.
 */
function refuseNul(text: string): string {
  if (text.includes('\0')) throw new Error(`a NUL character in SQL text ${JSON.stringify(text.slice(0, 80))}`);
  return text;
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
 * The DuckDB SQL of a checked DEFAULT (see src/datafiles/defaultExpr.ts).
 * Every piece is ours: keywords and functions from a fixed set, numbers that
 * match their canonical form, text through {@link sqlString}. Nothing of the
 * datafile is copied through.
 */
export function renderDefault(v: DefaultValue): string {
  switch (v.kind) {
    case 'number':
      if (!NUMBER_TEXT.test(v.text)) throw new Error(`internal: not a number: ${JSON.stringify(v.text)}`);
      return v.text.startsWith('-') ? `(${v.text})` : v.text;
    case 'string':
      return sqlString(v.value);
    case 'bool':
      return v.value ? 'true' : 'false';
    case 'null':
      return 'NULL';
    case 'now':
      return 'now()';
    case 'today':
      return 'current_date';
    case 'yesterday':
      return '(current_date - 1)';
    case 'uuid':
      return 'uuid()';
    case 'epoch':
      return `to_timestamp(${renderDefault(v.seconds)})`;
    case 'cast':
      return `CAST(${renderDefault(v.value)} AS ${{ date: 'DATE', datetime: 'TIMESTAMP', string: 'VARCHAR' }[v.to]})`;
    case 'inZone':
      return `timezone(${sqlString(v.timezone)}, CAST(${renderDefault(v.value)} AS TIMESTAMP))`;
    case 'shift': {
      const op = v.sign === 1 ? '+' : '-';
      return v.unit === 'days'
        ? `(${renderDefault(v.base)} ${op} CAST(${renderDefault(v.amount)} AS INTEGER))`
        : `(${renderDefault(v.base)} ${op} to_seconds(${renderDefault(v.amount)}))`;
    }
    case 'array':
      return `[${v.items.map(renderDefault).join(', ')}]`;
    case 'map':
      return `MAP {${v.entries.map(([k, x]) => `${renderDefault(k)}: ${renderDefault(x)}`).join(', ')}}`;
  }
}

/**
 * The DuckDB expression for a column's DEFAULT, cast to the column type.
 * The text as written is parsed again and checked against the column type
 * (a definition deployed before the grammar was closed is refused here,
 * never run).
 *
 * @throws Error naming the problem, when the DEFAULT is outside the grammar.
 */
export function defaultSql(column: Column): string | undefined {
  if (column.defaultExpr === undefined || column.defaultExpr.trim() === '') return undefined;
  const checked = checkDefaultExpr(column.defaultExpr, column.type);
  if (!checked.ok) {
    const p = checked.problem;
    throw new Error(`${p.what}: found ${p.found}, expected ${p.expected}${p.hint ? `; ${p.hint}` : ''}`);
  }
  return `CAST((${renderDefault(checked.value)}) AS ${duckDbType(column.type)})`;
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

/**
 * `CREATE TABLE IF NOT EXISTS` for the ledger shared by all data sources.
 * Without `primaryKey` for a DuckLake, which has no unique constraints (its
 * destination keeps exactly once another way: see sinks/ducklake/tokens.ts).
 */
export function ledgerDdl(primaryKey = true): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (` +
    'data_source VARCHAR NOT NULL, bucket VARCHAR NOT NULL, key VARCHAR NOT NULL, etag VARCHAR NOT NULL, ' +
    'size BIGINT NOT NULL, last_modified VARCHAR, format VARCHAR, rows BIGINT NOT NULL, quarantined BIGINT NOT NULL, ' +
    'job_id VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL' +
    (primaryKey ? ', PRIMARY KEY (data_source, bucket, key, etag))' : ')')
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
    QUARANTINE_EXTRA_COLUMNS.map(([name, type]) => `, ${name} ${type}`).join('') +
    ')';
  return [table, quarantine, ledgerDdl()];
}
