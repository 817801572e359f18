/**
 * Column types of the schema language (SPEC R1.3): a small recursive-descent
 * parser over ClickHouse type names, and the inverse, {@link formatColumnType},
 * that prints the normalised text (`Nullable(DateTime64(3, 'UTC'))`).
 *
 * Pure: no I/O.
 */
import type { ColumnType } from './types';
import { type Checked, type Problem, type Where, closest, errorAt, ok, quote } from './errors';

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

const TYPE_NAMES = [
  'String', 'LowCardinality', 'FixedString', 'UUID', 'Bool',
  'Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64',
  'Float32', 'Float64', 'Decimal', 'Decimal32', 'Decimal64', 'Decimal128',
  'Date', 'Date32', 'DateTime', 'DateTime64', 'Nullable', 'Array', 'Map',
] as const;

const MAX_DECIMAL_PRECISION = 38;

type Token =
  | { t: 'ident'; text: string; pos: number }
  | { t: 'number'; text: string; pos: number }
  | { t: 'string'; text: string; raw: string; pos: number }
  | { t: 'punct'; text: '(' | ')' | ','; pos: number }
  | { t: 'end'; text: ''; pos: number };

/** Thrown inside the parser, caught at the top and turned into a Problem. */
class TypeProblem {
  constructor(readonly problem: Problem) {}
}

function fail(what: string, found: string, expected: string, hint?: string): never {
  throw new TypeProblem(hint === undefined ? { what, found, expected } : { what, found, expected, hint });
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: 'punct', text: c, pos: i });
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ t: 'ident', text: m[0], pos: i });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ t: 'number', text: m[0], pos: i });
      i += m[0].length;
    } else if (c === "'") {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= text.length) fail('Unterminated quoted string in column type', quote(text.slice(i)), "a closing '");
        const d = text[j] as string;
        if (d === '\\' && j + 1 < text.length) {
          value += text[j + 1];
          j += 2;
        } else if (d === "'") {
          break;
        } else {
          value += d;
          j++;
        }
      }
      tokens.push({ t: 'string', text: value, raw: text.slice(i, j + 1), pos: i });
      i = j + 1;
    } else {
      fail('Invalid character in column type', `${quote(c)} at character ${i + 1} of ${quote(text)}`, 'a type name, "(", ")", ",", a number or a quoted string');
    }
  }
  tokens.push({ t: 'end', text: '', pos: text.length });
  return tokens;
}

class TypeParser {
  private i = 0;
  constructor(private readonly text: string, private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }

  private next(): Token {
    const t = this.tokens[this.i] as Token;
    if (t.t !== 'end') this.i++;
    return t;
  }

