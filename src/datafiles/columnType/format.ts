/** Column types printed in their normalised text form. */
import type { ColumnType } from '../types';

/**
 * Prints a {@link ColumnType} in its normalised text form: canonical names,
 * `, ` between arguments, time zones in single quotes, Decimal shorthands
 * expanded (`Decimal32(2)` prints as `Decimal(9, 2)`).
 */
export function formatColumnType(t: ColumnType): string {
  switch (t.kind) {
    case 'String':
    case 'UUID':
    case 'Bool':
    case 'Date':
    case 'Date32':
      return t.kind;
    case 'LowCardinality':
      return `LowCardinality(${formatColumnType(t.inner)})`;
    case 'FixedString':
      return `FixedString(${t.length})`;
    case 'Int':
      return `${t.signed ? 'Int' : 'UInt'}${t.bits}`;
    case 'Float':
      return `Float${t.bits}`;
    case 'Decimal':
      return `Decimal(${t.precision}, ${t.scale})`;
    case 'DateTime':
      return t.timezone === undefined ? 'DateTime' : `DateTime(${quoteTz(t.timezone)})`;
    case 'DateTime64':
      return t.timezone === undefined
        ? `DateTime64(${t.precision})`
        : `DateTime64(${t.precision}, ${quoteTz(t.timezone)})`;
    case 'Nullable':
      return `Nullable(${formatColumnType(t.inner)})`;
    case 'Array':
      return `Array(${formatColumnType(t.element)})`;
    case 'Map':
      return `Map(${formatColumnType(t.key)}, ${formatColumnType(t.value)})`;
  }
}

function quoteTz(tz: string): string {
  return `'${tz.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The type under any Nullable and LowCardinality wrappers. */
export function baseColumnType(t: ColumnType): ColumnType {
  return t.kind === 'Nullable' || t.kind === 'LowCardinality' ? baseColumnType(t.inner) : t;
}
