/**
 * The line structure shared by `.connection` and `.datasource` files: one
 * `KEYWORD value` per line, or `KEYWORD >` followed by an indented block;
 * `#` starts a comment line. Pure.
 */
import * as nodePath from 'node:path';
import { type Checked, DatafileError, type Where, closest, ok, problem, quote } from './errors';

/** A line of an indented block, with its 1-based line number. */
export interface BlockLine {
  /** The line with the block's common indentation removed (trailing spaces trimmed). */
  text: string;
  line: number;
}

/** One keyword statement of a datafile. */
export interface Statement {
  /** The keyword, upper-cased. */
  keyword: string;
  /** The keyword as written. */
  written: string;
  line: number;
  /** `inline` for `KEYWORD value`, `block` for `KEYWORD >` + indented lines. */
  form: 'inline' | 'block';
  /** The inline value as written (trimmed), or the block lines joined by `\n`. */
  raw: string;
  /** The block's lines (empty for inline statements). */
  block: BlockLine[];
}

/** How a file type treats one keyword. */
export interface KeywordRule {
  /** `required`: only `KEYWORD >`; `optional`: either form; `never`: only inline. */
  block: 'required' | 'optional' | 'never';
}

/** Why a `#` after a value did not start a comment (the reference's datafiles have no inline comments). */
export const COMMENT_HINT = 'a comment goes on a line of its own: "#" starts a comment only at the start of a line';

/** Name rule of data sources (their file names): each is a table, named as a plain SQL identifier. */
export const DATAFILE_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Name rule of connections (their file names): the data source rule plus `-`,
 * since the reference names its connections `my-s3-local` and `my-s3-cloud`.
 * A connection name is never a table; it reaches only file names, messages,
 * the external id and secret names (with `-` as `_`).
 */
export const CONNECTION_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_-]*$/;

/** How {@link CONNECTION_NAME_PATTERN} reads in messages. */
export const CONNECTION_NAME_RULE = 'letters, digits, _ and -, not starting with a digit or -';

/**
 * Splits a datafile into statements, reporting unknown and duplicate keywords,
 * stray indented lines and misuse of `>`. Keywords are matched
 * case-insensitively. Keeps going after an error so that every problem of the
 * file is reported. Keywords of lines that failed (and the likely keyword of
 * an unknown one) are added to `attempted`, so that callers can avoid also
 * reporting them as missing.
 */
export function readStatements(
  text: string,
  file: string,
  rules: Readonly<Record<string, KeywordRule>>,
  errors: DatafileError[],
  attempted: Set<string> = new Set(),
): Statement[] {
  const known = Object.keys(rules);
  const lines = text.split(/\r?\n/);
  const statements: Statement[] = [];
  const firstLine = new Map<string, number>();
  let open: { statement: Statement; raw: { text: string; line: number }[] } | undefined;

  const closeBlock = (): void => {
    if (!open) return;
    const body = open.raw;
    while (body.length > 0 && (body[body.length - 1] as { text: string }).text.trim() === '') body.pop();
    const indents = body.filter((l) => l.text.trim() !== '').map((l) => (/^[ \t]*/.exec(l.text) as RegExpExecArray)[0].length);
    const cut = indents.length > 0 ? Math.min(...indents) : 0;
    open.statement.block = body.map((l) => ({ text: l.text.slice(cut).trimEnd(), line: l.line }));
    open.statement.raw = open.statement.block.map((l) => l.text).join('\n');
    open = undefined;
  };

  lines.forEach((lineText, index) => {
    const line = index + 1;
    const where: Where = { file, line };
    if (/^[ \t]/.test(lineText) || lineText.trim() === '') {
      if (open) {
        open.raw.push({ text: lineText, line });
      } else if (lineText.trim() !== '' && !lineText.trim().startsWith('#')) {
        errors.push(new DatafileError({ ...where, what: 'Unexpected indented line', found: quote(lineText.trim()), expected: 'a keyword at the start of the line (indented lines only follow "KEYWORD >")' }));
      }
      return;
    }
    // A comment at column 0 neither ends an open block nor belongs to it.
    if (lineText.startsWith('#')) return;
    closeBlock();

    const m = /^([A-Za-z_][A-Za-z0-9_]*)(.*)$/.exec(lineText);
    if (!m) {
      errors.push(new DatafileError({ ...where, what: 'Invalid line', found: quote(lineText), expected: `a keyword (${known.join(', ')}) followed by a value or ">"` }));
      return;
    }
    const written = m[1] as string;
    const rest = m[2] as string;
    const keyword = written.toUpperCase();
    const rule = rules[keyword];
    if (!rule) {
      const suggestion = closest(written, known);
      if (suggestion) attempted.add(suggestion);
      errors.push(new DatafileError({ ...where, what: 'Unknown keyword', found: quote(written), expected: `one of ${known.join(', ')}`, ...(suggestion ? { hint: `did you mean ${suggestion}?` } : {}) }));
      return;
    }
    if (rest !== '' && !/^[ \t]/.test(rest)) {
      attempted.add(keyword);
      errors.push(new DatafileError({ ...where, what: `Invalid ${keyword} line`, found: quote(lineText), expected: `${keyword}, a space, then the value` }));
      return;
    }
    const first = firstLine.get(keyword);
    if (first !== undefined) {
      errors.push(new DatafileError({ ...where, what: `Duplicate keyword ${keyword}`, found: `a second ${keyword} (the first is on line ${first})`, expected: `${keyword} at most once per file` }));
      return;
    }
    firstLine.set(keyword, line);

    const value = rest.trim();
    const statement: Statement = { keyword, written, line, form: 'inline', raw: value, block: [] };
    if (value === '>') {
      if (rule.block === 'never') {
        attempted.add(keyword);
        errors.push(new DatafileError({ ...where, what: `Invalid ${keyword} line`, found: quote(lineText), expected: `${keyword} followed by its value on the same line` }));
        return;
      }
      statement.form = 'block';
      statement.raw = '';
      statements.push(statement);
      open = { statement, raw: [] };
      return;
    }
    if (value.startsWith('>') && rule.block !== 'never') {
      attempted.add(keyword);
      errors.push(new DatafileError({ ...where, what: `Invalid ${keyword} line`, found: quote(lineText), expected: `"${keyword} >" alone on its line, with the text on the following indented lines` }));
      return;
    }
    if (rule.block === 'required') {
      attempted.add(keyword);
      errors.push(new DatafileError({ ...where, what: `Invalid ${keyword} line`, found: quote(lineText), expected: `"${keyword} >" followed by indented lines` }));
      return;
    }
    if (value === '') {
      attempted.add(keyword);
      errors.push(new DatafileError({ ...where, what: `Missing value for ${keyword}`, found: 'end of line', expected: `${keyword} followed by a value` }));
      return;
    }
    statements.push(statement);
  });
  closeBlock();
  return statements;
}

