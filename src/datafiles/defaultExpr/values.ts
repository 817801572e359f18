/**
 * What a checked DEFAULT is ({@link DefaultValue}), the functions it may call,
 * and the problem the tokenizer, parser and checker throw (caught once, in
 * checkDefaultExpr).
 */
import { type Problem, quote } from '../errors';

/** A checked DEFAULT, ready to be rendered by a destination. Plain JSON. */
export type DefaultValue =
  /** A numeric constant; `text` matches {@link NUMBER_TEXT}. */
  | { kind: 'number'; text: string }
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' }
  /** The current instant, the current date (UTC), the day before, a random UUID. */
  | { kind: 'now' }
  | { kind: 'today' }
  | { kind: 'yesterday' }
  | { kind: 'uuid' }
  /** Seconds since 1970-01-01 UTC as an instant. */
  | { kind: 'epoch'; seconds: DefaultValue }
  /** A conversion to a date, a date-time (UTC wall time) or text. */
  | { kind: 'cast'; to: 'date' | 'datetime' | 'string'; value: DefaultValue }
  /** A wall time read in an IANA time zone (toDateTime(x, 'tz')). */
  | { kind: 'inZone'; timezone: string; value: DefaultValue }
  /** A date plus or minus whole days; a date-time plus or minus seconds. */
  | { kind: 'shift'; unit: 'days' | 'seconds'; base: DefaultValue; amount: DefaultValue; sign: 1 | -1 }
  | { kind: 'array'; items: DefaultValue[] }
  | { kind: 'map'; entries: [DefaultValue, DefaultValue][] };

/** Canonical numeric text: what a `number` value may hold, and nothing else. */
export const NUMBER_TEXT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?$/;

/** Functions a DEFAULT may call, as written in messages. */
export const DEFAULT_FUNCTIONS: readonly string[] = [
  'now()',
  'now64([p[, tz]])',
  'today()',
  'yesterday()',
  'generateUUIDv4()',
  'toDate(x)',
  'toDate32(x)',
  'toDateTime(x[, tz])',
  'toDateTime64(x[, p[, tz]])',
  'toString(x)',
  'array(...)',
  'map(k, v, ...)',
];

export const EXPECTED_EXPRESSION = `a literal (number, 'text', true, false, NULL, [..]), arithmetic (+ - * /), parentheses, or one of ${DEFAULT_FUNCTIONS.join(', ')}`;

/** Longest DEFAULT accepted, in characters, and deepest nesting. */
export const MAX_LENGTH = 2000;
export const MAX_DEPTH = 32;

/** Thrown inside the tokenizer, parser and checker; checkDefaultExpr returns its problem. */
export class DefaultProblem {
  constructor(readonly problem: Problem) {}
}

export function fail(what: string, found: string, expected: string, hint?: string): never {
  throw new DefaultProblem(hint === undefined ? { what, found, expected } : { what, found, expected, hint });
}

/** A piece of the expression, quoted, and where it starts. */
export function at(text: string, pos: number, shown: string): string {
  return `${quote(shown)} at character ${pos + 1} of ${quote(text)}`;
}
