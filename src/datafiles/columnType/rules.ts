/** Which types may wrap which (Nullable, LowCardinality, Map keys), and time zone names. */
import type { ColumnType } from '../types';

/** True when `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  if (tz === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isComposite(t: ColumnType): boolean {
  return t.kind === 'Nullable' || t.kind === 'LowCardinality' || t.kind === 'Array' || t.kind === 'Map';
}

export function canBeNullable(t: ColumnType): boolean {
  return !isComposite(t);
}

export function canBeLowCardinality(t: ColumnType): boolean {
  const base = t.kind === 'Nullable' ? t.inner : t;
  return ['String', 'FixedString', 'Int', 'Float', 'Date', 'Date32', 'DateTime', 'UUID'].includes(base.kind);
}

export function canBeMapKey(t: ColumnType): boolean {
  if (t.kind === 'LowCardinality') return t.inner.kind === 'String';
  return ['String', 'FixedString', 'Int', 'UUID', 'Date', 'Date32', 'DateTime'].includes(t.kind);
}
