/** The tokens of a column type: names, numbers, 'quoted strings' and `(`, `)`, `,`. */
import { quote } from '../errors';
import { fail } from './names';

export type Token =
  | { t: 'ident'; text: string; pos: number }
  | { t: 'number'; text: string; pos: number }
  | { t: 'string'; text: string; raw: string; pos: number }
  | { t: 'punct'; text: '(' | ')' | ','; pos: number }
  | { t: 'end'; text: ''; pos: number };

/** Splits `text` into tokens, ending with an `end` token. */
export function tokenize(text: string): Token[] {
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
      fail(
        'Invalid character in column type',
        `${quote(c)} at character ${i + 1} of ${quote(text)}`,
        'a type name, "(", ")", ",", a number or a quoted string',
      );
    }
  }
  tokens.push({ t: 'end', text: '', pos: text.length });
  return tokens;
}
