/**
 * The names of the column types, the forms listed in messages, and the
 * problem the tokenizer and parser throw (caught once, in checkColumnType).
 */
import type { Problem } from '../errors';

/** The type forms accepted, in the order they are listed in error messages. */
export const ACCEPTED_COLUMN_TYPES: readonly string[] = [
  'String',
  'LowCardinality(T)',
  'FixedString(N)',
  'UUID',
  'Bool',
  'Int8',
  'Int16',
  'Int32',
  'Int64',
  'UInt8',
  'UInt16',
  'UInt32',
  'UInt64',
  'Float32',
  'Float64',
  'Decimal(P, S)',
  'Decimal32(S)',
  'Decimal64(S)',
  'Decimal128(S)',
  'Date',
  'Date32',
  'DateTime',
  "DateTime('tz')",
  'DateTime64(p)',
  "DateTime64(p, 'tz')",
  'Nullable(T)',
  'Array(T)',
  'Map(String, T)',
];

/** Every type name, for "did you mean" hints: the accepted forms without their arguments. */
export const TYPE_NAMES: readonly string[] = [
  ...new Set(ACCEPTED_COLUMN_TYPES.map((form) => form.replace(/\(.*$/, ''))),
];

export const MAX_DECIMAL_PRECISION = 38;

/** Thrown inside the parser, caught at the top and turned into a Problem. */
export class TypeProblem {
  constructor(readonly problem: Problem) {}
}

export function fail(what: string, found: string, expected: string, hint?: string): never {
  throw new TypeProblem(hint === undefined ? { what, found, expected } : { what, found, expected, hint });
}
