/** The inferred columns written out: as `SCHEMA` lines, and as the parser's columns. */
import type { Column } from '../../datafiles/types';
import { formatColumnType } from '../../datafiles';
import type { InferredColumn } from './model';

/** One `SCHEMA` line (without the trailing comma): `` `name` Type `json:$.path` DEFAULT expr ``. */
export function columnLine(column: InferredColumn): string {
  return (
    `\`${column.name}\` ${formatColumnType(column.type)}` +
    (column.jsonPath !== undefined ? ` \`json:${column.jsonPath}\`` : '') +
    (column.defaultExpr !== undefined ? ` DEFAULT ${column.defaultExpr}` : '')
  );
}

/** The inferred columns as parser `Column`s (for `defaultSortingKey`). */
export function asColumns(columns: readonly InferredColumn[]): Column[] {
  return columns.map((c, i) => ({
    name: c.name,
    type: c.type,
    typeText: formatColumnType(c.type),
    line: i + 1,
    ...(c.jsonPath !== undefined ? { jsonPath: c.jsonPath } : {}),
    ...(c.defaultExpr !== undefined ? { defaultExpr: c.defaultExpr } : {}),
  }));
}
