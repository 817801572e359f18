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
  const reader = new StatementReader(file, rules, errors, attempted);
  text.split(/\r?\n/).forEach((lineText, index) => reader.read(lineText, index + 1));
  return reader.finish();
}

/** The state of {@link readStatements}: the statements so far, the block being read, each keyword's first line. */
class StatementReader {
  private readonly known: string[];
  private readonly statements: Statement[] = [];
  private readonly firstLine = new Map<string, number>();
  private open: { statement: Statement; raw: { text: string; line: number }[] } | undefined;

  constructor(
    private readonly file: string,
    private readonly rules: Readonly<Record<string, KeywordRule>>,
    private readonly errors: DatafileError[],
    private readonly attempted: Set<string>,
  ) {
    this.known = Object.keys(rules);
  }

  read(lineText: string, line: number): void {
    const where: Where = { file: this.file, line };
    if (/^[ \t]/.test(lineText) || lineText.trim() === '') {
      this.indented(lineText, where);
      return;
    }
    // A comment at column 0 neither ends an open block nor belongs to it.
    if (lineText.startsWith('#')) return;
    this.closeBlock();
    const statement = this.keywordLine(lineText, where);
    if (statement === undefined) return;
    this.statements.push(statement);
    if (statement.form === 'block') this.open = { statement, raw: [] };
  }

  finish(): Statement[] {
    this.closeBlock();
    return this.statements;
  }

  /** An indented or empty line: part of the open block, else an error unless blank or a comment. */
  private indented(lineText: string, where: Where): void {
    if (this.open) {
      this.open.raw.push({ text: lineText, line: where.line });
    } else if (lineText.trim() !== '' && !lineText.trim().startsWith('#')) {
      this.errors.push(
        new DatafileError({
          ...where,
          what: 'Unexpected indented line',
          found: quote(lineText.trim()),
          expected: 'a keyword at the start of the line (indented lines only follow "KEYWORD >")',
        }),
      );
    }
  }

  /** Ends the open block: trailing blank lines dropped, the common indentation removed. */
  private closeBlock(): void {
    if (!this.open) return;
    const body = this.open.raw;
    while (body.length > 0 && (body[body.length - 1] as { text: string }).text.trim() === '') body.pop();
    const indents = body
      .filter((l) => l.text.trim() !== '')
      .map((l) => (/^[ \t]*/.exec(l.text) as RegExpExecArray)[0].length);
    const cut = indents.length > 0 ? Math.min(...indents) : 0;
    this.open.statement.block = body.map((l) => ({ text: l.text.slice(cut).trimEnd(), line: l.line }));
    this.open.statement.raw = this.open.statement.block.map((l) => l.text).join('\n');
    this.open = undefined;
  }

  /** The statement a keyword line starts, or undefined after reporting why it is none. */
  private keywordLine(lineText: string, where: Where): Statement | undefined {
    const known = this.known;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(.*)$/.exec(lineText);
    if (!m) {
      this.errors.push(
        new DatafileError({
          ...where,
          what: 'Invalid line',
          found: quote(lineText),
          expected: `a keyword (${known.join(', ')}) followed by a value or ">"`,
        }),
      );
      return undefined;
    }
    const written = m[1] as string;
    const rest = m[2] as string;
    const keyword = written.toUpperCase();
    const rule = this.rules[keyword];
    if (!rule) {
      const suggestion = closest(written, known);
      if (suggestion) this.attempted.add(suggestion);
      this.errors.push(
        new DatafileError({
          ...where,
          what: 'Unknown keyword',
          found: quote(written),
          expected: `one of ${known.join(', ')}`,
          ...(suggestion ? { hint: `did you mean ${suggestion}?` } : {}),
        }),
      );
      return undefined;
    }
    if (rest !== '' && !/^[ \t]/.test(rest)) {
      this.attempted.add(keyword);
      this.errors.push(
        new DatafileError({
          ...where,
          what: `Invalid ${keyword} line`,
          found: quote(lineText),
          expected: `${keyword}, a space, then the value`,
        }),
      );
      return undefined;
    }
    const first = this.firstLine.get(keyword);
    if (first !== undefined) {
      this.errors.push(
        new DatafileError({
          ...where,
          what: `Duplicate keyword ${keyword}`,
          found: `a second ${keyword} (the first is on line ${first})`,
          expected: `${keyword} at most once per file`,
        }),
      );
      return undefined;
    }
    this.firstLine.set(keyword, where.line);
    return this.statementOf(
      { keyword, written, line: where.line, form: 'inline', raw: rest.trim(), block: [] },
      rule,
      lineText,
      where,
    );
  }

  /** The statement of a known keyword, if its form (inline or `>` block) is one its rule allows. */
  private statementOf(statement: Statement, rule: KeywordRule, lineText: string, where: Where): Statement | undefined {
    const { keyword, raw: value } = statement;
    const invalid = (expected: string): undefined => {
      this.attempted.add(keyword);
      this.errors.push(
        new DatafileError({ ...where, what: `Invalid ${keyword} line`, found: quote(lineText), expected }),
      );
      return undefined;
    };
    if (value === '>') {
      if (rule.block === 'never') return invalid(`${keyword} followed by its value on the same line`);
      return { ...statement, form: 'block', raw: '' };
    }
    if (value.startsWith('>') && rule.block !== 'never')
      return invalid(`"${keyword} >" alone on its line, with the text on the following indented lines`);
    if (rule.block === 'required') return invalid(`"${keyword} >" followed by indented lines`);
    if (value === '') {
      this.attempted.add(keyword);
      this.errors.push(
        new DatafileError({
          ...where,
          what: `Missing value for ${keyword}`,
          found: 'end of line',
          expected: `${keyword} followed by a value`,
        }),
      );
      return undefined;
    }
    return statement;
  }
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
    const joined = s.block
      .map((l) => l.text.trim())
      .filter((t) => t !== '')
      .join(' ');
    if (joined === '')
      return problem(`Missing value for ${s.keyword}`, 'an empty block', `indented lines with the ${s.keyword} value`);
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
    return CONNECTION_NAME_PATTERN.test(name)
      ? ok(name)
      : problem(
          `Invalid ${kind} name`,
          quote(name),
          `a name matching ${CONNECTION_NAME_PATTERN.source} (${CONNECTION_NAME_RULE})`,
        );
  }
  if (!DATAFILE_NAME_PATTERN.test(name)) {
    return problem(
      `Invalid ${kind} name`,
      quote(name),
      `a name matching ^[a-zA-Z_][a-zA-Z0-9_]*$ (letters, digits and _, not starting with a digit)`,
    );
  }
  return ok(name);
}
