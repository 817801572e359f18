/**
 * Object versions: what is loaded exactly once, and the one rule for their
 * ETags and their identity (`versionKey`).
 *
 * Deterministic and I/O-free: imported by workflow code.
 */
import type { DataSourceDef, FileFormat } from '../datafiles/types';

/** One version of one object: what is loaded exactly once (R5.3). */
export interface ObjectVersion {
  bucket: string;
  key: string;
  etag: string;
  size: number;
  /** ISO instant. */
  lastModified: string;
  format: FileFormat;
  compression: 'gzip' | 'none';
}

/**
 * An ETag as stored and compared: without the quotes S3 puts around it (in
 * listings and HEAD answers; not in event notifications). RFC 9110 entity-tag
 * syntax: an opaque tag is `"` + characters other than `"` + `"`, so the quotes
 * are delimiters; removing only them (and surrounding blanks) keeps two distinct
 * tags distinct.
 *
 * @example normalizeEtag('"9b2cf535f27731c974343645a3985328"') // '9b2cf535f27731c974343645a3985328'
 */
export function normalizeEtag(etag: string): string {
  const t = etag.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/**
 * The identity of an object version in maps and sets: key and ETag joined by
 * NUL (a character neither can hold), optionally after a scope such as a data
 * source name.
 *
 * @example versionKey({ key: 'a.csv', etag: 'e1' }) // 'a.csv\u0000e1'
 */
export function versionKey(version: Pick<ObjectVersion, 'key' | 'etag'>, scope?: string): string {
  return scope === undefined
    ? `${version.key}\u0000${version.etag}`
    : `${scope}\u0000${version.key}\u0000${version.etag}`;
}

/**
 * True when `version` was last modified before the data source's
 * IMPORT_FROM_TIMESTAMP: ignored, as a listing ignores it. A version from an
 * event carries the event's time, when S3 created the object (late or
 * replayed deliveries keep it).
 */
export function beforeFromTimestamp(ds: DataSourceDef, version: Pick<ObjectVersion, 'lastModified'>): boolean {
  const from = ds.import?.fromTimestamp;
  return from !== undefined && Date.parse(version.lastModified) < Date.parse(from);
}
