/** Literal text a DEFAULT may hold: dates, date-times and UUIDs written as strings, and canonical numbers. */

const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_TEXT = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?$/;
export const UUID_TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function validDate(y: string, m: string, d: string): boolean {
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** A valid calendar date YYYY-MM-DD. */
export function isDateText(s: string): boolean {
  const m = DATE_TEXT.exec(s);
  return m !== null && validDate(m[1] as string, m[2] as string, m[3] as string);
}

/** A valid date, with an optional time hh:mm[:ss[.fraction]]. */
export function isDateTimeText(s: string): boolean {
  const m = DATETIME_TEXT.exec(s);
  if (!m || !validDate(m[1] as string, m[2] as string, m[3] as string)) return false;
  return Number(m[4] ?? 0) <= 23 && Number(m[5] ?? 0) <= 59 && Number(m[6] ?? 0) <= 59;
}

/** Canonical text of a numeric constant. */
export function numberText(v: bigint | number): string {
  if (typeof v === 'bigint') return v.toString();
  if (Object.is(v, -0)) return '0';
  return String(v).replace('e+', 'e');
}

/** The canonical text of a literal as written (`007` → `7`, `1.50` stays, `.5` → `0.5`). */
export function literalText(text: string): string {
  const m = /^([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(text) as RegExpExecArray;
  const int = (m[1] ?? '').replace(/^0+(?=\d)/, '') || '0';
  const frac = m[2] ?? '';
  const exp = m[3] !== undefined ? `e${m[3].replace(/^\+/, '')}` : '';
  return `${int}${frac !== '' ? `.${frac}` : ''}${exp}`;
}

/** A literal as a value: exact (bigint) for integers. */
export function literalValue(text: string): bigint | number {
  return /^[0-9]+$/.test(text) ? BigInt(text) : Number(text);
}
