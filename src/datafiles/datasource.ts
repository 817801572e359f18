/**
 * Parser of `.datasource` files (SPEC R1.2, R1.3). Pure: text in, a
 * {@link DataSourceDef} or {@link DatafileError}s out.
 */
import { z } from 'zod';
import type { Column, ColumnType, DataSourceDef, ImportSettings } from './types';
import { DatafileError, type Where, closest, errorAt, quote } from './errors';
import { checkColumnType, formatColumnType } from './columnType';
import { checkDefaultExpr } from './defaultExpr';
import { checkColumnNameFree, checkDataSourceNameFree } from './reserved';
import { checkJsonPath } from './jsonPath';
import { checkTtl } from './ttl';
import { displayValue, hasSecretReference } from './secrets';
import { type KeywordRule, type Statement, nameFromPath, readStatements, statementValue } from './statements';
import {
  checkBucketUri,
  checkConnectionName,
  checkCsvDelimiter,
  checkEncoding,
  checkCsvHeader,
  checkEngine,
  checkFormat,
  checkFromTimestamp,
  checkSchedule,
} from './settings';
import { type Setting, issuesToErrors, setting } from './zodSettings';

/** The keywords of a `.datasource` file, in the order they are listed in messages. */
export const DATASOURCE_KEYWORDS = [
  'DESCRIPTION',
  'SCHEMA',
  'ENGINE',
  'ENGINE_PARTITION_KEY',
  'ENGINE_SORTING_KEY',
  'ENGINE_TTL',
  'IMPORT_CONNECTION_NAME',
  'IMPORT_BUCKET_URI',
  'IMPORT_SCHEDULE',
  'IMPORT_FROM_TIMESTAMP',
  'IMPORT_FORMAT',
  'IMPORT_CSV_HEADER',
  'IMPORT_CSV_DELIMITER',
  'IMPORT_ENCODING',
] as const;

/** One keyword of a `.datasource` file. */
export type DataSourceKeyword = (typeof DATASOURCE_KEYWORDS)[number];

const RULES: Record<DataSourceKeyword, KeywordRule> = {
  DESCRIPTION: { block: 'optional' },
  SCHEMA: { block: 'required' },
  ENGINE: { block: 'never' },
  ENGINE_PARTITION_KEY: { block: 'optional' },
  ENGINE_SORTING_KEY: { block: 'optional' },
  ENGINE_TTL: { block: 'optional' },
  IMPORT_CONNECTION_NAME: { block: 'never' },
  IMPORT_BUCKET_URI: { block: 'never' },
  IMPORT_SCHEDULE: { block: 'never' },
  IMPORT_FROM_TIMESTAMP: { block: 'never' },
  IMPORT_FORMAT: { block: 'never' },
  IMPORT_CSV_HEADER: { block: 'never' },
  IMPORT_CSV_DELIMITER: { block: 'never' },
  IMPORT_ENCODING: { block: 'never' },
};

/**
 * Resolves `{{ tb_secret(...) }}` references of a value written on `line`
 * (see `resolveSecrets`); throws DatafileError when a secret is missing.
 */
export type ResolveValue = (raw: string, line: number) => string;

/** Everything {@link checkDataSource} found in one file. */
export interface DataSourceCheck {
  /** The definition, when the file had no error. */
  dataSource?: DataSourceDef;
  /** Every problem of the file, in line order. */
  errors: DatafileError[];
  /** Line of each keyword present, for messages of later checks (deploy, cross-file). */
  lines: Partial<Record<DataSourceKeyword, number>>;
  /**
   * How to show each single-line value in a later message: the quoted value,
   * or the `tb_secret` reference when it came from a secret (never its value).
   */
  displays: Partial<Record<DataSourceKeyword, string>>;
}

const IMPORT_FIELD_KEYWORDS: Record<keyof ImportSettings, DataSourceKeyword> = {
  connectionName: 'IMPORT_CONNECTION_NAME',
  bucketUri: 'IMPORT_BUCKET_URI',
  schedule: 'IMPORT_SCHEDULE',
  fromTimestamp: 'IMPORT_FROM_TIMESTAMP',
  format: 'IMPORT_FORMAT',
  csvHeader: 'IMPORT_CSV_HEADER',
  csvDelimiter: 'IMPORT_CSV_DELIMITER',
  encoding: 'IMPORT_ENCODING',
};

const ImportSettingsSchema = z.object({
  connectionName: setting(checkConnectionName),
  bucketUri: setting(checkBucketUri),
  schedule: setting(checkSchedule),
  fromTimestamp: setting(checkFromTimestamp).optional(),
  format: setting(checkFormat).optional(),
  csvHeader: setting(checkCsvHeader).optional(),
  csvDelimiter: setting(checkCsvDelimiter).optional(),
  encoding: setting(checkEncoding).optional(),
});

