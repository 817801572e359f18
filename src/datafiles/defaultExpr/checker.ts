/**
 * Types the syntax tree of a DEFAULT and checks it against the column's
 * type: constants are folded, dates shifted by days, date-times by seconds,
 * and the result is the {@link DefaultValue} a destination renders.
 */
import type { ColumnType } from '../types';
import { quote } from '../errors';
import { formatColumnType, isTimeZone } from '../columnType';
import { UUID_TEXT, isDateText, isDateTimeText, literalText, literalValue, numberText } from './literals';
import type { Node } from './parser';
import { DEFAULT_FUNCTIONS, type DefaultValue, fail } from './values';

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

/** Reports a value that is not of the column's type: what was expected, and a hint. */
type Wrong = (expected: string, hint?: string) => never;

export class Checker {
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
        if (typeof num === 'number' && !Number.isFinite(num))
          fail('Invalid number in DEFAULT', this.where(node), 'a finite number');
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
          fail(
            'Invalid DEFAULT arithmetic',
            `${this.where(node)} (minus ${SORT_NAMES[inner.sort]})`,
            'a number after a minus sign',
          );
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
    if (typeof v === 'number' && !Number.isFinite(v))
      fail('Invalid DEFAULT arithmetic', this.where(node), 'a finite result (no division by zero, no overflow)');
    return { value: { kind: 'number', text: numberText(v) }, sort: 'number', num: v };
  }

  private binary(node: Extract<Node, { n: 'binary' }>): Typed {
    const left = this.typeOf(node.left);
    const right = this.typeOf(node.right);
    if (left.sort === 'number' && right.sort === 'number' && left.num !== undefined && right.num !== undefined) {
      const a = left.num;
      const b = right.num;
      if (node.op === '/') {
        if (Number(b) === 0)
          fail('Invalid DEFAULT arithmetic', `${this.where(node)} (a division by zero)`, 'a divisor other than 0');
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
    if (
      (node.op === '+' || node.op === '-') &&
      amount.sort === 'number' &&
      (base.sort === 'date' || base.sort === 'datetime')
    ) {
      if (base.sort === 'date' && typeof amount.num !== 'bigint') {
        fail(
          'Invalid DEFAULT arithmetic',
          `${this.where(node)} (${numberText(amount.num ?? 0)} days)`,
          'a whole number of days added to or subtracted from a date',
        );
      }
      return {
        value: {
          kind: 'shift',
          unit: base.sort === 'date' ? 'days' : 'seconds',
          base: base.value,
          amount: amount.value,
          sign: node.op === '+' ? 1 : -1,
        },
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
      fail(
        'Invalid DEFAULT function call',
        `${this.where(node)} (${node.args.length} argument(s))`,
        `${want} argument(s) for ${node.name}`,
      );
    }
    return node.args;
  }

  private precision(node: Node | undefined): void {
    if (node === undefined) return;
    const t = this.typeOf(node);
    if (typeof t.num !== 'bigint' || t.num < 0n || t.num > 9n)
      fail('Invalid DEFAULT precision', this.where(node), 'a whole number from 0 to 9');
  }

  private timezone(node: Node | undefined): string | undefined {
    if (node === undefined) return undefined;
    if (node.n !== 'string' || !isTimeZone(node.value))
      fail('Invalid DEFAULT time zone', this.where(node), "a quoted IANA time zone such as 'UTC' or 'Europe/Madrid'");
    return node.value;
  }

  /** The argument of toDate/toDateTime/toString: a value of one of `sorts`, strings checked by `text`. */
  private convertible(node: Node, sorts: Sort[], text?: { ok: (s: string) => boolean; expected: string }): Typed {
    const t = this.typeOf(node);
    if (!sorts.includes(t.sort))
      fail(
        'Invalid DEFAULT function argument',
        `${this.where(node)} (${SORT_NAMES[t.sort]})`,
        sorts.map((s) => SORT_NAMES[s]).join(' or '),
      );
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
        const t = this.convertible(x, ['string', 'date', 'datetime'], {
          ok: (s) => isDateText(s) || isDateTimeText(s),
          expected: "a date 'YYYY-MM-DD'",
        });
        return { value: { kind: 'cast', to: 'date', value: t.value }, sort: 'date' };
      }
      case 'toDateTime':
      case 'toDateTime64': {
        const args = node.name === 'toDateTime' ? this.args(node, 1, 2) : this.args(node, 1, 3);
        const x = args[0] as Node;
        const tzNode = node.name === 'toDateTime' ? args[1] : args[2];
        if (node.name === 'toDateTime64') this.precision(args[1]);
        const tz = this.timezone(tzNode);
        const t = this.convertible(x, ['string', 'date', 'datetime', 'number'], {
          ok: isDateTimeText,
          expected: "a date-time 'YYYY-MM-DD hh:mm:ss'",
        });
        const value: DefaultValue =
          t.sort === 'number' ? { kind: 'epoch', seconds: t.value } : { kind: 'cast', to: 'datetime', value: t.value };
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
        if (node.args.length % 2 !== 0)
          fail(
            'Invalid DEFAULT function call',
            `${this.where(node)} (${node.args.length} argument(s))`,
            'keys and values in pairs: map(k1, v1, k2, v2, ...)',
          );
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
      fail(
        'Invalid DEFAULT',
        `${this.where(node)} (NULL)`,
        `a value of type ${typeText}`,
        'a NULL default needs a Nullable(T) column',
      );
    }
    if (type.kind === 'Nullable') return this.value(node, type.inner);
    const wrong: Wrong = (expected, hint) =>
      fail('Invalid DEFAULT', `${this.where(node)} (${SORT_NAMES[t.sort]})`, `${expected} (type ${typeText})`, hint);
    switch (type.kind) {
      case 'String':
      case 'FixedString':
        return this.textValue(node, t, type, wrong);
      case 'Int':
      case 'Float':
      case 'Decimal':
        return this.numberValue(node, t, type, wrong);
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
      case 'DateTime':
      case 'DateTime64':
        return this.timeValue(t, type, wrong);
      case 'Array':
        if (t.sort !== 'array' || t.nodes === undefined) return wrong('an array such as [] or [1, 2]');
        return { kind: 'array', items: t.nodes.map((item) => this.value(item, type.element)) };
      case 'Map':
        return this.mapValue(t, type, wrong);
    }
  }

  /** String takes text or any scalar; FixedString text of at most its length in bytes. */
  private textValue(
    node: Node,
    t: Typed,
    type: Extract<ColumnType, { kind: 'String' | 'FixedString' }>,
    wrong: Wrong,
  ): DefaultValue {
    if (type.kind === 'String') {
      if (t.sort === 'array' || t.sort === 'map') wrong('text or a scalar value');
      return t.value;
    }
    if (t.sort === 'array' || t.sort === 'map') wrong('text');
    if (t.value.kind === 'string' && Buffer.byteLength(t.value.value, 'utf8') > type.length) {
      fail(
        'Invalid DEFAULT',
        `${this.where(node)} (${Buffer.byteLength(t.value.value, 'utf8')} bytes)`,
        `at most ${type.length} bytes (type ${formatColumnType(type)})`,
      );
    }
    return t.value;
  }

  /** A number that fits: a whole number in the integer's range, digits before the point a Decimal holds. */
  private numberValue(
    node: Node,
    t: Typed,
    type: Extract<ColumnType, { kind: 'Int' | 'Float' | 'Decimal' }>,
    wrong: Wrong,
  ): DefaultValue {
    const unquote = t.sort === 'string' ? 'write the number without quotes' : undefined;
    const typeText = formatColumnType(type);
    switch (type.kind) {
      case 'Int': {
        if (t.sort !== 'number' || t.num === undefined) return wrong('a whole number', unquote);
        const n = t.num;
        if (typeof n === 'number' && !Number.isInteger(n)) return wrong('a whole number');
        const big = typeof n === 'bigint' ? n : BigInt(n);
        const min = type.signed ? -(2n ** BigInt(type.bits - 1)) : 0n;
        const max = type.signed ? 2n ** BigInt(type.bits - 1) - 1n : 2n ** BigInt(type.bits) - 1n;
        if (big < min || big > max)
          fail(
            'Invalid DEFAULT',
            `${this.where(node)} (${big})`,
            `a whole number from ${min} to ${max} (type ${typeText})`,
          );
        return { kind: 'number', text: big.toString() };
      }
      case 'Float':
        if (t.sort !== 'number') return wrong('a number', unquote);
        return t.value;
      case 'Decimal': {
        if (t.sort !== 'number' || t.num === undefined) return wrong('a number', unquote);
        const whole = Math.abs(Number(t.num)) >= 1 ? Math.floor(Math.log10(Math.abs(Number(t.num)))) + 1 : 0;
        if (whole > type.precision - type.scale) {
          fail(
            'Invalid DEFAULT',
            `${this.where(node)} (${numberText(t.num)})`,
            `at most ${type.precision - type.scale} digits before the decimal point (type ${typeText})`,
          );
        }
        return t.value;
      }
    }
  }

  /** Dates and date-times: a date or date-time value, ISO text, or (date-times) seconds since 1970. */
  private timeValue(
    t: Typed,
    type: Extract<ColumnType, { kind: 'Date' | 'Date32' | 'DateTime' | 'DateTime64' }>,
    wrong: Wrong,
  ): DefaultValue {
    if (t.sort === 'date' || t.sort === 'datetime') return t.value;
    if (type.kind === 'Date' || type.kind === 'Date32') {
      if (t.value.kind === 'string' && isDateText(t.value.value)) return t.value;
      return wrong("today(), yesterday(), toDate(...) or a date 'YYYY-MM-DD'");
    }
    if (t.sort === 'number') return { kind: 'epoch', seconds: t.value };
    if (t.value.kind === 'string' && isDateTimeText(t.value.value)) {
      // Text is wall time: UTC, or the column's zone (as the loader reads values).
      return type.timezone === undefined ? t.value : { kind: 'inZone', timezone: type.timezone, value: t.value };
    }
    return wrong("now(), toDateTime(...), seconds since 1970 or a date-time 'YYYY-MM-DD hh:mm:ss'");
  }

  /** A map literal, its keys and values checked against the map's types. */
  private mapValue(t: Typed, type: Extract<ColumnType, { kind: 'Map' }>, wrong: Wrong): DefaultValue {
    if (t.sort !== 'map' || t.nodes === undefined) return wrong("a map such as map() or map('k', 1)");
    const nodes = t.nodes;
    const entries: [DefaultValue, DefaultValue][] = [];
    for (let k = 0; k < nodes.length; k += 2)
      entries.push([this.value(nodes[k] as Node, type.key), this.value(nodes[k + 1] as Node, type.value)]);
    return { kind: 'map', entries };
  }
}