  private describe(t: Token): string {
    return t.t === 'end' ? `end of type in ${quote(this.text)}` : `${quote(t.t === 'string' ? t.raw : t.text)} at character ${t.pos + 1} of ${quote(this.text)}`;
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

    const noArgs = (type: ColumnType): ColumnType => {
      if (hasArgs) {
        this.skipArgs();
        fail('Invalid column type', quote(this.source(startIndex)), `${name} without arguments`);
      }
      return type;
    };
    const needArgs = (form: string): void => {
      if (!hasArgs) fail('Missing type arguments', quote(name), form);
      this.next(); // '('
    };

    switch (name) {
      case 'String':
        return noArgs({ kind: 'String' });
      case 'UUID':
        return noArgs({ kind: 'UUID' });
      case 'Bool':
        return noArgs({ kind: 'Bool' });
      case 'Date':
        return noArgs({ kind: 'Date' });
      case 'Date32':
        return noArgs({ kind: 'Date32' });
      case 'Int8':
      case 'Int16':
      case 'Int32':
      case 'Int64':
      case 'UInt8':
      case 'UInt16':
      case 'UInt32':
      case 'UInt64': {
        const signed = name.startsWith('Int');
        const bits = Number(name.slice(signed ? 3 : 4)) as 8 | 16 | 32 | 64;
        return noArgs({ kind: 'Int', bits, signed });
      }
      case 'Float32':
      case 'Float64':
        return noArgs({ kind: 'Float', bits: name === 'Float32' ? 32 : 64 });
      case 'FixedString': {
        needArgs('FixedString(N) with a length N of at least 1');
        const n = this.parseInt('FixedString length', 1, 65535);
        this.expectPunct(')', '")" after the FixedString length');
        return { kind: 'FixedString', length: n };
      }
      case 'Decimal': {
        needArgs(`Decimal(P, S) with precision P from 1 to ${MAX_DECIMAL_PRECISION} and scale S from 0 to P`);
        const precision = this.parseInt('Decimal precision', 1, MAX_DECIMAL_PRECISION);
        let scale = 0;
        if (this.peek().t === 'punct' && this.peek().text === ',') {
          this.next();
          scale = this.parseInt('Decimal scale', 0, precision);
        }
        this.expectPunct(')', '")" after the Decimal scale');
        return { kind: 'Decimal', precision, scale };
      }
      case 'Decimal32':
      case 'Decimal64':
      case 'Decimal128': {
        const precision = name === 'Decimal32' ? 9 : name === 'Decimal64' ? 18 : 38;
        needArgs(`${name}(S) with a scale S from 0 to ${precision}`);
        const scale = this.parseInt(`${name} scale`, 0, precision);
        this.expectPunct(')', `")" after the ${name} scale`);
        return { kind: 'Decimal', precision, scale };
      }
      case 'DateTime': {
        if (!hasArgs) return { kind: 'DateTime' };
        this.next();
        const timezone = this.parseTimezone('DateTime');
        this.expectPunct(')', '")" after the DateTime time zone');
        return { kind: 'DateTime', timezone };
      }
      case 'DateTime64': {
        needArgs("DateTime64(p) or DateTime64(p, 'tz') with a precision p from 0 to 9");
        const precision = this.parseInt('DateTime64 precision', 0, 9);
        let timezone: string | undefined;
        if (this.peek().t === 'punct' && this.peek().text === ',') {
          this.next();
          timezone = this.parseTimezone('DateTime64');
        }
        this.expectPunct(')', timezone === undefined ? '"," or ")" after the DateTime64 precision' : '")" after the DateTime64 time zone');
        return timezone === undefined ? { kind: 'DateTime64', precision } : { kind: 'DateTime64', precision, timezone };
      }
      case 'Nullable': {
        needArgs('Nullable(T)');
        const innerStart = this.i;
        const inner = this.parseType();
        if (!canBeNullable(inner)) {
          fail('Invalid Nullable type', quote(`Nullable(${this.source(innerStart)})`), 'Nullable of a plain type (Nullable cannot wrap Nullable, LowCardinality, Array or Map)', inner.kind === 'LowCardinality' ? 'write LowCardinality(Nullable(T)) instead' : undefined);
        }
        this.expectPunct(')', '")" after the Nullable type');
        return { kind: 'Nullable', inner };
      }
      case 'LowCardinality': {
        needArgs('LowCardinality(T)');
        const innerStart = this.i;
        const inner = this.parseType();
        if (!canBeLowCardinality(inner)) {
          fail('Invalid LowCardinality type', quote(`LowCardinality(${this.source(innerStart)})`), 'LowCardinality of String, FixedString, a number, Date, Date32, DateTime, UUID or Nullable of one of them');
        }
        this.expectPunct(')', '")" after the LowCardinality type');
        return { kind: 'LowCardinality', inner };
      }
      case 'Array': {
        needArgs('Array(T)');
        const element = this.parseType();
        this.expectPunct(')', '")" after the Array element type');
        return { kind: 'Array', element };
      }
      case 'Map': {
        needArgs('Map(String, T)');
        const keyStart = this.i;
        const key = this.parseType();
        if (!canBeMapKey(key)) {
          fail('Invalid Map key type', quote(this.source(keyStart)), 'String, LowCardinality(String), FixedString(N), an integer, UUID, Date, Date32 or DateTime');
        }
        this.expectPunct(',', '"," between the Map key and value types');
        const value = this.parseType();
        this.expectPunct(')', '")" after the Map value type');
        return { kind: 'Map', key, value };
      }
      default: {
        const suggestion = closest(name, TYPE_NAMES);
        fail('Unknown column type', quote(name), `one of ${ACCEPTED_COLUMN_TYPES.join(', ')}`, suggestion ? `did you mean ${quote(suggestion)}?` : undefined);
      }
    }
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
    if (t.t !== 'string') fail(`Invalid ${type} time zone`, this.describe(t), "a quoted IANA time zone such as 'UTC' or 'Europe/Madrid'");
    if (!isTimeZone(t.text)) fail(`Unknown ${type} time zone`, quote(t.text), "an IANA time zone such as 'UTC' or 'Europe/Madrid'");
    return t.text;
  }
}

