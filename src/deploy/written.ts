/**
 * What a datafile says, keyword by keyword, as written: the line of each
 * setting for `file:line` messages, and whether its value comes from a
 * `tb_secret` reference, so that messages never show such a value.
 */
import { hasSecretReference, type DatafileError } from '../datafiles';
import { readStatements, statementValue, type KeywordRule } from '../datafiles/statements';

export interface Written {
  line: number;
  /** The value as written (unquoted), secret references not resolved. */
  value: string;
  /** True when the value holds a `tb_secret` reference. */
  secret: boolean;
}

/** Keyword → how it is written in one file. */
export type WrittenFile = Map<string, Written>;

/** Keyword → where and how it is written; tolerant (the file already parsed). */
export function readWritten(text: string, path: string, keywords: readonly string[]): WrittenFile {
  const rules = Object.fromEntries(keywords.map((k) => [k, { block: 'optional' } satisfies KeywordRule]));
  const ignored: DatafileError[] = [];
  const out: WrittenFile = new Map();
  for (const s of readStatements(text, path, rules, ignored)) {
    const v = statementValue(s);
    out.set(s.keyword, { line: s.line, value: v.ok ? v.value : s.raw, secret: hasSecretReference(s.raw) });
  }
  return out;
}

/** A value for a message: itself, or its reference when it comes from a secret. */
export function show(value: string, written: Written | undefined): string {
  return written?.secret ? `${written.value} (a secret, not shown)` : value;
}
