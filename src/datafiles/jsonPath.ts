/**
 * The JSONPath subset of column definitions (SPEC R1.3): `$`, `$.a.b`,
 * `$.a[0]`, `$['key with spaces']`, `$.a[:]`, and combinations. Pure.
 */
import { type Checked, ok, problem, quote } from './errors';

/** One step of a parsed JSONPath. */
export type JsonPathSegment = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'all' };

const EXPECTED_SEGMENT = `".key", "[0]", "['key']" or "[:]"`;
const KEY_CHAR = /[\p{L}\p{N}_$@-]/u;

/**
 * Parses a JSONPath into its segments, or explains the first problem (with the
 * 1-based character where it is).
 *
 * Grammar: `$` then any of `.key` (letters, digits, `_`, `-`, `$`, `@`),
 * `['key']` / `["key"]` (any text, `\` escapes), `[N]` (N ≥ 0) and `[:]`
 * (every element of an array).
 */
export function checkJsonPath(path: string): Checked<JsonPathSegment[]> {
  const bad: Bad = (found, at, expected) =>
    problem(
      `Invalid JSONPath ${quote(path)}`,
      at > path.length ? `end of path` : `${found} at character ${at}`,
      expected,
    );
  if (!path.startsWith('$'))
    return bad(path === '' ? 'nothing' : quote(path[0] as string), 1, '"$" at the start (the whole document)');
  const segments: JsonPathSegment[] = [];
  let i = 1;
  while (i < path.length) {
    const c = path[i] as string;
    const step =
      c === '.' ? dotKey(path, i, bad) : c === '[' ? bracket(path, i, bad) : bad(quote(c), i + 1, EXPECTED_SEGMENT);
    if (!('segment' in step)) return step;
    segments.push(step.segment);
    i = step.next;
  }
  return ok(segments);
}

type Bad = (found: string, at: number, expected: string) => Checked<JsonPathSegment[]>;
/** One segment read at a position, and where the next one starts; or why the path is refused. */
type Step = { segment: JsonPathSegment; next: number } | Checked<JsonPathSegment[]>;

/** `.key` at `i`. */
function dotKey(path: string, i: number, bad: Bad): Step {
  let j = i + 1;
  while (j < path.length && KEY_CHAR.test(path[j] as string)) j++;
  if (j === i + 1) {
    return bad(
      j < path.length ? quote(path[j] as string) : '',
      j + 1,
      `a key name after "." (or "['key']" for other characters)`,
    );
  }
  return { segment: { kind: 'key', key: path.slice(i + 1, j) }, next: j };
}

/** `['key']`, `["key"]`, `[:]` or `[N]` at `i`. */
function bracket(path: string, i: number, bad: Bad): Step {
  const inner = path[i + 1];
  if (inner === "'" || inner === '"') return quotedKey(path, i, inner, bad);
  if (path.startsWith('[:]', i)) return { segment: { kind: 'all' }, next: i + 3 };
  const m = /^\[([0-9]+)\]/.exec(path.slice(i));
  if (!m) {
    const close = path.indexOf(']', i);
    const found = close < 0 ? quote(path.slice(i)) : quote(path.slice(i, close + 1));
    return bad(found, i + 1, `"[N]" with N ≥ 0, "['key']" or "[:]"`);
  }
  return { segment: { kind: 'index', index: Number(m[1]) }, next: i + m[0].length };
}

/** `['key']` or `["key"]` at `i` (`\` escapes the next character). */
function quotedKey(path: string, i: number, quoteChar: string, bad: Bad): Step {
  let j = i + 2;
  let key = '';
  for (;;) {
    if (j >= path.length) return bad('', path.length + 1, `a closing ${quoteChar}`);
    const d = path[j] as string;
    // NUL cuts the sink's SQL short (DuckDB would run the text before it); no JSON key has control characters on purpose.
    const control = /[\u0000-\u001f\u007f]/.exec(path.slice(j, j + 2));
    if (control && (control.index === 0 || d === '\\'))
      return bad(quote(control[0]), j + 1 + control.index, 'a key without control characters (tab, NUL, ...)');
    if (d === '\\' && j + 1 < path.length) {
      key += path[j + 1];
      j += 2;
    } else if (d === quoteChar) {
      break;
    } else {
      key += d;
      j++;
    }
  }
  if (path[j + 1] !== ']')
    return bad(j + 1 < path.length ? quote(path[j + 1] as string) : '', j + 2, '"]" after the quoted key');
  return { segment: { kind: 'key', key }, next: j + 2 };
}
