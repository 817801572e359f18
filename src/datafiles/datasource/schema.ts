/**
 * The `SCHEMA >` block of a `.datasource` file: one column a line,
 * `` `name` Type [`json:$.path`] [DEFAULT expr] [,] `` (path and DEFAULT in
 * either order), names unique ignoring case.
 */
import type { Column, ColumnType } from '../types';
import { DatafileError, type Where, errorAt, quote } from '../errors';
import { checkColumnType, formatColumnType } from '../columnType';
import { checkDefaultExpr } from '../defaultExpr';
import { checkJsonPath } from '../jsonPath';
import { checkColumnNameFree } from '../reserved';
import type { Statement } from '../statements';
import type { FileCheck } from './fileCheck';
import { balancedEnd, skipQuoted } from './textScan';

/** The schema the keys are checked against; `complete` when every column line parsed. */
export interface SchemaRead {
  columns: Column[];
  complete: boolean;
}

/** The SCHEMA block's columns; a missing block is reported unless its line failed to read. */
export function readSchema(file: FileCheck): SchemaRead {
  const statement = file.byKeyword.get('SCHEMA');
  if (!statement) {
    if (!file.attempted.has('SCHEMA')) {
      file.errors.push(
        new DatafileError({
          file: file.path,
          line: 1,
          what: 'Missing SCHEMA',
          found: 'no SCHEMA block',
          expected: '"SCHEMA >" followed by indented column lines such as `id` Int64 `json:$.id`',
        }),
      );
    }
    return { columns: [], complete: false };
  }
  const before = file.errors.length;
  const columns = parseSchema(statement, file.path, file.errors);
  // Key columns are only checked against a schema that parsed completely.
  return { columns, complete: file.errors.length === before };
}

/** Parses the lines of a `SCHEMA >` block into columns, reporting problems into `errors`. */
function parseSchema(statement: Statement, file: string, errors: DatafileError[]): Column[] {
  const columns: Column[] = [];
  /** Lower-case name → the column as written and its line. */
  const seen = new Map<string, { name: string; line: number }>();
  const commas: { line: number; comma: boolean }[] = [];
  for (const { text, line } of statement.block) {
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const where = { file, line };
    const parsed = parseColumnLine(trimmed, where);
    if (parsed instanceof DatafileError) {
      errors.push(parsed);
      commas.push({ line, comma: true }); // do not pile a comma error on top
      continue;
    }
    commas.push({ line, comma: parsed.comma });
    const free = checkColumnNameFree(parsed.column.name);
    if (!free.ok) {
      errors.push(errorAt(where, free.problem));
      continue;
    }
    // DuckDB does not tell `a` from `A`: one table cannot have both.
    const first = seen.get(parsed.column.name.toLowerCase());
    if (first !== undefined) {
      errors.push(duplicateColumn(where, parsed.column.name, first));
      continue;
    }
    seen.set(parsed.column.name.toLowerCase(), { name: parsed.column.name, line });
    columns.push(parsed.column);
  }
  errors.push(...commaErrors(statement, file, commas));
  return columns;
}

/** A column whose name was seen before, exactly or but for case. */
function duplicateColumn(
  where: { file: string; line: number },
  name: string,
  first: { name: string; line: number },
): DatafileError {
  return first.name === name
    ? new DatafileError({
        ...where,
        what: 'Duplicate column name',
        found: `${quote(name)} again (first on line ${first.line})`,
        expected: 'each column name once',
      })
    : new DatafileError({
        ...where,
        what: 'Duplicate column name',
        found: `${quote(name)}, the same as ${quote(first.name)} on line ${first.line} but for case`,
        expected: 'column names that differ in more than case (the destination does not tell them apart)',
      });
}

/** An empty SCHEMA, and each column line but the last without its comma. */
function commaErrors(statement: Statement, file: string, commas: { line: number; comma: boolean }[]): DatafileError[] {
  if (commas.length === 0) {
    return [
      new DatafileError({
        file,
        line: statement.line,
        what: 'Empty SCHEMA',
        found: 'no columns',
        expected: 'indented column lines such as `id` Int64 `json:$.id`',
      }),
    ];
  }
  return commas
    .slice(0, -1)
    .filter(({ comma }) => !comma)
    .map(
      ({ line }) =>
        new DatafileError({
          file,
          line,
          what: 'Missing comma after column',
          found: 'end of line',
          expected: '"," between columns (one column per line)',
        }),
    );
}

/** Makes a DatafileError at the column line being read. */
type LineError = (what: string, found: string, expected: string, hint?: string) => DatafileError;

/** Parses one column line: `` `name` Type [`json:$.path`] [DEFAULT expr] [,] `` (path and DEFAULT in either order). */
function parseColumnLine(text: string, where: Where): { column: Column; comma: boolean } | DatafileError {
  const err: LineError = (what, found, expected, hint) =>
    new DatafileError({ ...where, what, found, expected, ...(hint ? { hint } : {}) });
  const named = readName(text, err);
  if (named instanceof DatafileError) return named;
  const typed = readType(text, named.end, named.name, where, err);
  if (typed instanceof DatafileError) return typed;
  const attributes = readAttributes(text, typed.end, typed.type, where, err);
  if (attributes instanceof DatafileError) return attributes;
  const column: Column = {
    name: named.name,
    typeText: formatColumnType(typed.type),
    type: typed.type,
    line: where.line,
  };
  if (attributes.jsonPath !== undefined) column.jsonPath = attributes.jsonPath;
  if (attributes.defaultExpr !== undefined) column.defaultExpr = attributes.defaultExpr;
  return { column, comma: attributes.comma };
}