const MISSING_IMPORT_EXPECTED: Record<string, string> = {
  IMPORT_CONNECTION_NAME: 'IMPORT_CONNECTION_NAME <connection> when any IMPORT_* setting is given',
  IMPORT_BUCKET_URI: 'IMPORT_BUCKET_URI s3://bucket/pattern when any IMPORT_* setting is given',
  IMPORT_SCHEDULE: 'IMPORT_SCHEDULE @auto, @once, @on-demand or a cron expression when any IMPORT_* setting is given',
};

/**
 * Parses and validates a `.datasource` file, collecting every problem instead
 * of stopping at the first.
 *
 * @param text - the file's content.
 * @param path - the file's path; its base name without `.datasource` is the
 *   data source's name and must match `^[a-zA-Z_][a-zA-Z0-9_]*$`.
 * @param resolve - resolves secret references in single-line values; when
 *   omitted, values are taken as written.
 */
export function checkDataSource(text: string, path: string, resolve?: ResolveValue): DataSourceCheck {
  const errors: DatafileError[] = [];
  const lines: Partial<Record<DataSourceKeyword, number>> = {};
  const displays: Partial<Record<DataSourceKeyword, string>> = {};
  const fromPath = nameFromPath(path, '.datasource', 'data source');
  const name = fromPath.ok ? checkDataSourceNameFree(fromPath.value) : fromPath;
  if (!name.ok) errors.push(errorAt({ file: path, line: 1 }, name.problem));

  const attempted = new Set<string>();
  const statements = readStatements(text, path, RULES, errors, attempted);
  const byKeyword = new Map<DataSourceKeyword, Statement>();
  for (const s of statements) {
    byKeyword.set(s.keyword as DataSourceKeyword, s);
    lines[s.keyword as DataSourceKeyword] = s.line;
  }

  /** The value of a single-line keyword as a Setting, or undefined after reporting an error. */
  const settingOf = (keyword: DataSourceKeyword): Setting | undefined => {
    const s = byKeyword.get(keyword);
    if (!s) return undefined;
    const v = statementValue(s);
    if (!v.ok) {
      errors.push(errorAt({ file: path, line: s.line }, v.problem));
      return undefined;
    }
    let value = v.value;
    if (resolve) {
      try {
        value = resolve(v.value, s.line);
      } catch (e) {
        if (e instanceof DatafileError) {
          errors.push(e);
          return undefined;
        }
        throw e;
      }
    }
    const display = displayValue(v.value, value);
    displays[keyword] = display;
    return { value, display, line: s.line, secret: hasSecretReference(v.value) };
  };

  // DESCRIPTION: block text as written (relative indentation kept), or a one-line value.
  let description: string | undefined;
  const descriptionStatement = byKeyword.get('DESCRIPTION');
  if (descriptionStatement) {
    if (descriptionStatement.form === 'block') {
      description = descriptionStatement.raw;
    } else {
      const v = statementValue(descriptionStatement);
      if (v.ok) description = v.value;
      else errors.push(errorAt({ file: path, line: descriptionStatement.line }, v.problem));
    }
  }

  // SCHEMA
  const schemaStatement = byKeyword.get('SCHEMA');
  let schema: Column[] = [];
  // Key columns are only checked against a schema that parsed completely.
  let schemaComplete = false;
  if (!schemaStatement) {
    if (!attempted.has('SCHEMA')) {
      errors.push(new DatafileError({ file: path, line: 1, what: 'Missing SCHEMA', found: 'no SCHEMA block', expected: '"SCHEMA >" followed by indented column lines such as `id` Int64 `json:$.id`' }));
    }
  } else {
    const before = errors.length;
    schema = parseSchema(schemaStatement, path, errors);
    schemaComplete = errors.length === before;
  }
  const columnNames = schema.map((c) => c.name);

  // ENGINE and keys
  let engine = 'MergeTree';
  const engineSetting = settingOf('ENGINE');
  if (engineSetting) {
    const r = checkEngine(engineSetting.value, engineSetting.display);
    if (r.ok) engine = r.value;
    else errors.push(errorAt({ file: path, line: engineSetting.line }, r.problem));
  }
  const keyOf = (keyword: 'ENGINE_PARTITION_KEY' | 'ENGINE_SORTING_KEY' | 'ENGINE_TTL'): string | undefined => {
    const s = settingOf(keyword);
    if (!s || s.value.trim() === '') return undefined;
    const value = s.value.trim();
    if (keyword === 'ENGINE_TTL' && schemaComplete) {
      // The destination renders its DELETE from the parsed rule: anything outside the grammar is refused here.
      const checked = checkTtl(value, schema, s.secret ? s.display : undefined);
      if (!checked.ok) errors.push(errorAt({ file: path, line: s.line }, checked.problem));
    }
    if (keyword !== 'ENGINE_TTL' && schemaComplete) {
      for (const column of unknownKeyColumns(value, columnNames)) {
        const suggestion = s.secret ? undefined : closest(column, columnNames);
        errors.push(new DatafileError({
          file: path,
          line: s.line,
          what: `Unknown column in ${keyword}`,
          found: s.secret ? s.display : quote(column),
          expected: `a column of the SCHEMA (${columnNames.join(', ')})`,
          ...(suggestion ? { hint: `did you mean ${quote(suggestion)}?` } : {}),
        }));
      }
    }
    return value;
  };
  const partitionKey = keyOf('ENGINE_PARTITION_KEY');
  const sortingKey = byKeyword.has('ENGINE_SORTING_KEY') ? keyOf('ENGINE_SORTING_KEY') : defaultSortingKey(schema);
  const ttl = keyOf('ENGINE_TTL');

  // IMPORT_*
  let importSettings: ImportSettings | undefined;
  const importKeywords = DATASOURCE_KEYWORDS.filter((k) => k.startsWith('IMPORT_') && byKeyword.has(k));
  if (importKeywords.length > 0) {
    const input: Partial<Record<keyof ImportSettings, Setting>> = {};
    let unreadable = false;
    for (const [field, keyword] of Object.entries(IMPORT_FIELD_KEYWORDS) as [keyof ImportSettings, DataSourceKeyword][]) {
      if (!byKeyword.has(keyword)) continue;
      const s = settingOf(keyword);
      if (s) input[field] = s;
      else unreadable = true;
    }
    const parsed = ImportSettingsSchema.safeParse(input);
    if (parsed.success) {
      if (!unreadable) importSettings = stripUndefined(parsed.data);
    } else {
      const firstImportLine = Math.min(...importKeywords.map((k) => lines[k] ?? Infinity));
      const present = importKeywords.join(', ');
      const found = issuesToErrors(parsed.error, path, IMPORT_FIELD_KEYWORDS, firstImportLine, (k) => MISSING_IMPORT_EXPECTED[k] ?? k);
      for (const e of found) {
        // A missing keyword whose line failed to read was already reported.
        const missing = e.what.startsWith('Missing ') ? e.what.slice('Missing '.length) : undefined;
        if (missing !== undefined && (byKeyword.has(missing as DataSourceKeyword) || attempted.has(missing))) continue;
        errors.push(e.what.startsWith('Missing ') ? new DatafileError({ file: e.file, line: e.line, what: e.what, found: `only ${present}`, expected: e.expected }) : e);
      }
    }
  }

  errors.sort((a, b) => a.line - b.line);
  if (errors.length > 0 || !name.ok) return { errors, lines, displays };

  const dataSource: DataSourceDef = { name: name.value, path, schema, engine };
  if (description !== undefined) dataSource.description = description;
  if (partitionKey !== undefined) dataSource.partitionKey = partitionKey;
  if (sortingKey !== undefined) dataSource.sortingKey = sortingKey;
  if (ttl !== undefined) dataSource.ttl = ttl;
  if (importSettings) dataSource.import = importSettings;
  return { dataSource, errors, lines, displays };
}

