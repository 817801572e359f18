/** One `.datasource` file being checked: its statements by keyword, and where its problems go. */
import { DatafileError, errorAt } from '../errors';
import { displayValue, hasSecretReference } from '../secrets';
import { type Statement, statementValue } from '../statements';
import type { Setting } from '../zodSettings';
import type { DataSourceKeyword } from './keywords';

/**
 * Resolves `{{ tb_secret(...) }}` references of a value written on `line`
 * (see `resolveSecrets`); throws DatafileError when a secret is missing.
 */
export type ResolveValue = (raw: string, line: number) => string;

/** The state of one check (see checkDataSource); every section reads it and adds its errors. */
export interface FileCheck {
  path: string;
  errors: DatafileError[];
  byKeyword: Map<DataSourceKeyword, Statement>;
  /** Keywords whose statement was attempted but failed to read (already reported). */
  attempted: Set<string>;
  lines: Partial<Record<DataSourceKeyword, number>>;
  displays: Partial<Record<DataSourceKeyword, string>>;
  resolve: ResolveValue | undefined;
}

/** The value of a single-line keyword as a Setting, or undefined when absent or after reporting an error. */
export function settingOf(file: FileCheck, keyword: DataSourceKeyword): Setting | undefined {
  const s = file.byKeyword.get(keyword);
  if (!s) return undefined;
  const v = statementValue(s);
  if (!v.ok) {
    file.errors.push(errorAt({ file: file.path, line: s.line }, v.problem));
    return undefined;
  }
  const value = resolved(file, v.value, s.line);
  if (value === undefined) return undefined;
  const display = displayValue(v.value, value);
  file.displays[keyword] = display;
  return { value, display, line: s.line, secret: hasSecretReference(v.value) };
}

/** `raw` with its secret references resolved, or undefined after reporting a missing secret. */
function resolved(file: FileCheck, raw: string, line: number): string | undefined {
  if (!file.resolve) return raw;
  try {
    return file.resolve(raw, line);
  } catch (e) {
    if (e instanceof DatafileError) {
      file.errors.push(e);
      return undefined;
    }
    throw e;
  }
}
