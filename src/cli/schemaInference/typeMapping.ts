/**
 * DuckDB types to schema types (the table of ./index.ts), and the widenings
 * that missing values and NULL elements ask for.
 */
import { type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import type { ColumnType, FileFormat } from '../../datafiles/types';

/** Fraction digits a timestamp type can hold (0, 3, 6 or 9), or undefined for non-timestamps. */
export function timestampDigits(type: DuckDBType): 0 | 3 | 6 | 9 | undefined {
  switch (type.typeId) {
    case DuckDBTypeId.TIMESTAMP_S:
      return 0;
    case DuckDBTypeId.TIMESTAMP_MS:
      return 3;
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 6;
    case DuckDBTypeId.TIMESTAMP_NS:
      return 9;
    default:
      return undefined;
  }
}

export const STRING: ColumnType = { kind: 'String' };
const INT_BITS: Partial<Record<DuckDBTypeId, { bits: 8 | 16 | 32 | 64; signed: boolean }>> = {
  [DuckDBTypeId.TINYINT]: { bits: 8, signed: true },
  [DuckDBTypeId.SMALLINT]: { bits: 16, signed: true },
  [DuckDBTypeId.INTEGER]: { bits: 32, signed: true },
  [DuckDBTypeId.BIGINT]: { bits: 64, signed: true },
  [DuckDBTypeId.UTINYINT]: { bits: 8, signed: false },
  [DuckDBTypeId.USMALLINT]: { bits: 16, signed: false },
  [DuckDBTypeId.UINTEGER]: { bits: 32, signed: false },
  [DuckDBTypeId.UBIGINT]: { bits: 64, signed: false },
};

/** Schema type and, when the value is kept as text, why. */
export interface MappedType {
  type: ColumnType;
  /** The DuckDB type's text, set when it has no schema counterpart and the value is kept as text. */
  asText?: string;
}

/**
 * Maps a DuckDB type to a schema type (the table of the module doc). A
 * top-level STRUCT is flattened by the caller before it gets here; a STRUCT
 * met here (inside a LIST or MAP) makes the whole value String (its JSON text).
 *
 * @param fractionDigits - for timestamps: the fraction digits the sample
 *   needs (0 gives DateTime); defaults to what the type can hold.
 */
export function schemaTypeOfDuckDb(type: DuckDBType, fractionDigits?: number): MappedType {
  const ints = INT_BITS[type.typeId];
  if (ints) return { type: { kind: 'Int', ...ints } };
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.SQLNULL:
      return { type: STRING };
    case DuckDBTypeId.BOOLEAN:
      return { type: { kind: 'Bool' } };
    case DuckDBTypeId.FLOAT:
      return { type: { kind: 'Float', bits: 32 } };
    case DuckDBTypeId.DOUBLE:
      return { type: { kind: 'Float', bits: 64 } };
    case DuckDBTypeId.DECIMAL:
      return { type: { kind: 'Decimal', precision: type.width, scale: type.scale } };
    case DuckDBTypeId.DATE:
      return { type: { kind: 'Date' } };
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_NS: {
      const max = timestampDigits(type) ?? 6;
      const digits = Math.min(max, fractionDigits ?? max);
      return { type: digits === 0 ? { kind: 'DateTime' } : { kind: 'DateTime64', precision: digits } };
    }
    case DuckDBTypeId.UUID:
      return { type: { kind: 'UUID' } };
    case DuckDBTypeId.ENUM:
      return { type: { kind: 'LowCardinality', inner: STRING } };
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const element = schemaTypeOfDuckDb(type.valueType);
      if (element.asText !== undefined) return { type: STRING, asText: type.toString() };
      return { type: { kind: 'Array', element: element.type } };
    }
    case DuckDBTypeId.MAP: {
      const value = schemaTypeOfDuckDb(type.valueType);
      if (value.asText !== undefined) return { type: STRING, asText: type.toString() };
      const key = schemaTypeOfDuckDb(type.keyType).type;
      const keyOk = key.kind === 'Int' || key.kind === 'UUID' || key.kind === 'Date' || key.kind === 'DateTime';
      return { type: { kind: 'Map', key: keyOk ? key : STRING, value: value.type } };
    }
    case DuckDBTypeId.STRUCT:
      return { type: STRING, asText: type.toString() };
    default:
      return { type: STRING, asText: type.toString() };
  }
}

/**
 * The column's final type and DEFAULT, given whether the sample held missing
 * values in it (see "Missing values" in the module doc).
 */
export function withMissingValues(
  type: ColumnType,
  nullsSeen: boolean,
  format: FileFormat,
): { type: ColumnType; defaultExpr?: string } {
  if (!nullsSeen) return { type };
  if (type.kind === 'Array') return { type, defaultExpr: '[]' };
  if (type.kind === 'Map') return { type, defaultExpr: 'map()' };
  if (type.kind === 'Nullable') return { type };
  if (format === 'csv' && (type.kind === 'String' || (type.kind === 'LowCardinality' && type.inner.kind === 'String')))
    return { type };
  if (type.kind === 'LowCardinality')
    return { type: { kind: 'LowCardinality', inner: { kind: 'Nullable', inner: type.inner } } };
  return { type: { kind: 'Nullable', inner: type } };
}

/** Array(T) → Array(Nullable(T)), Map(K, V) → Map(K, Nullable(V)) when the element can be Nullable; else unchanged. */
export function withNullableElements(type: ColumnType): ColumnType {
  const nullable = (t: ColumnType): ColumnType | undefined =>
    t.kind === 'Nullable'
      ? t
      : t.kind === 'LowCardinality' || t.kind === 'Array' || t.kind === 'Map'
        ? undefined
        : { kind: 'Nullable', inner: t };
  if (type.kind === 'Array') {
    const e = nullable(type.element);
    return e ? { kind: 'Array', element: e } : type;
  }
  if (type.kind === 'Map') {
    const v = nullable(type.value);
    return v ? { kind: 'Map', key: type.key, value: v } : type;
  }
  return type;
}

/** DateTime, or DateTime64(3|6|9) for the fewest digits that hold `digits` written fraction digits. */
export function dateTimeOfDigits(digits: number): ColumnType {
  if (!(digits > 0)) return { kind: 'DateTime' };
  return { kind: 'DateTime64', precision: digits <= 3 ? 3 : digits <= 6 ? 6 : 9 };
}