/**
 * Parses and validates a `.datasource` file.
 *
 * @throws DatafileError — the first problem of the file (by line); use
 *   {@link checkDataSource} to get all of them.
 */
export function parseDataSource(text: string, path: string, resolve?: ResolveValue): DataSourceDef {
  const r = checkDataSource(text, path, resolve);
  if (!r.dataSource) throw r.errors[0] as DatafileError;
  return r.dataSource;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

// ---------------------------------------------------------------------------
// SCHEMA

const SIMPLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

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
      errors.push(
        first.name === parsed.column.name
          ? new DatafileError({ ...where, what: 'Duplicate column name', found: `${quote(parsed.column.name)} again (first on line ${first.line})`, expected: 'each column name once' })
          : new DatafileError({
              ...where,
              what: 'Duplicate column name',
              found: `${quote(parsed.column.name)}, the same as ${quote(first.name)} on line ${first.line} but for case`,
              expected: 'column names that differ in more than case (the destination does not tell them apart)',
            }),
      );
      continue;
    }
    seen.set(parsed.column.name.toLowerCase(), { name: parsed.column.name, line });
    columns.push(parsed.column);
  }
  if (commas.length === 0) {
    errors.push(new DatafileError({ file, line: statement.line, what: 'Empty SCHEMA', found: 'no columns', expected: 'indented column lines such as `id` Int64 `json:$.id`' }));
  }
  commas.slice(0, -1).forEach(({ line, comma }) => {
    if (!comma) errors.push(new DatafileError({ file, line, what: 'Missing comma after column', found: 'end of line', expected: '"," between columns (one column per line)' }));
  });
  return columns;
}

