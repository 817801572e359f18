/**
 * Column names and JSONPaths of the inferred schema (see "Column names" in
 * ./index.ts): what a `SCHEMA` line can carry, made unique.
 */

/** Columns the quarantine table adds (R4.3): a schema column must not take these names. */
export const RESERVED_COLUMN_NAMES: readonly string[] = [
  'c__error_column',
  'c__error',
  'c__import_id',
  'insertion_date',
  'c__object_key',
  'c__line',
];

const JSON_KEY = /^[\p{L}\p{N}_$@-]+$/u;
const UNWRITABLE = /[`\u0000-\u001f\u007f]/u;

/**
 * The JSONPath of a field reached by `keys` from the document's root:
 * `$.a.b`, with `$['key with spaces']` for keys that are not plain names.
 *
 * @returns undefined when a key holds a backtick or a control character,
 *   which a column line cannot carry.
 */
export function jsonPathOf(keys: readonly string[]): string | undefined {
  let path = '$';
  for (const key of keys) {
    if (UNWRITABLE.test(key)) return undefined;
    path += JSON_KEY.test(key) ? `.${key}` : `['${key.replace(/[\\']/g, (c) => `\\${c}`)}']`;
  }
  return path;
}

/**
 * A file's column name made fit for a `SCHEMA` line: backticks, backslashes
 * (a trailing one would escape the closing backtick) and control characters
 * become `_` and surrounding spaces are trimmed.
 *
 * @returns undefined when nothing is left (the caller numbers the column).
 */
export function sanitizeColumnName(raw: string): string | undefined {
  const name = raw.replace(/[`\\\u0000-\u001f\u007f]/gu, '_').trim();
  return name === '' ? undefined : name;
}

/**
 * Gives each of `names` (already sanitized, or undefined for "no name") a
 * unique name: undefined becomes `column_<position>`, and a name equal
 * (ignoring case) to an earlier one or to a {@link RESERVED_COLUMN_NAMES} entry
 * gets the first free suffix `_2`, `_3`...
 */
export function uniqueColumnNames(names: readonly (string | undefined)[]): string[] {
  const taken = new Set(RESERVED_COLUMN_NAMES.map((n) => n.toLowerCase()));
  return names.map((n, i) => {
    const base = n ?? `column_${i + 1}`;
    let name = base;
    for (let k = 2; taken.has(name.toLowerCase()); k++) name = `${base}_${k}`;
    taken.add(name.toLowerCase());
    return name;
  });
}
