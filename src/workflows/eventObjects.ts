/**
 * Objects announced by events, checked against S3 before a job loads them
 * (issue 18, item 5): what S3 answered replaces the event's ETag, size and
 * last-modified time, so that a forged or wrong event decides nothing.
 *
 * Deterministic and I/O-free: imported by workflow code.
 */
import type { VerifiedObject } from '../activities';
import { versionKey, type ObjectVersion } from '../contract';
import { VERIFY_BATCH } from '../contract/limits';

export interface CheckedObjects {
  /** The versions S3 has now, each key + ETag once. */
  ready: ObjectVersion[];
  /** Announced objects S3 gave a final answer about (gone, key refused). */
  failed: { object: ObjectVersion; error: string; permanent: boolean }[];
}

/**
 * Applies S3's answers (index-aligned with `objects`). When the ETag differs
 * from the event's, the key was overwritten since: its current version is
 * the one to load (the ledger dedupes it if another event or listing did).
 */
export function applyChecks(objects: ObjectVersion[], answers: VerifiedObject[], into: CheckedObjects): void {
  const seen = new Set(into.ready.map((o) => versionKey(o)));
  objects.forEach((object, i) => {
    const answer = answers[i];
    if (!answer) return;
    if (!answer.ok) {
      into.failed.push({
        object,
        error: `s3://${object.bucket}/${object.key}: ${answer.error}`,
        permanent: answer.permanent,
      });
      return;
    }
    const current: ObjectVersion = {
      ...object,
      etag: answer.etag,
      size: answer.size,
      lastModified: answer.lastModified,
    };
    const id = versionKey(current);
    if (seen.has(id)) return;
    seen.add(id);
    into.ready.push(current);
  });
}
