/**
 * Routing of object creations to data sources (SPEC R9.2), pure: which
 * `@auto` data sources follow a key, and the object version each one gets.
 */
import type { DataSourceDef } from '../datafiles/types';
import { matchKey, objectFormat, parseBucketUri } from '../s3uri';
import { beforeFromTimestamp, versionKey, type ObjectVersion } from '../contract';
import type { CreatedObject } from './parse';

/** The outcome of routing a batch of objects. */
export interface Routing {
  /** Data source name → the versions to signal it (each key + ETag once). */
  byDataSource: Map<string, ObjectVersion[]>;
  /** Objects that no `@auto` data source follows (or without a supported extension). */
  unmatched: number;
  /** Objects that data sources select but were last modified before their IMPORT_FROM_TIMESTAMP: routed to none. */
  olderThanFromTimestamp: number;
}

/** True when `ds` follows its bucket with events (`IMPORT_SCHEDULE @auto`). */
export function followsEvents(ds: DataSourceDef): boolean {
  return ds.import?.schedule.kind === 'auto';
}

/**
 * The object version `ds` would load for `object`, or undefined when `ds`
 * does not select it: not `@auto`, another bucket, a key its URI does not
 * match, or an extension that no format supports (R3.3; `IMPORT_FORMAT`
 * overrides the format that the extension gives, as a listing does).
 */
export function versionFor(ds: DataSourceDef, object: CreatedObject): ObjectVersion | undefined {
  const settings = ds.import;
  if (!settings || !followsEvents(ds)) return undefined;
  let bucket: string;
  try {
    bucket = parseBucketUri(settings.bucketUri).bucket;
  } catch {
    return undefined;
  }
  if (bucket !== object.bucket) return undefined;
  if (!matchKey(settings.bucketUri, object.key)) return undefined;
  const detected = objectFormat(object.key, settings.format);
  if (!detected) return undefined;
  return {
    bucket: object.bucket,
    key: object.key,
    etag: object.etag,
    size: object.size,
    lastModified: object.eventTime,
    format: detected.format,
    compression: detected.compression,
  };
}

/** Routes every object to every `@auto` data source that selects it (and whose IMPORT_FROM_TIMESTAMP it is not older than). */
export function routeObjects(objects: CreatedObject[], dataSources: DataSourceDef[]): Routing {
  const byDataSource = new Map<string, ObjectVersion[]>();
  const seen = new Set<string>();
  let unmatched = 0;
  let olderThanFromTimestamp = 0;
  const following = dataSources.filter(followsEvents);
  for (const object of objects) {
    let matched = false;
    let tooOld = false;
    for (const ds of following) {
      const version = versionFor(ds, object);
      if (!version) continue;
      if (beforeFromTimestamp(ds, version)) {
        tooOld = true;
        continue;
      }
      matched = true;
      const id = versionKey(version, ds.name);
      if (seen.has(id)) continue;
      seen.add(id);
      let list = byDataSource.get(ds.name);
      if (!list) byDataSource.set(ds.name, (list = []));
      list.push(version);
    }
    if (!matched && tooOld) olderThanFromTimestamp++;
    else if (!matched) unmatched++;
  }
  return { byDataSource, unmatched, olderThanFromTimestamp };
}
