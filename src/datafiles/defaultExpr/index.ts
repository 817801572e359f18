/**
 * `DEFAULT` expressions of schema columns (SPEC R1.3): a small, closed
 * grammar, checked against the column's type at parse time.
 *
 * The destination never sees the text as written: the sink renders the
 * {@link DefaultValue} this module returns (see `renderDefault` in
 * src/sinks/duckdbTypes.ts), so no datafile text reaches SQL except as a
 * literal that we escape ourselves. Anything outside the grammar is refused
 * here, with the file and line of the column.
 *
 * Grammar (ClickHouse syntax, as the reference's datafiles write it):
 *
 *     expr    := term (('+' | '-') term)*
 *     term    := unary (('*' | '/') unary)*
 *     unary   := ('-' | '+') unary | primary
 *     primary := number | 'string' | true | false | NULL | '(' expr ')'
 *              | '[' [expr (',' expr)*] ']' | function '(' [expr (',' expr)*] ')'
 *
 * Functions: now(), now64([p[, 'tz']]), today(), yesterday(),
 * generateUUIDv4(), toDate(x), toDate32(x), toDateTime(x[, 'tz']),
 * toDateTime64(x[, p[, 'tz']]), toString(x), array(...), map(k, v, ...).
 * Arithmetic: numbers with numbers (folded to one constant), a date plus or
 * minus a whole number of days, a date-time plus or minus seconds.
 *
 * The stages have a file each: tokenizer.ts, parser.ts (the syntax tree),
 * checker.ts (types and folding, against the column's type); values.ts holds
 * what comes out.
 *
 * Pure: no I/O.
 */
import type { ColumnType } from '../types';
import { type Checked, ok } from '../errors';
import { Checker } from './checker';
import { Parser } from './parser';
import { tokenize } from './tokenizer';
import { DefaultProblem, type DefaultValue, MAX_LENGTH } from './values';

export { DEFAULT_FUNCTIONS, type DefaultValue, NUMBER_TEXT } from './values';

/**
 * Parses a DEFAULT expression and checks it against the column's type.
 * Never throws: a problem comes back as a {@link Problem} (the parsers add
 * file and line).
 */
export function checkDefaultExpr(text: string, type: ColumnType): Checked<DefaultValue> {
  try {
    const expr = text.trim();
    if (expr === '')
      return {
        ok: false,
        problem: {
          what: 'Missing DEFAULT expression',
          found: 'nothing',
          expected: 'an expression after DEFAULT, e.g. DEFAULT 0 or DEFAULT now()',
        },
      };
    if (expr.length > MAX_LENGTH)
      return {
        ok: false,
        problem: {
          what: 'DEFAULT expression too long',
          found: `${expr.length} characters`,
          expected: `at most ${MAX_LENGTH}`,
        },
      };
    const node = new Parser(expr, tokenize(expr)).parseAll();
    return ok(new Checker(expr).value(node, type));
  } catch (e) {
    if (e instanceof DefaultProblem) return { ok: false, problem: e.problem };
    throw e;
  }
}
