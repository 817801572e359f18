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
 * Pure: no I/O.
 */
import type { ColumnType } from './types';
import { type Checked, type Problem, closest, ok, quote } from './errors';
import { formatColumnType, isTimeZone } from './columnType';

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

const EXPECTED_EXPRESSION =
  `a literal (number, 'text', true, false, NULL, [..]), arithmetic (+ - * /), parentheses, or one of ${DEFAULT_FUNCTIONS.join(', ')}`;

/** Longest DEFAULT accepted, in characters, and deepest nesting. */
const MAX_LENGTH = 2000;
const MAX_DEPTH = 32;

// ---------------------------------------------------------------------------
// Tokens

type Token =
  | { t: 'number'; text: string; pos: number }
  | { t: 'string'; value: string; raw: string; pos: number }
  | { t: 'ident'; text: string; pos: number }
  | { t: 'punct'; text: '(' | ')' | '[' | ']' | ',' | '+' | '-' | '*' | '/'; pos: number }
  | { t: 'end'; pos: number };

class DefaultProblem {
  constructor(readonly problem: Problem) {}
}

function fail(what: string, found: string, expected: string, hint?: string): never {
  throw new DefaultProblem(hint === undefined ? { what, found, expected } : { what, found, expected, hint });
}

function at(text: string, pos: number, shown: string): string {
  return `${quote(shown)} at character ${pos + 1} of ${quote(text)}`;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
    } else if ('()[],+-*/'.includes(c)) {
      tokens.push({ t: 'punct', text: c as '(' | ')' | '[' | ']' | ',' | '+' | '-' | '*' | '/', pos: i });
      i++;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i));
      if (!m) fail('Invalid number in DEFAULT', at(text, i, c), 'digits, an optional fraction and exponent (1, 2.5, 1e3)');
      if (/^[A-Za-z_]/.test(text.slice(i + m[0].length))) {
        fail('Invalid number in DEFAULT', at(text, i, text.slice(i).split(/[\s,()]/)[0] ?? c), 'a decimal number such as 1, 2.5 or 1e3');
      }
      tokens.push({ t: 'number', text: m[0], pos: i });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ t: 'ident', text: m[0], pos: i });
      i += m[0].length;
    } else if (c === "'") {
      // ClickHouse string literal: backslash escapes, and '' for a quote.
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= text.length) fail('Unterminated string in DEFAULT', quote(text.slice(i)), "a closing '");
        const d = text[j] as string;
        if (d === '\\') {
          if (j + 1 >= text.length) fail('Unterminated string in DEFAULT', quote(text.slice(i)), "a closing '");
          const n = text[j + 1] as string;
          value += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n === '0' ? '\0' : n;
          j += 2;
        } else if (d === "'" && text[j + 1] === "'") {
          value += "'";
          j += 2;
        } else if (d === "'") {
          break;
        } else {
          value += d;
          j++;
        }
      }
      if (value.includes('\0')) fail('Invalid string in DEFAULT', at(text, i, text.slice(i, j + 1)), 'text without NUL characters');
      tokens.push({ t: 'string', value, raw: text.slice(i, j + 1), pos: i });
      i = j + 1;
    } else {
      fail('Invalid character in DEFAULT', at(text, i, c), EXPECTED_EXPRESSION);
    }
  }
  tokens.push({ t: 'end', pos: text.length });
  return tokens;
}

// ---------------------------------------------------------------------------
// Syntax tree (untyped)

/** Every node knows the span of text it was read from: [pos, end). */
type Node = { pos: number; end: number } & (
  | { n: 'number'; text: string }
  | { n: 'string'; value: string; raw: string }
  | { n: 'bool'; value: boolean }
  | { n: 'null' }
  | { n: 'neg'; operand: Node }
  | { n: 'binary'; op: '+' | '-' | '*' | '/'; left: Node; right: Node }
  | { n: 'array'; items: Node[] }
  | { n: 'call'; name: string; args: Node[] }
);

type NodeBody = Node extends infer N ? (N extends Node ? Omit<N, 'end'> : never) : never;

const FUNCTION_NAMES: Record<string, string> = Object.fromEntries(
  ['now', 'now64', 'today', 'yesterday', 'generateUUIDv4', 'toDate', 'toDate32', 'toDateTime', 'toDateTime64', 'toString', 'array', 'map'].map((f) => [f.toLowerCase(), f]),
);

