/**
 * DuckDB values as the JSON of `s3c sql` and `GET /v0/sql`
 * (docs/querying.md "Types"): node-api's JSON conversion (BIGINT, HUGEINT
 * and DECIMAL as strings, lists as arrays, structs as objects, NaN and
 * infinities as strings), with timestamps in ISO 8601 (`T`, and `Z` for
 * TIMESTAMPTZ, always in UTC: node-api would render it in the process's zone).
 */
import {
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
} from '@duckdb/node-api';
import type { SqlValue } from '../../contract/sql';

/** `2024-01-02 03:04:05.5` → `2024-01-02T03:04:05.5`; `infinity` stays. */
function isoTimestamp(text: string): string {
  return text.replace(/^(-?\d{4,}-\d\d-\d\d) /, '$1T');
}

/** A TIMESTAMPTZ as UTC, `Z`-suffixed when it is an instant (not ±infinity). */
function isoInstant(value: DuckDBTimestampTZValue): string {
  const text = isoTimestamp(new DuckDBTimestampValue(value.micros).toString());
  return text.includes('T') ? `${text}Z` : text;
}

const TIMESTAMPS = new Set([
  DuckDBTypeId.TIMESTAMP,
  DuckDBTypeId.TIMESTAMP_S,
  DuckDBTypeId.TIMESTAMP_MS,
  DuckDBTypeId.TIMESTAMP_NS,
]);

/** The converter, recursive through lists, structs, maps and unions. */
const toJson: DuckDBValueConverter<SqlValue> = (value, type, converter) => {
  if (value === null) return null;
  if (type.typeId === DuckDBTypeId.TIMESTAMP_TZ && value instanceof DuckDBTimestampTZValue) return isoInstant(value);
  if (TIMESTAMPS.has(type.typeId)) return isoTimestamp(String(value));
  return JsonDuckDBValueConverter(value, type, converter) as SqlValue;
};

/** One DuckDB value of `type` as JSON. */
export function sqlValue(value: DuckDBValue, type: DuckDBType): SqlValue {
  return toJson(value, type, toJson);
}
