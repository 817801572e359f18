/**
 * The one error type of the datafile parsers (SPEC R1.4): every parse or
 * validation problem names the file, the 1-based line, what was found and what
 * was expected, so a user can fix the file without reading our code.
 */
import { S3cError } from '../util/errors';

/** Where in a datafile something was written. */
export interface Where {
  /** Path of the datafile as the user should see it. */
  file: string;
  /** 1-based line number. */
  line: number;
}

/** Constructor arguments of {@link DatafileError}. */
export interface DatafileErrorInit extends Where {
  /** Short statement of the problem, e.g. `Unknown column type`. */
  what: string;
  /** What the file contains there, already quoted for display (never a secret value). */
  found: string;
  /** What would have been accepted. */
  expected: string;
  /** Optional extra advice appended to the message, e.g. `did you mean "String"?`. */
  hint?: string;
}

/**
 * A parse or validation error in a `.connection` or `.datasource` file.
 *
 * The message always reads
 * `<file>:<line>: <what>: found <found>, expected <expected>` with an optional
 * `; <hint>` suffix. It never contains the value of a secret: values that come
 * from `{{ tb_secret(...) }}` are shown as the reference, not the value.
 */
export class DatafileError extends S3cError {
  /** Discriminator that survives serialisation (e.g. into a Temporal failure). */
  readonly type = 'DatafileError' as const;
  /** Path of the datafile. */
  readonly file: string;
  /** 1-based line of the problem. */
  readonly line: number;
  /** Short statement of the problem. */
  readonly what: string;
  /** What was found (display form). */
  readonly found: string;
  /** What was expected. */
  readonly expected: string;
  /** Extra advice, if any. */
  readonly hint?: string;

  /** Builds the error and its message from its parts. */
  constructor(init: DatafileErrorInit) {
    super(formatDatafileMessage(init));
    this.name = 'DatafileError';
    this.file = init.file;
    this.line = init.line;
    this.what = init.what;
    this.found = init.found;
    this.expected = init.expected;
    if (init.hint !== undefined) this.hint = init.hint;
  }
}

/** Formats the message of a {@link DatafileError} from its parts. */
export function formatDatafileMessage(init: DatafileErrorInit): string {
  const base = `${init.file}:${init.line}: ${init.what}: found ${init.found}, expected ${init.expected}`;
  return init.hint ? `${base}; ${init.hint}` : base;
}

/** True when `e` is a {@link DatafileError} (also across module copies, by `type`). */
export function isDatafileError(e: unknown): e is DatafileError {
  return (
    e instanceof DatafileError ||
    (typeof e === 'object' && e !== null && (e as { type?: unknown }).type === 'DatafileError')
  );
}

/**
 * A problem found by a pure validator before it knows where it is: the
 * parsers turn it into a {@link DatafileError} by adding file and line.
 */
export interface Problem {
  what: string;
  found: string;
  expected: string;
  hint?: string;
}

/** Result of a pure validator: the parsed value, or a {@link Problem}. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: Problem };

/** Builds a successful {@link Checked}. */
export function ok<T>(value: T): Checked<T> {
  return { ok: true, value };
}

/** Builds a failed {@link Checked}. */
export function problem<T = never>(what: string, found: string, expected: string, hint?: string): Checked<T> {
  return { ok: false, problem: hint === undefined ? { what, found, expected } : { what, found, expected, hint } };
}

/** Attaches a location to a {@link Problem}. */
export function errorAt(where: Where, p: Problem): DatafileError {
  return new DatafileError({ ...where, ...p });
}

/**
 * Quotes user text for the `found` part of a message: JSON string syntax, cut
 * to a readable length.
 */
export function quote(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return JSON.stringify(cut);
}

/**
 * The known word closest to `word` (case-insensitive edit distance), when it is
 * close enough to be a likely typo; otherwise undefined.
 */
export function closest(word: string, known: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(w, candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  const limit = Math.max(1, Math.floor(w.length / 3));
  return bestDistance <= limit ? best : undefined;
}

/** Optimal-string-alignment distance: edits plus swaps of adjacent letters. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => (d[i] as number[])[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}
