/** Data source definitions built by hand for sink tests: a small parser of the schema's type language. */
import type { Column, ColumnType, DataSourceDef } from '../../../src/datafiles/types';

/** Minimal parser of the schema type language, for building fixtures by hand. */
export function parseType(text: string): ColumnType {
  const t = text.trim();
  const m = /^(\w+)(?:\((.*)\))?$/s.exec(t);
  if (!m) throw new Error(`bad type ${text}`);
  const name = m[1]!;
  const args = m[2] === undefined ? [] : splitArgs(m[2]);
  const ints: Record<string, [8 | 16 | 32 | 64, boolean]> = {
    Int8: [8, true],
    Int16: [16, true],
    Int32: [32, true],
    Int64: [64, true],
    UInt8: [8, false],
    UInt16: [16, false],
    UInt32: [32, false],
    UInt64: [64, false],
  };
  if (ints[name]) return { kind: 'Int', bits: ints[name]![0], signed: ints[name]![1] };
  const unq = (s: string) => s.trim().replace(/^'(.*)'$/, '$1');
  switch (name) {
    case 'String':
      return { kind: 'String' };
    case 'UUID':
      return { kind: 'UUID' };
    case 'Bool':
      return { kind: 'Bool' };
    case 'Float32':
      return { kind: 'Float', bits: 32 };
    case 'Float64':
      return { kind: 'Float', bits: 64 };
    case 'Date':
      return { kind: 'Date' };
    case 'Date32':
      return { kind: 'Date32' };
    case 'FixedString':
      return { kind: 'FixedString', length: Number(args[0]) };
    case 'Decimal':
      return { kind: 'Decimal', precision: Number(args[0]), scale: Number(args[1]) };
    case 'DateTime':
      return args[0] ? { kind: 'DateTime', timezone: unq(args[0]) } : { kind: 'DateTime' };
    case 'DateTime64':
      return args[1]
        ? { kind: 'DateTime64', precision: Number(args[0]), timezone: unq(args[1]) }
        : { kind: 'DateTime64', precision: Number(args[0] ?? 3) };
    case 'Nullable':
      return { kind: 'Nullable', inner: parseType(args[0]!) };
    case 'LowCardinality':
      return { kind: 'LowCardinality', inner: parseType(args[0]!) };
    case 'Array':
      return { kind: 'Array', element: parseType(args[0]!) };
    case 'Map':
      return { kind: 'Map', key: parseType(args[0]!), value: parseType(args[1]!) };
  }
  throw new Error(`unknown type ${text}`);
}
function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** `col('amount Float32 `json:$.a` DEFAULT 0')`-like builder. */
export function col(name: string, typeText: string, opts: { jsonPath?: string; defaultExpr?: string } = {}): Column {
  return { name, typeText, type: parseType(typeText), line: 1, ...opts };
}
export function ds(name: string, schema: Column[]): DataSourceDef {
  return { name, path: `${name}.datasource`, schema, engine: 'MergeTree' };
}
