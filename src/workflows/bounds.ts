/**
 * Bounds on what travels in Temporal payloads (issue 18, item 7): a job's
 * report (its query answer and result), the objects handed to one job, the
 * failed-version map of the cursor. Temporal refuses a payload over 2 MB and
 * terminates a workflow whose result is; everything here stays far below.
 *
 * Deterministic and I/O-free: imported by workflow code.
 */
import type { FileError, JobErrorsPage, JobReport, ObjectVersion } from '../contract';
import { MAX_ERROR_TEXT, MAX_FAILED_BYTES, MAX_JOB_OBJECT_BYTES, MAX_REPORT_ERRORS } from '../contract/limits';

/** `text`, cut to `max` characters with a mark that it was cut. */
export function clip(text: string, max = MAX_ERROR_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A file error with its texts clipped. */
function clipped(error: FileError): FileError {
  return { key: clip(error.key), etag: clip(error.etag, 200), error: clip(error.error) };
}

/**
 * Adds a file error to the report (kept while under MAX_REPORT_ERRORS, else
 * only counted) and to `all`, which the `jobErrors` query pages through.
 */
export function keepError(report: JobReport, all: FileError[], error: FileError): void {
  const kept = clipped(error);
  all.push(kept);
  if (report.errors.length < MAX_REPORT_ERRORS) report.errors.push(kept);
  else report.statistics.errors_omitted = (report.statistics.errors_omitted ?? 0) + 1;
}

/** One page of `all`; arguments from anyone (a query of the Web UI) are clamped, never thrown on. */
export function errorsPage(all: FileError[], offset: unknown, limit: unknown): JobErrorsPage {
  const from = typeof offset === 'number' && Number.isInteger(offset) && offset > 0 ? offset : 0;
  const size =
    typeof limit === 'number' && Number.isInteger(limit) && limit > 0
      ? Math.min(limit, MAX_REPORT_ERRORS)
      : MAX_REPORT_ERRORS;
  return { total: all.length, offset: from, errors: all.slice(from, from + size) };
}

/** The JSON size of one object version, as a payload carries it. */
function objectBytes(object: ObjectVersion): number {
  return JSON.stringify(object).length;
}

/** How many objects from the head of `objects` fit in one job: at most `maxCount` and MAX_JOB_OBJECT_BYTES (at least one). */
export function objectsForOneJob(objects: ObjectVersion[], maxCount: number): number {
  let bytes = 0;
  let n = 0;
  for (const object of objects) {
    if (n >= maxCount) break;
    bytes += objectBytes(object);
    if (n > 0 && bytes > MAX_JOB_OBJECT_BYTES) break;
    n++;
  }
  return n;
}

/** The newest entries of the failed-version map whose keys and ETags add up to at most `maxBytes`. */
export function boundFailedBytes(failed: Record<string, string>, maxBytes = MAX_FAILED_BYTES): Record<string, string> {
  const entries = Object.entries(failed);
  let bytes = 0;
  let start = entries.length;
  while (start > 0) {
    const [key, etag] = entries[start - 1]!;
    bytes += key.length + etag.length + 6;
    if (bytes > maxBytes) break;
    start--;
  }
  return start === 0 ? failed : Object.fromEntries(entries.slice(start));
}