class Parser {
  private i = 0;
  private depth = 0;
  /** End of the last token read. */
  private lastEnd = 0;
  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  /** A node spanning from its `pos` to the end of the last token read. */
  private done(body: NodeBody): Node {
    return { ...body, end: this.lastEnd } as Node;
  }

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }

  private next(): Token {
    const t = this.tokens[this.i] as Token;
    if (t.t !== 'end') {
      this.i++;
      this.lastEnd = t.pos + (t.t === 'string' ? t.raw.length : t.text.length);
    }
    return t;
  }

  private describe(t: Token): string {
    if (t.t === 'end') return `end of ${quote(this.text)}`;
    return at(this.text, t.pos, t.t === 'string' ? t.raw : t.text);
  }

  private isPunct(text: string): boolean {
    const t = this.peek();
    return t.t === 'punct' && t.text === text;
  }

  parseAll(): Node {
    const node = this.expr();
    const t = this.peek();
    if (t.t !== 'end') fail('Invalid DEFAULT expression', this.describe(t), 'an operator (+ - * /) or the end of the expression');
    return node;
  }

  private nest<T>(fn: () => T): T {
    if (++this.depth > MAX_DEPTH) fail('DEFAULT expression nested too deeply', quote(this.text), `at most ${MAX_DEPTH} levels of parentheses, brackets and calls`);
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  private expr(): Node {
    let left = this.term();
    while (this.isPunct('+') || this.isPunct('-')) {
      const op = this.next() as { text: '+' | '-' };
      left = this.done({ n: 'binary', op: op.text, left, right: this.term(), pos: left.pos });
    }
    return left;
  }

  private term(): Node {
    let left = this.unary();
    while (this.isPunct('*') || this.isPunct('/')) {
      const op = this.next() as { text: '*' | '/' };
      left = this.done({ n: 'binary', op: op.text, left, right: this.unary(), pos: left.pos });
    }
    return left;
  }

  private unary(): Node {
    if (this.isPunct('-') || this.isPunct('+')) {
      const op = this.next() as { text: string; pos: number };
      const operand = this.nest(() => this.unary());
      return op.text === '-' ? this.done({ n: 'neg', operand, pos: op.pos }) : operand;
    }
    return this.primary();
  }

  private list(close: ')' | ']'): Node[] {
    const items: Node[] = [];
    if (this.isPunct(close)) {
      this.next();
      return items;
    }
    for (;;) {
      items.push(this.expr());
      const t = this.next();
      if (t.t === 'punct' && t.text === close) return items;
      if (!(t.t === 'punct' && t.text === ',')) fail('Invalid DEFAULT expression', this.describe(t), `"," or "${close}"`);
    }
  }

  private primary(): Node {
    const t = this.next();
    switch (t.t) {
      case 'number':
        return this.done({ n: 'number', text: t.text, pos: t.pos });
      case 'string':
        return this.done({ n: 'string', value: t.value, raw: t.raw, pos: t.pos });
      case 'punct':
        if (t.text === '(') {
          const inner = this.nest(() => this.expr());
          const close = this.next();
          if (!(close.t === 'punct' && close.text === ')')) fail('Invalid DEFAULT expression', this.describe(close), '")"');
          return { ...inner, pos: t.pos, end: this.lastEnd };
        }
        if (t.text === '[') return this.done({ n: 'array', items: this.nest(() => this.list(']')), pos: t.pos });
        break;
      case 'ident': {
        const lower = t.text.toLowerCase();
        if (lower === 'true' || lower === 'false') return this.done({ n: 'bool', value: lower === 'true', pos: t.pos });
        if (lower === 'null') return this.done({ n: 'null', pos: t.pos });
        const name = FUNCTION_NAMES[lower];
        if (name === undefined) {
          const suggestion = closest(t.text, Object.values(FUNCTION_NAMES));
          fail('Unknown function in DEFAULT', at(this.text, t.pos, t.text), `one of ${DEFAULT_FUNCTIONS.join(', ')}`, suggestion ? `did you mean ${quote(suggestion)}?` : undefined);
        }
        if (!this.isPunct('(')) fail('Invalid DEFAULT expression', this.describe(this.peek()), `"(" after ${name}`);
        this.next();
        return this.done({ n: 'call', name, args: this.nest(() => this.list(')')), pos: t.pos });
      }
      case 'end':
        break;
    }
    fail('Invalid DEFAULT expression', this.describe(t), EXPECTED_EXPRESSION);
  }
}

