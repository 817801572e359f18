/**
 * Column types of the schema language (SPEC R1.3): a small recursive-descent
 * parser over ClickHouse type names, and the inverse, {@link formatColumnType},
 * that prints the normalised text (`Nullable(DateTime64(3, 'UTC'))`).
 *
 * One file a stage: tokenizer.ts, parser.ts (with the wrapping rules of
 * rules.ts), format.ts; names.ts lists the types.
 *
 * Pure: no I/O.
 */
import type { ColumnType } from '../types';
import { type Checked, type Where, errorAt, ok } from '../errors';
import { ACCEPTED_COLUMN_TYPES, TypeProblem } from './names';
import { TypeParser } from './parser';
import { tokenize } from './tokenizer';

export { baseColumnType, formatColumnType } from './format';
export { ACCEPTED_COLUMN_TYPES } from './names';
export { isTimeZone } from './rules';

/**
 * Parses a type string (`Nullable(Array(String))`) without throwing.
 *
 * Type names are case-sensitive, as in ClickHouse; a wrong case or a typo gets
 * a `did you mean` hint. Rules beyond the grammar: Decimal precision 1..38 and
 * 0 ≤ scale ≤ precision (`Decimal(P)` means scale 0, `Decimal32/64/128(S)` are
 * shorthands); DateTime64 precision 0..9; time zones must be IANA names;
 * Nullable cannot wrap Nullable, LowCardinality, Array or Map; LowCardinality
 * wraps String, FixedString, numbers, dates, UUID or Nullable of those; Map keys
 * are String-like, integers, UUID or dates.
 */
export function checkColumnType(text: string): Checked<ColumnType> {
  try {
    if (text.trim() === '')
      return {
        ok: false,
        problem: {
          what: 'Missing column type',
          found: 'nothing',
          expected: `a type (${ACCEPTED_COLUMN_TYPES.join(', ')})`,
        },
      };
    return ok(new TypeParser(text, tokenize(text)).parseAll());
  } catch (e) {
    if (e instanceof TypeProblem) return { ok: false, problem: e.problem };
    throw e;
  }
}

/**
 * Parses a type string into a {@link ColumnType}.
 *
 * @param where - file and line to name in the error; defaults to a pseudo file `<column type>` line 1.
 * @throws DatafileError when the text is not an accepted type (see {@link checkColumnType}).
 */
export function parseColumnType(text: string, where: Where = { file: '<column type>', line: 1 }): ColumnType {
  const r = checkColumnType(text);
  if (!r.ok) throw errorAt(where, r.problem);
  return r.value;
}
