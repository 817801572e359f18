/**
 * `ENGINE_TTL` as a closed grammar (issue 19, item 6). The destination
 * deletes expired rows with SQL it renders itself from the parsed rule, so
 * only the forms below are accepted; the text as written never reaches SQL.
 *
 * ```
 * ttl      := column '+' interval [ 'DELETE' ]
 * column   := name | `name`            a Date, Date32, DateTime or DateTime64 column of the SCHEMA
 * interval := 'INTERVAL' N unit        e.g. INTERVAL 60 DAY (units also plural)
 *           | 'toInterval' Unit '(' N ')'   e.g. toIntervalDay(60)
 * unit     := SECOND | MINUTE | HOUR | DAY | WEEK | MONTH | QUARTER | YEAR
 * N        := a whole number, at most about 1000 years of the unit
 * ```
 *
 * Pure: text in, a {@link TtlRule} or a problem out.
 */
import { TTL_UNITS, type Column, type ColumnType, type TtlRule, type TtlUnit } from './types';
import { type Checked, closest, ok, problem, quote } from './errors';

export { TTL_UNITS };

/** The largest amount of each unit: about 1000 years, so that `column + interval` stays within a timestamp. */
export const TTL_MAX_AMOUNT: Readonly<Record<TtlUnit, number>> = {
  second: 2_147_483_647,
  minute: 525_600_000,
  hour: 8_760_000,
  day: 365_000,
  week: 52_000,
  month: 12_000,
  quarter: 4_000,
  year: 1_000,
};

const WHAT = 'Invalid ENGINE_TTL';
const EXPECTED =
  '`<Date or DateTime column> + INTERVAL <N> <unit>` or `<column> + toInterval<Unit>(<N>)`, e.g. "timestamp + toIntervalDay(60)"';
const COLUMN = String.raw`(?:([A-Za-z_][A-Za-z0-9_]*)|\x60([^\x60\\\x00-\x1f]+)\x60)`;
const UNIT = 'SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR';
const INTERVAL = String.raw`(?:INTERVAL\s+(\d+)\s+(${UNIT})S?|toInterval(${UNIT})\s*\(\s*(\d+)\s*\))`;
const TTL = new RegExp(String.raw`^\s*${COLUMN}\s*\+\s*${INTERVAL}(?:\s+DELETE)?\s*$`, 'i');

/** True for the column types a TTL can count from. */
function isDateLike(type: ColumnType): boolean {
  if (type.kind === 'Nullable' || type.kind === 'LowCardinality') return isDateLike(type.inner);
  return type.kind === 'Date' || type.kind === 'Date32' || type.kind === 'DateTime' || type.kind === 'DateTime64';
}

/**
 * Checks an `ENGINE_TTL` value against the grammar above and the schema.
 *
 * @example checkTtl('timestamp + toIntervalDay(60)', schema) // ok({ column: 'timestamp', amount: 60, unit: 'day' })
 */
export function checkTtl(value: string, schema: readonly Column[], display = quote(value)): Checked<TtlRule> {
  const m = TTL.exec(value);
  if (!m) {
    const hint = /\bTO\s+(DISK|VOLUME)\b|\bGROUP\s+BY\b|\bWHERE\b|,|\bRECOMPRESS\b/i.test(value)
      ? 'only row deletion is supported: moves, GROUP BY, WHERE, RECOMPRESS and several rules are not'
      : undefined;
    return problem(WHAT, display, EXPECTED, hint);
  }
  const column = (m[1] ?? m[2]) as string;
  const amountText = (m[3] ?? m[6]) as string;
  const unit = (m[4] ?? m[5])!.toLowerCase() as TtlUnit;
  const col = schema.find((c) => c.name === column);
  if (!col) {
    const suggestion = closest(
      column,
      schema.map((c) => c.name),
    );
    return problem(
      WHAT,
      `column ${quote(column)}, not in the SCHEMA`,
      'a Date or DateTime column of the SCHEMA',
      suggestion ? `did you mean ${quote(suggestion)}?` : undefined,
    );
  }
  if (!isDateLike(col.type)) {
    return problem(
      WHAT,
      `column ${quote(column)} of type ${col.typeText}`,
      'a column of type Date, Date32, DateTime or DateTime64',
    );
  }
  const amount = Number(amountText);
  if (!Number.isSafeInteger(amount) || amount > TTL_MAX_AMOUNT[unit]) {
    return problem(
      WHAT,
      `${amountText} ${unit}(s)`,
      `at most ${TTL_MAX_AMOUNT[unit]} ${unit}s${unit === 'year' ? '' : ' (about 1000 years)'}`,
    );
  }
  return ok({ column, amount, unit });
}

/** The rule in the grammar's words, for messages: `timestamp + INTERVAL 60 DAY`. */
export function ttlText(rule: TtlRule): string {
  return `${rule.column} + INTERVAL ${rule.amount} ${rule.unit.toUpperCase()}`;
}
