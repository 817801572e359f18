/**
 * Glue between zod and the datafile validators: a setting travels through zod
 * as `{ value, display, line }`, each field's check is a zod transform, and
 * zod's issues come back out as {@link DatafileError}s in the file/line format.
 */
import { z } from 'zod';
import { type Checked, DatafileError, type Problem } from './errors';
import { COMMENT_HINT } from './statements';

/** A keyword's value on its way through validation. */
export interface Setting {
  /** The value: unquoted and with secrets resolved. */
  value: string;
  /** How to show the value in a message (the raw reference when it came from a secret). */
  display: string;
  /** 1-based line of the keyword. */
  line: number;
  /** True when the value came (in whole or in part) from a secret. */
  secret: boolean;
}

/**
 * The safety net that keeps secret values out of messages, whatever a
 * validator wrote: `found` becomes the display form (the reference), and any
 * copy of the value, or of a part of it, elsewhere is replaced.
 */
function hideSecret(p: Problem, s: Setting): Problem {
  const scrub = (text: string): string => (s.value.length >= 3 ? text.split(s.value).join('<secret>') : text);
  const out: Problem = { what: scrub(p.what), found: s.display, expected: scrub(p.expected) };
  if (p.hint !== undefined) out.hint = scrub(p.hint);
  return out;
}

/**
 * Advice for a value refused with a ` # ...` tail: `#` starts a comment only
 * at the start of a line (as in the reference), so the tail is the value's.
 */
export function withCommentHint(p: Problem, value: string): Problem {
  if (p.hint !== undefined || !/\s#/.test(value)) return p;
  return { ...p, hint: COMMENT_HINT };
}

/** A zod schema that runs one of our validators on a {@link Setting}. */
export function setting<T>(check: (value: string, display: string) => Checked<T>) {
  return z
    .custom<Setting>((s) => typeof s === 'object' && s !== null && typeof (s as Setting).value === 'string')
    .transform((s, ctx): T => {
      const r = check(s.value, s.display);
      if (r.ok) return r.value;
      const p = s.secret ? hideSecret(r.problem, s) : withCommentHint(r.problem, s.value);
      ctx.addIssue({ code: 'custom', message: p.what, params: { problem: p, line: s.line } });
      return z.NEVER;
    });
}

/**
 * Turns zod issues into {@link DatafileError}s. Issues raised by
 * {@link setting} carry their own problem and line; a missing required field
 * becomes `Missing <KEYWORD>` at `missingLine`.
 */
export function issuesToErrors(
  error: z.ZodError,
  file: string,
  keywordOf: Readonly<Record<string, string>>,
  missingLine: number,
  missingExpected: (keyword: string) => string,
): DatafileError[] {
  return error.issues.map((issue) => {
    const params = (issue as { params?: { problem?: Problem; line?: number } }).params;
    if (params?.problem && params.line !== undefined) {
      return new DatafileError({ file, line: params.line, ...params.problem });
    }
    const field = String(issue.path[0] ?? '');
    const keyword = keywordOf[field] ?? field;
    return new DatafileError({
      file,
      line: missingLine,
      what: `Missing ${keyword}`,
      found: `no ${keyword} line`,
      expected: missingExpected(keyword),
    });
  });
}
