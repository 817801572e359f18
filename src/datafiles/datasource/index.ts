/**
 * Parser of `.datasource` files (SPEC R1.2, R1.3). Pure: text in, a
 * {@link DataSourceDef} or {@link DatafileError}s out.
 *
 * One file a section: keywords.ts (what may be written), schema.ts (the
 * SCHEMA block), keys.ts (ENGINE_*_KEY, ENGINE_TTL), importSettings.ts
 * (IMPORT_*); fileCheck.ts holds the state they share.
 */
import type { DataSourceDef } from '../types';
import { DatafileError, errorAt } from '../errors';
import { checkDataSourceNameFree } from '../reserved';
import { type Statement, nameFromPath, readStatements, statementValue } from '../statements';
import { checkEngine } from '../settings';
import { type FileCheck, type ResolveValue, settingOf } from './fileCheck';
import { readImportSettings } from './importSettings';
import { defaultSortingKey, readKey } from './keys';
import { DATASOURCE_RULES, type DataSourceKeyword } from './keywords';
import { readSchema } from './schema';

export { type ResolveValue } from './fileCheck';
export { defaultSortingKey } from './keys';
export { DATASOURCE_KEYWORDS, type DataSourceKeyword } from './keywords';

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
  const fromPath = nameFromPath(path, '.datasource', 'data source');
  const name = fromPath.ok ? checkDataSourceNameFree(fromPath.value) : fromPath;
  if (!name.ok) errors.push(errorAt({ file: path, line: 1 }, name.problem));
  const file = readFile(text, path, resolve, errors);
  const { lines, displays } = file;

  const description = readDescription(file);
  const schema = readSchema(file);
  const engine = readEngine(file);
  const partitionKey = readKey(file, 'ENGINE_PARTITION_KEY', schema);
  const sortingKey = file.byKeyword.has('ENGINE_SORTING_KEY')
    ? readKey(file, 'ENGINE_SORTING_KEY', schema)
    : defaultSortingKey(schema.columns);
  const ttl = readKey(file, 'ENGINE_TTL', schema);
  const importSettings = readImportSettings(file);

  errors.sort((a, b) => a.line - b.line);
  if (errors.length > 0 || !name.ok) return { errors, lines, displays };

  const dataSource: DataSourceDef = { name: name.value, path, schema: schema.columns, engine };
  if (description !== undefined) dataSource.description = description;
  if (partitionKey !== undefined) dataSource.partitionKey = partitionKey;
  if (sortingKey !== undefined) dataSource.sortingKey = sortingKey;
  if (ttl !== undefined) dataSource.ttl = ttl;
  if (importSettings) dataSource.import = importSettings;
  return { dataSource, errors, lines, displays };
}

/** Splits the file into statements by keyword; problems of their form are reported. */
function readFile(text: string, path: string, resolve: ResolveValue | undefined, errors: DatafileError[]): FileCheck {
  const attempted = new Set<string>();
  const statements = readStatements(text, path, DATASOURCE_RULES, errors, attempted);
  const file: FileCheck = {
    path,
    errors,
    byKeyword: new Map<DataSourceKeyword, Statement>(),
    attempted,
    lines: {},
    displays: {},
    resolve,
  };
  for (const s of statements) {
    file.byKeyword.set(s.keyword as DataSourceKeyword, s);
    file.lines[s.keyword as DataSourceKeyword] = s.line;
  }
  return file;
}

/** DESCRIPTION: block text as written (relative indentation kept), or a one-line value. */
function readDescription(file: FileCheck): string | undefined {
  const statement = file.byKeyword.get('DESCRIPTION');
  if (!statement) return undefined;
  if (statement.form === 'block') return statement.raw;
  const v = statementValue(statement);
  if (v.ok) return v.value;
  file.errors.push(errorAt({ file: file.path, line: statement.line }, v.problem));
  return undefined;
}

/** ENGINE: MergeTree unless written otherwise (and accepted). */
function readEngine(file: FileCheck): string {
  const s = settingOf(file, 'ENGINE');
  if (!s) return 'MergeTree';
  const r = checkEngine(s.value, s.display);
  if (r.ok) return r.value;
  file.errors.push(errorAt({ file: file.path, line: s.line }, r.problem));
  return 'MergeTree';
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
