/**
 * The syntax tree of a DEFAULT expression (untyped), read by recursive
 * descent from the grammar in ./index.ts.
 */
import { closest, quote } from '../errors';
import type { Token } from './tokenizer';
import { DEFAULT_FUNCTIONS, EXPECTED_EXPRESSION, MAX_DEPTH, at, fail } from './values';

/** Every node knows the span of text it was read from: [pos, end). */
export type Node = { pos: number; end: number } & (
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
  [
    'now',
    'now64',
    'today',
    'yesterday',
    'generateUUIDv4',
    'toDate',
    'toDate32',
    'toDateTime',
    'toDateTime64',
    'toString',
    'array',
    'map',
  ].map((f) => [f.toLowerCase(), f]),
);

export class Parser {
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
    if (t.t !== 'end')
      fail('Invalid DEFAULT expression', this.describe(t), 'an operator (+ - * /) or the end of the expression');
    return node;
  }

  private nest<T>(fn: () => T): T {
    if (++this.depth > MAX_DEPTH)
      fail(
        'DEFAULT expression nested too deeply',
        quote(this.text),
        `at most ${MAX_DEPTH} levels of parentheses, brackets and calls`,
      );
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
      if (!(t.t === 'punct' && t.text === ','))
        fail('Invalid DEFAULT expression', this.describe(t), `"," or "${close}"`);
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
          if (!(close.t === 'punct' && close.text === ')'))
            fail('Invalid DEFAULT expression', this.describe(close), '")"');
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
          fail(
            'Unknown function in DEFAULT',
            at(this.text, t.pos, t.text),
            `one of ${DEFAULT_FUNCTIONS.join(', ')}`,
            suggestion ? `did you mean ${quote(suggestion)}?` : undefined,
          );
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