/** True when `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  if (tz === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isComposite(t: ColumnType): boolean {
  return t.kind === 'Nullable' || t.kind === 'LowCardinality' || t.kind === 'Array' || t.kind === 'Map';
}

function canBeNullable(t: ColumnType): boolean {
  return !isComposite(t);
}

function canBeLowCardinality(t: ColumnType): boolean {
  const base = t.kind === 'Nullable' ? t.inner : t;
  return ['String', 'FixedString', 'Int', 'Float', 'Date', 'Date32', 'DateTime', 'UUID'].includes(base.kind);
}

function canBeMapKey(t: ColumnType): boolean {
  if (t.kind === 'LowCardinality') return t.inner.kind === 'String';
  return ['String', 'FixedString', 'Int', 'UUID', 'Date', 'Date32', 'DateTime'].includes(t.kind);
}

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
    if (text.trim() === '') return { ok: false, problem: { what: 'Missing column type', found: 'nothing', expected: `a type (${ACCEPTED_COLUMN_TYPES.join(', ')})` } };
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

/**
 * Prints a {@link ColumnType} in its normalised text form: canonical names,
 * `, ` between arguments, time zones in single quotes, Decimal shorthands
 * expanded (`Decimal32(2)` prints as `Decimal(9, 2)`).
 */
export function formatColumnType(t: ColumnType): string {
  switch (t.kind) {
    case 'String':
    case 'UUID':
    case 'Bool':
    case 'Date':
    case 'Date32':
      return t.kind;
    case 'LowCardinality':
      return `LowCardinality(${formatColumnType(t.inner)})`;
    case 'FixedString':
      return `FixedString(${t.length})`;
    case 'Int':
      return `${t.signed ? 'Int' : 'UInt'}${t.bits}`;
    case 'Float':
      return `Float${t.bits}`;
    case 'Decimal':
      return `Decimal(${t.precision}, ${t.scale})`;
    case 'DateTime':
      return t.timezone === undefined ? 'DateTime' : `DateTime(${quoteTz(t.timezone)})`;
    case 'DateTime64':
      return t.timezone === undefined ? `DateTime64(${t.precision})` : `DateTime64(${t.precision}, ${quoteTz(t.timezone)})`;
    case 'Nullable':
      return `Nullable(${formatColumnType(t.inner)})`;
    case 'Array':
      return `Array(${formatColumnType(t.element)})`;
    case 'Map':
      return `Map(${formatColumnType(t.key)}, ${formatColumnType(t.value)})`;
  }
}

function quoteTz(tz: string): string {
  return `'${tz.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The type under any Nullable and LowCardinality wrappers. */
export function baseColumnType(t: ColumnType): ColumnType {
  return t.kind === 'Nullable' || t.kind === 'LowCardinality' ? baseColumnType(t.inner) : t;
}