/** The column name at the start of the line: backquoted, or a plain identifier. */
function readName(text: string, err: LineError): { name: string; end: number } | DatafileError {
  if (text.startsWith('`')) {
    const close = text.indexOf('`', 1);
    if (close < 0) return err('Unterminated column name', quote(text), 'a closing ` after the column name');
    const name = text.slice(1, close);
    if (name.trim() === '')
      return err('Empty column name', quote(text.slice(0, close + 1)), 'a column name between backticks');
    return { name, end: close + 1 };
  }
  const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text);
  if (!m)
    return err(
      'Invalid column name',
      quote(text.split(/\s/)[0] ?? text),
      '`name` in backticks or a name of letters, digits and _',
    );
  return { name: m[0], end: m[0].length };
}

/** The type after the name at `from`: an identifier plus a balanced argument list, checked. */
function readType(
  text: string,
  from: number,
  name: string,
  where: Where,
  err: LineError,
): { type: ColumnType; end: number } | DatafileError {
  let i = from;
  const afterName = text.slice(i);
  if (!/^\s/.test(afterName)) {
    return err(
      'Missing column type',
      afterName === '' ? 'end of line' : quote(afterName),
      `a type after the column name ${quote(name)}`,
    );
  }
  i += afterName.length - afterName.trimStart().length;
  const typeStart = i;
  const typeName = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
  if (!typeName) {
    return err('Missing column type', quote(text.slice(i)), `a type after the column name ${quote(name)}`);
  }
  i += typeName[0].length;
  let j = i;
  while (j < text.length && /[ \t]/.test(text[j] as string)) j++;
  if (text[j] === '(') {
    const end = balancedEnd(text, j);
    if (end < 0) return err('Invalid column type', quote(text.slice(typeStart)), 'balanced parentheses in the type');
    i = end;
  }
  const checked = checkColumnType(text.slice(typeStart, i));
  if (!checked.ok) return errorAt(where, checked.problem);
  return { type: checked.value, end: i };
}

/** What follows the type: a JSONPath, a DEFAULT, and whether the line ends with a comma. */
interface Attributes {
  jsonPath?: string;
  defaultExpr?: string;
  comma: boolean;
}

/** Reads the attributes from `from` to the end of the line, each at most once. */
function readAttributes(
  text: string,
  from: number,
  type: ColumnType,
  where: Where,
  err: LineError,
): Attributes | DatafileError {
  const found: Attributes = { comma: false };
  let i = from;
  for (;;) {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
    if (i >= text.length) return found;
    const rest = text.slice(i);
    if (rest.startsWith(',')) {
      const after = rest.slice(1).trim();
      if (after !== '')
        return err('More than one column on a line', quote(after), 'end of line after "," (one column per line)');
      return { ...found, comma: true };
    }
    const attribute = rest.startsWith('`')
      ? readJsonPath(text, i, found, where, err)
      : /^DEFAULT(?=[\s,]|$)/i.test(rest)
        ? readDefault(text, i, type, found, where, err)
        : err('Unexpected text in column', quote(rest), '`json:$.path`, DEFAULT expr or "," at the end of the line');
    if (attribute instanceof DatafileError) return attribute;
    i = attribute;
  }
}

/** Reads `` `json:$.path` `` at `from` into `found`; returns where it ends. */
function readJsonPath(
  text: string,
  from: number,
  found: Attributes,
  where: Where,
  err: LineError,
): number | DatafileError {
  const rest = text.slice(from);
  const close = rest.indexOf('`', 1);
  if (close < 0) return err('Unterminated JSONPath', quote(rest), 'a closing ` after `json:$.path');
  const inner = rest.slice(1, close);
  if (!inner.startsWith('json:'))
    return err('Invalid column attribute', quote(rest.slice(0, close + 1)), '`json:$.path`');
  if (found.jsonPath !== undefined)
    return err('Duplicate JSONPath', quote(rest.slice(0, close + 1)), 'one `json:$.path` per column');
  const path = inner.slice('json:'.length).trim();
  const p = checkJsonPath(path);
  if (!p.ok) return errorAt(where, p.problem);
  found.jsonPath = path;
  return from + close + 1;
}

/** Reads `DEFAULT expr` at `from` into `found`, checked against the column type; returns where it ends. */
function readDefault(
  text: string,
  from: number,
  type: ColumnType,
  found: Attributes,
  where: Where,
  err: LineError,
): number | DatafileError {
  const rest = text.slice(from);
  if (found.defaultExpr !== undefined) return err('Duplicate DEFAULT', quote(rest), 'one DEFAULT per column');
  const i = from + 'DEFAULT'.length;
  const end = defaultEnd(text, i);
  const expr = text.slice(i, end).trim();
  if (expr === '')
    return err(
      'Missing DEFAULT expression',
      end >= text.length ? 'end of line' : quote(text.slice(end)),
      'an expression after DEFAULT, e.g. DEFAULT 0 or DEFAULT now()',
    );
  // A closed grammar, checked against the column type: the destination renders it, never the text.
  const checkedDefault = checkDefaultExpr(expr, type);
  if (!checkedDefault.ok) return errorAt(where, checkedDefault.problem);
  found.defaultExpr = expr;
  return end;
}

/**
 * End of a DEFAULT expression starting at `from`: the end of the line, a
 * final top-level `,`, or a top-level `` `json: `` attribute.
 */
function defaultEnd(text: string, from: number): number {
  let depth = 0;
  for (let k = from; k < text.length; k++) {
    const c = text[k] as string;
    if (c === "'" || c === '"') {
      const close = skipQuoted(text, k);
      if (close < 0) return text.length;
      k = close;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
    } else if (depth === 0 && c === ',' && text.slice(k + 1).trim() === '') {
      return k;
    } else if (depth === 0 && text.startsWith('`json:', k)) {
      return k;
    }
  }
  return text.length;
}