/**
 * Removes one level of double or single quotes from a value, honouring `\`
 * escapes inside the quotes; unquoted values are returned as they are.
 */
export function unquote(value: string): Checked<string> {
  const q = value[0];
  if (q !== '"' && q !== "'") return ok(value);
  let out = '';
  for (let i = 1; i < value.length; i++) {
    const c = value[i] as string;
    if (c === '\\' && i + 1 < value.length) {
      out += value[++i];
    } else if (c === q) {
      const after = value.slice(i + 1).trim();
      if (after !== '') {
        // `KEY "v"  # note`: the reference has no inline comments; say so rather than leave the user guessing.
        const hint = after.startsWith('#') ? COMMENT_HINT : undefined;
        return problem('Unexpected text after quoted value', quote(after), 'end of line after the closing quote', hint);
      }
      return ok(out);
    } else {
      out += c;
    }
  }
  return problem('Unterminated quoted value', quote(value), `a closing ${q}`);
}

/** The value of a statement: block lines joined by spaces, or the inline value, unquoted. */
export function statementValue(s: Statement): Checked<string> {
  if (s.form === 'block') {
    const joined = s.block.map((l) => l.text.trim()).filter((t) => t !== '').join(' ');
    if (joined === '') return problem(`Missing value for ${s.keyword}`, 'an empty block', `indented lines with the ${s.keyword} value`);
    return unquote(joined);
  }
  return unquote(s.raw);
}

/**
 * The name a datafile gives to what it defines: its file name without the
 * extension, checked against {@link DATAFILE_NAME_PATTERN}.
 */
export function nameFromPath(path: string, extension: '.datasource' | '.connection', kind: string): Checked<string> {
  const base = nodePath.basename(path);
  if (!base.endsWith(extension)) {
    return problem(`Invalid ${kind} file name`, quote(base), `a file name ending in ${extension}`);
  }
  const name = base.slice(0, -extension.length);
  if (extension === '.connection') {
    return CONNECTION_NAME_PATTERN.test(name) ? ok(name) : problem(`Invalid ${kind} name`, quote(name), `a name matching ${CONNECTION_NAME_PATTERN.source} (${CONNECTION_NAME_RULE})`);
  }
  if (!DATAFILE_NAME_PATTERN.test(name)) {
    return problem(`Invalid ${kind} name`, quote(name), `a name matching ^[a-zA-Z_][a-zA-Z0-9_]*$ (letters, digits and _, not starting with a digit)`);
  }
  return ok(name);
}