// ---------------------------------------------------------------------------
// Types of values

/** What a value is, before it meets the column type. */
type Sort = 'number' | 'string' | 'bool' | 'null' | 'date' | 'datetime' | 'uuid' | 'array' | 'map';

interface Typed {
  value: DefaultValue;
  sort: Sort;
  /** Numeric constants: the value, exact for integers. */
  num?: bigint | number;
  /** Array and map literals: their parts, typed later against the element types. */
  nodes?: Node[];
}

const SORT_NAMES: Record<Sort, string> = {
  number: 'a number',
  string: 'a string',
  bool: 'a boolean',
  null: 'NULL',
  date: 'a date',
  datetime: 'a date-time',
  uuid: 'a UUID',
  array: 'an array',
  map: 'a map',
};

const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_TEXT = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?$/;
const UUID_TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function validDate(y: string, m: string, d: string): boolean {
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function isDateText(s: string): boolean {
  const m = DATE_TEXT.exec(s);
  return m !== null && validDate(m[1] as string, m[2] as string, m[3] as string);
}

function isDateTimeText(s: string): boolean {
  const m = DATETIME_TEXT.exec(s);
  if (!m || !validDate(m[1] as string, m[2] as string, m[3] as string)) return false;
  return Number(m[4] ?? 0) <= 23 && Number(m[5] ?? 0) <= 59 && Number(m[6] ?? 0) <= 59;
}

/** Canonical text of a numeric constant. */
function numberText(v: bigint | number): string {
  if (typeof v === 'bigint') return v.toString();
  if (Object.is(v, -0)) return '0';
  return String(v).replace('e+', 'e');
}

/** The canonical text of a literal as written (`007` → `7`, `1.50` stays, `.5` → `0.5`). */
function literalText(text: string): string {
  const m = /^([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(text) as RegExpExecArray;
  const int = (m[1] ?? '').replace(/^0+(?=\d)/, '') || '0';
  const frac = m[2] ?? '';
  const exp = m[3] !== undefined ? `e${m[3].replace(/^\+/, '')}` : '';
  return `${int}${frac !== '' ? `.${frac}` : ''}${exp}`;
}

function literalValue(text: string): bigint | number {
  return /^[0-9]+$/.test(text) ? BigInt(text) : Number(text);
}

class Checker {
  constructor(private readonly text: string) {}

  /** The text of a node, quoted, and where it is when it is not the whole expression. */
  private where(node: Node): string {
    const span = this.text.slice(node.pos, node.end);
    return span === this.text ? quote(span) : `${quote(span)} in ${quote(this.text)}`;
  }

  /** Types a node on its own (no target type yet). */
  typeOf(node: Node): Typed {
    switch (node.n) {
      case 'number': {
        const num = literalValue(node.text);
        if (typeof num === 'number' && !Number.isFinite(num)) fail('Invalid number in DEFAULT', this.where(node), 'a finite number');
        return { value: { kind: 'number', text: literalText(node.text) }, sort: 'number', num };
      }
      case 'string':
        return { value: { kind: 'string', value: node.value }, sort: 'string' };
      case 'bool':
        return { value: { kind: 'bool', value: node.value }, sort: 'bool' };
      case 'null':
        return { value: { kind: 'null' }, sort: 'null' };
      case 'neg': {
        const inner = this.typeOf(node.operand);
        if (inner.sort !== 'number' || inner.num === undefined) {
          fail('Invalid DEFAULT arithmetic', `${this.where(node)} (minus ${SORT_NAMES[inner.sort]})`, 'a number after a minus sign');
        }
        return this.constant(typeof inner.num === 'bigint' ? -inner.num : -inner.num, node);
      }
      case 'binary':
        return this.binary(node);
      case 'array':
        return { value: { kind: 'array', items: [] }, sort: 'array', nodes: node.items };
      case 'call':
        return this.call(node);
    }
  }

  private constant(v: bigint | number, node: Node): Typed {
    if (typeof v === 'number' && !Number.isFinite(v)) fail('Invalid DEFAULT arithmetic', this.where(node), 'a finite result (no division by zero, no overflow)');
    return { value: { kind: 'number', text: numberText(v) }, sort: 'number', num: v };
  }

  private binary(node: Extract<Node, { n: 'binary' }>): Typed {
    const left = this.typeOf(node.left);
    const right = this.typeOf(node.right);
    if (left.sort === 'number' && right.sort === 'number' && left.num !== undefined && right.num !== undefined) {
      const a = left.num;
      const b = right.num;
      if (node.op === '/') {
        if (Number(b) === 0) fail('Invalid DEFAULT arithmetic', `${this.where(node)} (a division by zero)`, 'a divisor other than 0');
        return this.constant(Number(a) / Number(b), node);
      }
      if (typeof a === 'bigint' && typeof b === 'bigint') {
        return this.constant(node.op === '+' ? a + b : node.op === '-' ? a - b : a * b, node);
      }
      const x = Number(a);
      const y = Number(b);
      return this.constant(node.op === '+' ? x + y : node.op === '-' ? x - y : x * y, node);
    }
    // A date plus or minus days, a date-time plus or minus seconds (and n + date).
    const [base, amount] = left.sort === 'number' && node.op === '+' ? [right, left] : [left, right];
    if ((node.op === '+' || node.op === '-') && amount.sort === 'number' && (base.sort === 'date' || base.sort === 'datetime')) {
      if (base.sort === 'date' && typeof amount.num !== 'bigint') {
        fail('Invalid DEFAULT arithmetic', `${this.where(node)} (${numberText(amount.num ?? 0)} days)`, 'a whole number of days added to or subtracted from a date');
      }
      return {
        value: { kind: 'shift', unit: base.sort === 'date' ? 'days' : 'seconds', base: base.value, amount: amount.value, sign: node.op === '+' ? 1 : -1 },
        sort: base.sort,
      };
    }
    return fail(
      'Invalid DEFAULT arithmetic',
      `${this.where(node)} (${SORT_NAMES[left.sort]} ${node.op} ${SORT_NAMES[right.sort]})`,
      'numbers, or a date or date-time plus or minus a number (days for a date, seconds for a date-time)',
    );
  }

  private args(node: Extract<Node, { n: 'call' }>, min: number, max: number): Node[] {
    if (node.args.length < min || node.args.length > max) {
      const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      fail('Invalid DEFAULT function call', `${this.where(node)} (${node.args.length} argument(s))`, `${want} argument(s) for ${node.name}`);
    }
    return node.args;
  }

  private precision(node: Node | undefined): void {
    if (node === undefined) return;
    const t = this.typeOf(node);
    if (typeof t.num !== 'bigint' || t.num < 0n || t.num > 9n) fail('Invalid DEFAULT precision', this.where(node), 'a whole number from 0 to 9');
  }

  private timezone(node: Node | undefined): string | undefined {
    if (node === undefined) return undefined;
    if (node.n !== 'string' || !isTimeZone(node.value)) fail('Invalid DEFAULT time zone', this.where(node), "a quoted IANA time zone such as 'UTC' or 'Europe/Madrid'");
    return node.value;
  }

  /** The argument of toDate/toDateTime/toString: a value of one of `sorts`, strings checked by `text`. */
  private convertible(node: Node, sorts: Sort[], text?: { ok: (s: string) => boolean; expected: string }): Typed {
    const t = this.typeOf(node);
    if (!sorts.includes(t.sort)) fail('Invalid DEFAULT function argument', `${this.where(node)} (${SORT_NAMES[t.sort]})`, sorts.map((s) => SORT_NAMES[s]).join(' or '));
    if (t.sort === 'string' && text && t.value.kind === 'string' && !text.ok(t.value.value)) {
      fail('Invalid DEFAULT function argument', this.where(node), text.expected);
    }
    return t;
  }

  private call(node: Extract<Node, { n: 'call' }>): Typed {
    switch (node.name) {
      case 'now':
        this.args(node, 0, 0);
        return { value: { kind: 'now' }, sort: 'datetime' };
      case 'now64': {
        const [p, tz] = this.args(node, 0, 2);
        this.precision(p);
        this.timezone(tz);
        return { value: { kind: 'now' }, sort: 'datetime' };
      }
      case 'today':
        this.args(node, 0, 0);
        return { value: { kind: 'today' }, sort: 'date' };
      case 'yesterday':
        this.args(node, 0, 0);
        return { value: { kind: 'yesterday' }, sort: 'date' };
      case 'generateUUIDv4':
        this.args(node, 0, 0);
        return { value: { kind: 'uuid' }, sort: 'uuid' };
      case 'toDate':
      case 'toDate32': {
        const [x] = this.args(node, 1, 1) as [Node];
        const t = this.convertible(x, ['string', 'date', 'datetime'], { ok: (s) => isDateText(s) || isDateTimeText(s), expected: "a date 'YYYY-MM-DD'" });
        return { value: { kind: 'cast', to: 'date', value: t.value }, sort: 'date' };
      }
      case 'toDateTime':
      case 'toDateTime64': {
        const args = node.name === 'toDateTime' ? this.args(node, 1, 2) : this.args(node, 1, 3);
        const x = args[0] as Node;
        const tzNode = node.name === 'toDateTime' ? args[1] : args[2];
        if (node.name === 'toDateTime64') this.precision(args[1]);
        const tz = this.timezone(tzNode);
        const t = this.convertible(x, ['string', 'date', 'datetime', 'number'], { ok: isDateTimeText, expected: "a date-time 'YYYY-MM-DD hh:mm:ss'" });
        const value: DefaultValue = t.sort === 'number' ? { kind: 'epoch', seconds: t.value } : { kind: 'cast', to: 'datetime', value: t.value };
        if (tz === undefined || t.sort === 'number' || t.sort === 'datetime') return { value, sort: 'datetime' };
        return { value: { kind: 'inZone', timezone: tz, value }, sort: 'datetime' };
      }
      case 'toString': {
        const [x] = this.args(node, 1, 1) as [Node];
        const t = this.convertible(x, ['string', 'number', 'bool', 'date', 'datetime', 'uuid']);
        return { value: { kind: 'cast', to: 'string', value: t.value }, sort: 'string' };
      }
      case 'array':
        return { value: { kind: 'array', items: [] }, sort: 'array', nodes: node.args };
      case 'map':
        if (node.args.length % 2 !== 0) fail('Invalid DEFAULT function call', `${this.where(node)} (${node.args.length} argument(s))`, 'keys and values in pairs: map(k1, v1, k2, v2, ...)');
        return { value: { kind: 'map', entries: [] }, sort: 'map', nodes: node.args };
    }
    return fail('Unknown function in DEFAULT', this.where(node), `one of ${DEFAULT_FUNCTIONS.join(', ')}`);
  }

  /** Checks `node` as a value of `type` and returns it. */
  value(node: Node, type: ColumnType): DefaultValue {
    const typeText = formatColumnType(type);
    if (type.kind === 'LowCardinality') return this.value(node, type.inner);
    const t = this.typeOf(node);
    if (t.sort === 'null') {
      if (type.kind === 'Nullable') return t.value;
      fail('Invalid DEFAULT', `${this.where(node)} (NULL)`, `a value of type ${typeText}`, 'a NULL default needs a Nullable(T) column');
    }
    if (type.kind === 'Nullable') return this.value(node, type.inner);
    const wrong = (expected: string, hint?: string): never =>
      fail('Invalid DEFAULT', `${this.where(node)} (${SORT_NAMES[t.sort]})`, `${expected} (type ${typeText})`, hint);
    switch (type.kind) {
      case 'String':
        if (t.sort === 'array' || t.sort === 'map') wrong('text or a scalar value');
        return t.value;
      case 'FixedString':
        if (t.sort === 'array' || t.sort === 'map') wrong('text');
        if (t.value.kind === 'string' && Buffer.byteLength(t.value.value, 'utf8') > type.length) {
          fail('Invalid DEFAULT', `${this.where(node)} (${Buffer.byteLength(t.value.value, 'utf8')} bytes)`, `at most ${type.length} bytes (type ${typeText})`);
        }
        return t.value;
      case 'Int': {
        if (t.sort !== 'number' || t.num === undefined) return wrong('a whole number', t.sort === 'string' ? 'write the number without quotes' : undefined);
        const n = t.num;
        if (typeof n === 'number' && !Number.isInteger(n)) return wrong('a whole number');
        const big = typeof n === 'bigint' ? n : BigInt(n);
        const min = type.signed ? -(2n ** BigInt(type.bits - 1)) : 0n;
        const max = type.signed ? 2n ** BigInt(type.bits - 1) - 1n : 2n ** BigInt(type.bits) - 1n;
        if (big < min || big > max) fail('Invalid DEFAULT', `${this.where(node)} (${big})`, `a whole number from ${min} to ${max} (type ${typeText})`);
        return { kind: 'number', text: big.toString() };
      }
      case 'Float':
        if (t.sort !== 'number') return wrong('a number', t.sort === 'string' ? 'write the number without quotes' : undefined);
        return t.value;
      case 'Decimal': {
        if (t.sort !== 'number' || t.num === undefined) return wrong('a number', t.sort === 'string' ? 'write the number without quotes' : undefined);
        const whole = Math.abs(Number(t.num)) >= 1 ? Math.floor(Math.log10(Math.abs(Number(t.num)))) + 1 : 0;
        if (whole > type.precision - type.scale) {
          fail('Invalid DEFAULT', `${this.where(node)} (${numberText(t.num)})`, `at most ${type.precision - type.scale} digits before the decimal point (type ${typeText})`);
        }
        return t.value;
      }
      case 'Bool':
        if (t.sort === 'bool') return t.value;
        if (t.sort === 'number' && (t.num === 0n || t.num === 1n)) return { kind: 'bool', value: t.num === 1n };
        return wrong('true, false, 0 or 1');
      case 'UUID':
        if (t.sort === 'uuid') return t.value;
        if (t.value.kind === 'string' && UUID_TEXT.test(t.value.value)) return t.value;
        return wrong("generateUUIDv4() or a UUID such as '61f0c404-5cb3-11e7-907b-a6006ad3dba0'");
      case 'Date':
      case 'Date32':
        if (t.sort === 'date' || t.sort === 'datetime') return t.value;
        if (t.value.kind === 'string' && isDateText(t.value.value)) return t.value;
        return wrong("today(), yesterday(), toDate(...) or a date 'YYYY-MM-DD'");
      case 'DateTime':
      case 'DateTime64':
        if (t.sort === 'date' || t.sort === 'datetime') return t.value;
        if (t.sort === 'number') return { kind: 'epoch', seconds: t.value };
        if (t.value.kind === 'string' && isDateTimeText(t.value.value)) {
          // Text is wall time: UTC, or the column's zone (as the loader reads values).
          return type.timezone === undefined ? t.value : { kind: 'inZone', timezone: type.timezone, value: t.value };
        }
        return wrong("now(), toDateTime(...), seconds since 1970 or a date-time 'YYYY-MM-DD hh:mm:ss'");
      case 'Array':
        if (t.sort !== 'array' || t.nodes === undefined) return wrong('an array such as [] or [1, 2]');
        return { kind: 'array', items: t.nodes.map((item) => this.value(item, type.element)) };
      case 'Map': {
        if (t.sort !== 'map' || t.nodes === undefined) return wrong("a map such as map() or map('k', 1)");
        const nodes = t.nodes;
        const entries: [DefaultValue, DefaultValue][] = [];
        for (let k = 0; k < nodes.length; k += 2) entries.push([this.value(nodes[k] as Node, type.key), this.value(nodes[k + 1] as Node, type.value)]);
        return { kind: 'map', entries };
      }
    }
  }
}

/**
 * Parses a DEFAULT expression and checks it against the column's type.
 * Never throws: a problem comes back as a {@link Problem} (the parsers add
 * file and line).
 */
export function checkDefaultExpr(text: string, type: ColumnType): Checked<DefaultValue> {
  try {
    const expr = text.trim();
    if (expr === '') return { ok: false, problem: { what: 'Missing DEFAULT expression', found: 'nothing', expected: 'an expression after DEFAULT, e.g. DEFAULT 0 or DEFAULT now()' } };
    if (expr.length > MAX_LENGTH) return { ok: false, problem: { what: 'DEFAULT expression too long', found: `${expr.length} characters`, expected: `at most ${MAX_LENGTH}` } };
    const node = new Parser(expr, tokenize(expr)).parseAll();
    return ok(new Checker(expr).value(node, type));
  } catch (e) {
    if (e instanceof DefaultProblem) return { ok: false, problem: e.problem };
    throw e;
  }
}