/** Parses one column line: `` `name` Type [`json:$.path`] [DEFAULT expr] [,] `` (path and DEFAULT in either order). */
function parseColumnLine(text: string, where: Where): { column: Column; comma: boolean } | DatafileError {
  const err = (what: string, found: string, expected: string, hint?: string) => new DatafileError({ ...where, what, found, expected, ...(hint ? { hint } : {}) });
  let i = 0;

  // name
  let name: string;
  if (text.startsWith('`')) {
    const close = text.indexOf('`', 1);
    if (close < 0) return err('Unterminated column name', quote(text), 'a closing ` after the column name');
    name = text.slice(1, close);
    if (name.trim() === '') return err('Empty column name', quote(text.slice(0, close + 1)), 'a column name between backticks');
    i = close + 1;
  } else {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text);
    if (!m) return err('Invalid column name', quote(text.split(/\s/)[0] ?? text), '`name` in backticks or a name of letters, digits and _');
    name = m[0];
    i = m[0].length;
  }

  // type: an identifier plus a balanced argument list
  const afterName = text.slice(i);
  if (!/^\s/.test(afterName)) {
    return err('Missing column type', afterName === '' ? 'end of line' : quote(afterName), `a type after the column name ${quote(name)}`);
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
  const typeWritten = text.slice(typeStart, i);
  const checked = checkColumnType(typeWritten);
  if (!checked.ok) return errorAt(where, checked.problem);
  const type: ColumnType = checked.value;

  // attributes
  let jsonPath: string | undefined;
  let defaultExpr: string | undefined;
  let comma = false;
  for (;;) {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
    if (i >= text.length) break;
    const rest = text.slice(i);
    if (rest.startsWith(',')) {
      const after = rest.slice(1).trim();
      if (after !== '') return err('More than one column on a line', quote(after), 'end of line after "," (one column per line)');
      comma = true;
      break;
    }
    if (rest.startsWith('`')) {
      const close = rest.indexOf('`', 1);
      if (close < 0) return err('Unterminated JSONPath', quote(rest), 'a closing ` after `json:$.path');
      const inner = rest.slice(1, close);
      if (!inner.startsWith('json:')) return err('Invalid column attribute', quote(rest.slice(0, close + 1)), '`json:$.path`');
      if (jsonPath !== undefined) return err('Duplicate JSONPath', quote(rest.slice(0, close + 1)), 'one `json:$.path` per column');
      const path = inner.slice('json:'.length).trim();
      const p = checkJsonPath(path);
      if (!p.ok) return errorAt(where, p.problem);
      jsonPath = path;
      i += close + 1;
      continue;
    }
    const def = /^DEFAULT(?=[\s,]|$)/i.exec(rest);
    if (def) {
      if (defaultExpr !== undefined) return err('Duplicate DEFAULT', quote(rest), 'one DEFAULT per column');
      i += def[0].length;
      const end = defaultEnd(text, i);
      const expr = text.slice(i, end).trim();
      if (expr === '') return err('Missing DEFAULT expression', end >= text.length ? 'end of line' : quote(text.slice(end)), 'an expression after DEFAULT, e.g. DEFAULT 0 or DEFAULT now()');
      // A closed grammar, checked against the column type: the destination renders it, never the text.
      const checkedDefault = checkDefaultExpr(expr, type);
      if (!checkedDefault.ok) return errorAt(where, checkedDefault.problem);
      defaultExpr = expr;
      i = end;
      continue;
    }
    return err('Unexpected text in column', quote(rest), '`json:$.path`, DEFAULT expr or "," at the end of the line');
  }

  const column: Column = { name, typeText: formatColumnType(type), type, line: where.line };
  if (jsonPath !== undefined) column.jsonPath = jsonPath;
  if (defaultExpr !== undefined) column.defaultExpr = defaultExpr;
  return { column, comma };
}

/** Index just past the `)` matching the `(` at `open`, or -1; quotes are skipped. */
function balancedEnd(text: string, open: number): number {
  let depth = 0;
  for (let k = open; k < text.length; k++) {
    const c = text[k] as string;
    if (c === "'" || c === '"' || c === '`') {
      k = skipQuoted(text, k);
      if (k < 0) return -1;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      if (--depth === 0) return k + 1;
    }
  }
  return -1;
}

/** Index of the closing quote of the string opening at `k`, or -1. */
function skipQuoted(text: string, k: number): number {
  const q = text[k];
  for (let m = k + 1; m < text.length; m++) {
    if (text[m] === '\\') m++;
    else if (text[m] === q) return m;
  }
  return -1;
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

// ---------------------------------------------------------------------------
// Keys

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

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text[k] as string;
    // A backquoted name may hold commas and parentheses (`a,b,c`).
    if (c === "'" || c === '"' || c === '`') {
      const close = skipQuoted(text, k);
      if (close < 0) break;
      k = close;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, k));
      start = k + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
