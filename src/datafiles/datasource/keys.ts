/**
 * ENGINE_PARTITION_KEY, ENGINE_SORTING_KEY and ENGINE_TTL: checked against the
 * SCHEMA (when it parsed completely), and the default sorting key (R1.3).
 */
import type { Column, ColumnType } from '../types';
import { DatafileError, closest, errorAt, quote } from '../errors';
import { checkTtl } from '../ttl';
import { type FileCheck, settingOf } from './fileCheck';
import type { SchemaRead } from './schema';
import { balancedEnd, splitTopLevel } from './textScan';

/** A plain identifier: written without backquotes in a key. */
export const SIMPLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The value of a key keyword, trimmed (undefined when absent or empty). With
 * a complete schema, ENGINE_TTL is checked against its grammar and the other
 * keys' plain column references against the columns.
 */
export function readKey(
  file: FileCheck,
  keyword: 'ENGINE_PARTITION_KEY' | 'ENGINE_SORTING_KEY' | 'ENGINE_TTL',
  schema: SchemaRead,
): string | undefined {
  const s = settingOf(file, keyword);
  if (!s || s.value.trim() === '') return undefined;
  const value = s.value.trim();
  if (!schema.complete) return value;
  if (keyword === 'ENGINE_TTL') {
    // The destination renders its DELETE from the parsed rule: anything outside the grammar is refused here.
    const checked = checkTtl(value, schema.columns, s.secret ? s.display : undefined);
    if (!checked.ok) file.errors.push(errorAt({ file: file.path, line: s.line }, checked.problem));
    return value;
  }
  const columnNames = schema.columns.map((c) => c.name);
  for (const column of unknownKeyColumns(value, columnNames)) {
    const suggestion = s.secret ? undefined : closest(column, columnNames);
    file.errors.push(
      new DatafileError({
        file: file.path,
        line: s.line,
        what: `Unknown column in ${keyword}`,
        found: s.secret ? s.display : quote(column),
        expected: `a column of the SCHEMA (${columnNames.join(', ')})`,
        ...(suggestion ? { hint: `did you mean ${quote(suggestion)}?` } : {}),
      }),
    );
  }
  return value;
}

/**
 * The default sorting key (SPEC R1.3) when `ENGINE_SORTING_KEY` is absent: the
 * first DateTime/DateTime64 column, else the first numeric (Int, UInt, Float,
 * Decimal), else the first String column. `LowCardinality(T)` counts as `T`;
 * Nullable, Array and Map columns are never chosen (ClickHouse refuses
 * nullable sorting keys by default). Names that are not plain identifiers are
 * backquoted. Undefined when no column qualifies.
 */
export function defaultSortingKey(columns: readonly Column[]): string | undefined {
  const base = (t: ColumnType): ColumnType => (t.kind === 'LowCardinality' ? t.inner : t);
  const rules: ((t: ColumnType) => boolean)[] = [
    (t) => t.kind === 'DateTime' || t.kind === 'DateTime64',
    (t) => t.kind === 'Int' || t.kind === 'Float' || t.kind === 'Decimal',
    (t) => t.kind === 'String',
  ];
  for (const rule of rules) {
    const column = columns.find((c) => rule(base(c.type)));
    if (column) return SIMPLE_NAME.test(column.name) ? column.name : `\`${column.name.replace(/`/g, '\\`')}\``;
  }
  return undefined;
}

/**
 * Plain column references of a key expression that name no column. Only
 * top-level parts that are a bare or backquoted name are checked (`a, b`,
 * `(a, b)`, `tuple(a, b)`); function calls and other expressions are left to
 * the destination.
 */
function unknownKeyColumns(expression: string, columns: readonly string[]): string[] {
  let e = expression.trim();
  const wrapped = /^(tuple)?\s*\(/i.exec(e);
  if (wrapped && balancedEnd(e, wrapped[0].length - 1) === e.length) e = e.slice(wrapped[0].length, -1);
  const unknown: string[] = [];
  for (const part of splitTopLevel(e)) {
    const p = part.trim();
    const bare = SIMPLE_NAME.test(p) ? p : /^`([^`]+)`$/.exec(p)?.[1];
    if (bare !== undefined && !columns.includes(bare)) unknown.push(bare);
  }
  return unknown;
}
