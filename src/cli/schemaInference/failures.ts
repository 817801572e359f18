/** DuckDB's errors while inferring, turned into one line a user can act on (an InferenceError). */
import { duckdbInternalReason, firstLine } from '../../util/errors';
import { InferenceError } from './model';

/** Turns a DuckDB error into a line a user can act on: no local paths, no DuckDB error class. */
function humanMessage(err: unknown, paths: readonly string[], key: string): string {
  let m = firstLine(err);
  for (const p of paths) m = m.split(p).join(key);
  m = m.replace(
    /^(Invalid Input|Binder|Conversion|IO|Parser|Catalog|Not implemented|Invalid Configuration|Out of Range) Error: /,
    '',
  );
  m = m.replace(/\s*Try auto-detecting the JSON format\.?/, '');
  // DuckDB's own bug on this file (as the loader says it: see classify in the sink).
  m = duckdbInternalReason(m) ?? m;
  return m;
}

/**
 * The InferenceError that `err` (raised while inferring the sample of `key`)
 * becomes: `paths` (local folders and files) replaced by `key`, running out of
 * `memoryLimit` and a duplicate JSON key said plainly.
 */
export function inferenceFailure(
  err: unknown,
  paths: readonly string[],
  key: string,
  memoryLimit: string,
): InferenceError {
  const named = (m: string) => new InferenceError(m.includes(key) ? m : `${key}: ${m}`);
  if (err instanceof InferenceError) return named(humanMessage(err, paths, key));
  const m = firstLine(err);
  if (/^Out of Memory Error/i.test(m)) {
    return new InferenceError(
      `reading ${key} needs more than ${memoryLimit} of memory (its values inflate that much once decoded, e.g. a large map or list): no schema inferred`,
    );
  }
  const duplicate = /in line ([0-9]+): Object .* has duplicate key "(.*)"$/.exec(m);
  if (duplicate) {
    return named(
      `line ${duplicate[1]} of ${key} is an object with the key ${JSON.stringify(duplicate[2])} twice, which DuckDB's JSON reader refuses: ` +
        'no schema inferred (remove the repeated key)',
    );
  }
  return named(humanMessage(err, paths, key));
}
