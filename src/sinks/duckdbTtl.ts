/**
 * `ENGINE_TTL` on DuckDB (issue 19, item 6): DuckDB has no TTL, so a
 * schedule deletes expired rows with the statement rendered here from the
 * parsed rule (src/datafiles/ttl.ts). Only quoted identifiers and bound
 * parameters come from the datafile; the function name comes from our table.
 */
import type { TtlRule, TtlUnit } from '../datafiles/types';
import { quoteIdent } from './duckdbTypes';

/** DuckDB's interval constructor for each unit (calendar-aware for months and years). */
const INTERVAL_FUNCTION: Readonly<Record<TtlUnit, string>> = {
  second: 'to_seconds',
  minute: 'to_minutes',
  hour: 'to_hours',
  day: 'to_days',
  week: 'to_weeks',
  month: 'to_months',
  quarter: 'to_quarters',
  year: 'to_years',
};

/**
 * The DELETE of a table's expired rows: parameters `$1` the amount, `$2` the
 * instant the rule is evaluated at. A row expires when `column + interval <= now`
 * (ClickHouse's rule); a NULL column never expires.
 *
 * @example ttlDeleteSql('events', { column: 'timestamp', amount: 60, unit: 'day' })
 * // DELETE FROM "events" WHERE "timestamp" + to_days($1::BIGINT) <= $2::TIMESTAMPTZ
 */
export function ttlDeleteSql(table: string, rule: TtlRule): string {
  const fn = Object.hasOwn(INTERVAL_FUNCTION, rule.unit) ? INTERVAL_FUNCTION[rule.unit] : undefined;
  // The rule travelled through Temporal payloads: check again what is rendered.
  if (!fn) throw new Error(`unknown ENGINE_TTL unit ${JSON.stringify(rule.unit)}`);
  if (!Number.isSafeInteger(rule.amount) || rule.amount < 0)
    throw new Error(`invalid ENGINE_TTL amount ${JSON.stringify(rule.amount)}`);
  return `DELETE FROM ${quoteIdent(table)} WHERE ${quoteIdent(rule.column)} + ${fn}($1::BIGINT) <= $2::TIMESTAMPTZ`;
}
