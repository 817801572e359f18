/** Scanning of datafile text that skips quoted parts: balanced parentheses, top-level commas. */

/** Index just past the `)` matching the `(` at `open`, or -1; quotes are skipped. */
export function balancedEnd(text: string, open: number): number {
  let depth = 0;
  for (let k = open; k < text.length; k++) {
    const c = text[k] as string;
    if (c === "'" || c === '"' || c === '`') {
      k = skipQuoted(text, k);
      if (k < 0) return -1;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      if (--depth === 0) return k + 1;
    }
  }
  return -1;
}

/** Index of the closing quote of the string opening at `k`, or -1. */
export function skipQuoted(text: string, k: number): number {
  const q = text[k];
  for (let m = k + 1; m < text.length; m++) {
    if (text[m] === '\\') m++;
    else if (text[m] === q) return m;
  }
  return -1;
}

/** `text` split at its top-level commas (not inside parentheses or quotes). */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text[k] as string;
    // A backquoted name may hold commas and parentheses (`a,b,c`).
    if (c === "'" || c === '"' || c === '`') {
      const close = skipQuoted(text, k);
      if (close < 0) break;
      k = close;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, k));
      start = k + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
