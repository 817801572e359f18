/** A recursive-descent parser of column types over the tokens of ./tokenizer.ts. */
import type { ColumnType } from '../types';
import { closest, quote } from '../errors';
import { ACCEPTED_COLUMN_TYPES, MAX_DECIMAL_PRECISION, TYPE_NAMES, fail } from './names';
import { canBeLowCardinality, canBeMapKey, canBeNullable, isTimeZone } from './rules';
import type { Token } from './tokenizer';

/** The types written without arguments, by name. */
const PLAIN_TYPES = new Map<string, ColumnType>([
  ['String', { kind: 'String' }],
  ['UUID', { kind: 'UUID' }],
  ['Bool', { kind: 'Bool' }],
  ['Date', { kind: 'Date' }],
  ['Date32', { kind: 'Date32' }],
  ...(['Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64'] as const).map(
    (name): [string, ColumnType] => {
      const signed = name.startsWith('Int');
      return [name, { kind: 'Int', bits: Number(name.slice(signed ? 3 : 4)) as 8 | 16 | 32 | 64, signed }];
    },
  ),
  ['Float32', { kind: 'Float', bits: 32 }],
  ['Float64', { kind: 'Float', bits: 64 }],
]);

export class TypeParser {
  private i = 0;
  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }

  private next(): Token {
    const t = this.tokens[this.i] as Token;
    if (t.t !== 'end') this.i++;
    return t;
  }

  private describe(t: Token): string {
    return t.t === 'end'
      ? `end of type in ${quote(this.text)}`
      : `${quote(t.t === 'string' ? t.raw : t.text)} at character ${t.pos + 1} of ${quote(this.text)}`;
  }

  private expectPunct(p: '(' | ')' | ',', expected: string): void {
    const t = this.next();
    if (t.t !== 'punct' || t.text !== p) fail('Invalid column type', this.describe(t), expected);
  }

  /** Parses the whole text as one type. */
  parseAll(): ColumnType {
    const type = this.parseType();
    const t = this.peek();
    if (t.t !== 'end') fail('Invalid column type', this.describe(t), 'end of the type');
    return type;
  }

  /** The source text of tokens [from, this.i), for messages. */
  private source(from: number): string {
    const start = (this.tokens[from] as Token).pos;
    const last = this.tokens[this.i - 1];
    const end = last ? last.pos + (last.t === 'string' ? last.raw.length : last.text.length) : start;
    return this.text.slice(start, end);
  }

  private parseType(): ColumnType {
    const startIndex = this.i;
    const nameTok = this.next();
    if (nameTok.t !== 'ident') {
      fail('Invalid column type', this.describe(nameTok), `a type name (${ACCEPTED_COLUMN_TYPES.join(', ')})`);
    }
    const name = nameTok.text;
    const hasArgs = this.peek().t === 'punct' && this.peek().text === '(';
    const plain = PLAIN_TYPES.get(name);
    if (plain !== undefined) {
      if (hasArgs) {
        this.skipArgs();
        fail('Invalid column type', quote(this.source(startIndex)), `${name} without arguments`);
      }
      return { ...plain };
    }
    switch (name) {
      case 'FixedString':
        return this.fixedString(hasArgs);
      case 'Decimal':
      case 'Decimal32':
      case 'Decimal64':
      case 'Decimal128':
        return this.decimal(name, hasArgs);
      case 'DateTime':
        return this.dateTime(hasArgs);
      case 'DateTime64':
        return this.dateTime64(hasArgs);
      case 'Nullable':
      case 'LowCardinality':
        return this.wrapper(name, hasArgs);
      case 'Array':
        return this.array(hasArgs);
      case 'Map':
        return this.map(hasArgs);
      default: {
        const suggestion = closest(name, TYPE_NAMES);
        fail(
          'Unknown column type',
          quote(name),
          `one of ${ACCEPTED_COLUMN_TYPES.join(', ')}`,
          suggestion ? `did you mean ${quote(suggestion)}?` : undefined,
        );
      }
    }
  }

  /** Reads the `(` of a type that needs arguments, or fails with the form it takes. */
  private needArgs(hasArgs: boolean, name: string, form: string): void {
    if (!hasArgs) fail('Missing type arguments', quote(name), form);
    this.next(); // '('
  }

  private fixedString(hasArgs: boolean): ColumnType {
    this.needArgs(hasArgs, 'FixedString', 'FixedString(N) with a length N of at least 1');
    const n = this.parseInt('FixedString length', 1, 65535);
    this.expectPunct(')', '")" after the FixedString length');
    return { kind: 'FixedString', length: n };
  }

  /** Decimal(P[, S]), or the shorthands Decimal32/64/128(S) of precision 9, 18 and 38. */
  private decimal(name: 'Decimal' | 'Decimal32' | 'Decimal64' | 'Decimal128', hasArgs: boolean): ColumnType {
    if (name === 'Decimal') {
      this.needArgs(
        hasArgs,
        name,
        `Decimal(P, S) with precision P from 1 to ${MAX_DECIMAL_PRECISION} and scale S from 0 to P`,
      );
      const precision = this.parseInt('Decimal precision', 1, MAX_DECIMAL_PRECISION);
      let scale = 0;
      if (this.peek().t === 'punct' && this.peek().text === ',') {
        this.next();
        scale = this.parseInt('Decimal scale', 0, precision);
      }
      this.expectPunct(')', '")" after the Decimal scale');
      return { kind: 'Decimal', precision, scale };
    }
    const precision = name === 'Decimal32' ? 9 : name === 'Decimal64' ? 18 : 38;
    this.needArgs(hasArgs, name, `${name}(S) with a scale S from 0 to ${precision}`);
    const scale = this.parseInt(`${name} scale`, 0, precision);
    this.expectPunct(')', `")" after the ${name} scale`);
    return { kind: 'Decimal', precision, scale };
  }

  private dateTime(hasArgs: boolean): ColumnType {
    if (!hasArgs) return { kind: 'DateTime' };
    this.next();
    const timezone = this.parseTimezone('DateTime');
    this.expectPunct(')', '")" after the DateTime time zone');
    return { kind: 'DateTime', timezone };
  }

  private dateTime64(hasArgs: boolean): ColumnType {
    this.needArgs(hasArgs, 'DateTime64', "DateTime64(p) or DateTime64(p, 'tz') with a precision p from 0 to 9");
    const precision = this.parseInt('DateTime64 precision', 0, 9);
    let timezone: string | undefined;
    if (this.peek().t === 'punct' && this.peek().text === ',') {
      this.next();
      timezone = this.parseTimezone('DateTime64');
    }
    this.expectPunct(
      ')',
      timezone === undefined ? '"," or ")" after the DateTime64 precision' : '")" after the DateTime64 time zone',
    );
    return timezone === undefined ? { kind: 'DateTime64', precision } : { kind: 'DateTime64', precision, timezone };
  }

  /** Nullable(T) and LowCardinality(T), each of the types it may wrap. */
  private wrapper(name: 'Nullable' | 'LowCardinality', hasArgs: boolean): ColumnType {
    this.needArgs(hasArgs, name, `${name}(T)`);
    const innerStart = this.i;
    const inner = this.parseType();
    if (name === 'Nullable' && !canBeNullable(inner)) {
      fail(
        'Invalid Nullable type',
        quote(`Nullable(${this.source(innerStart)})`),
        'Nullable of a plain type (Nullable cannot wrap Nullable, LowCardinality, Array or Map)',
        inner.kind === 'LowCardinality' ? 'write LowCardinality(Nullable(T)) instead' : undefined,
      );
    }
    if (name === 'LowCardinality' && !canBeLowCardinality(inner)) {
      fail(
        'Invalid LowCardinality type',
        quote(`LowCardinality(${this.source(innerStart)})`),
        'LowCardinality of String, FixedString, a number, Date, Date32, DateTime, UUID or Nullable of one of them',
      );
    }
    this.expectPunct(')', `")" after the ${name} type`);
    return { kind: name, inner } as ColumnType;
  }

  private array(hasArgs: boolean): ColumnType {
    this.needArgs(hasArgs, 'Array', 'Array(T)');
    const element = this.parseType();
    this.expectPunct(')', '")" after the Array element type');
    return { kind: 'Array', element };
  }

  private map(hasArgs: boolean): ColumnType {
    this.needArgs(hasArgs, 'Map', 'Map(String, T)');
    const keyStart = this.i;
    const key = this.parseType();
    if (!canBeMapKey(key)) {
      fail(
        'Invalid Map key type',
        quote(this.source(keyStart)),
        'String, LowCardinality(String), FixedString(N), an integer, UUID, Date, Date32 or DateTime',
      );
    }
    this.expectPunct(',', '"," between the Map key and value types');
    const value = this.parseType();
    this.expectPunct(')', '")" after the Map value type');
    return { kind: 'Map', key, value };
  }

  private skipArgs(): void {
    let depth = 0;
    for (;;) {
      const t = this.next();
      if (t.t === 'end') return;
      if (t.t === 'punct' && t.text === '(') depth++;
      if (t.t === 'punct' && t.text === ')' && --depth === 0) return;
    }
  }

  private parseInt(label: string, min: number, max: number): number {
    const t = this.next();
    const range = `a whole number from ${min} to ${max}`;
    if (t.t !== 'number') fail(`Invalid ${label}`, this.describe(t), range);
    const n = Number(t.text);
    if (n < min || n > max) fail(`Invalid ${label}`, t.text, range);
    return n;
  }

  private parseTimezone(type: string): string {
    const t = this.next();
    if (t.t !== 'string')
      fail(`Invalid ${type} time zone`, this.describe(t), "a quoted IANA time zone such as 'UTC' or 'Europe/Madrid'");
    if (!isTimeZone(t.text))
      fail(`Unknown ${type} time zone`, quote(t.text), "an IANA time zone such as 'UTC' or 'Europe/Madrid'");
    return t.text;
  }
}
