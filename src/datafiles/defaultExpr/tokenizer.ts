/** The tokens of a DEFAULT expression: numbers, 'strings', names and punctuation. */
import { quote } from '../errors';
import { EXPECTED_EXPRESSION, at, fail } from './values';

export type Token =
  | { t: 'number'; text: string; pos: number }
  | { t: 'string'; value: string; raw: string; pos: number }
  | { t: 'ident'; text: string; pos: number }
  | { t: 'punct'; text: '(' | ')' | '[' | ']' | ',' | '+' | '-' | '*' | '/'; pos: number }
  | { t: 'end'; pos: number };

/** Splits `text` into tokens, ending with an `end` token. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const token = tokenAt(text, i, c);
    tokens.push(token);
    i = token.t === 'string' ? i + token.raw.length : i + (token as { text: string }).text.length;
  }
  tokens.push({ t: 'end', pos: text.length });
  return tokens;
}

/** The token that starts with `c`, at `i`. */
function tokenAt(text: string, i: number, c: string): Token {
  if ('()[],+-*/'.includes(c))
    return { t: 'punct', text: c as '(' | ')' | '[' | ']' | ',' | '+' | '-' | '*' | '/', pos: i };
  if (/[0-9.]/.test(c)) return numberAt(text, i, c);
  if (/[A-Za-z_]/.test(c)) {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i)) as RegExpExecArray;
    return { t: 'ident', text: m[0], pos: i };
  }
  if (c === "'") return stringAt(text, i);
  return fail('Invalid character in DEFAULT', at(text, i, c), EXPECTED_EXPRESSION);
}

/** A decimal number: digits, an optional fraction and exponent, not followed by a letter. */
function numberAt(text: string, i: number, c: string): Token {
  const m = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i));
  if (!m) fail('Invalid number in DEFAULT', at(text, i, c), 'digits, an optional fraction and exponent (1, 2.5, 1e3)');
  if (/^[A-Za-z_]/.test(text.slice(i + m[0].length))) {
    fail(
      'Invalid number in DEFAULT',
      at(text, i, text.slice(i).split(/[\s,()]/)[0] ?? c),
      'a decimal number such as 1, 2.5 or 1e3',
    );
  }
  return { t: 'number', text: m[0], pos: i };
}

/** A ClickHouse string literal opening at `i`: backslash escapes, and '' for a quote. */
function stringAt(text: string, i: number): Token {
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
  if (value.includes('\0'))
    fail('Invalid string in DEFAULT', at(text, i, text.slice(i, j + 1)), 'text without NUL characters');
  return { t: 'string', value, raw: text.slice(i, j + 1), pos: i };
}
