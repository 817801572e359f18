/**
 * What the ingest activities (one file, or many at once) share: the size
 * limit, the sink's input for a downloaded file, and the outcome they report.
 */
import type { ObjectVersion } from '../contract';
import type { DataSourceDef } from '../datafiles/types';
import { sampleDataSource, type IngestFileInput } from '../sinks/duckdb';
import type { ActivityDeps } from './scope';

export interface IngestOutcome {
  key: string;
  etag: string;
  rows: number;
  quarantined: number;
  bytes: number;
  /**
   * True when an earlier job loaded this version (nothing was loaded now). A
   * version this same job committed before a retry (worker died after the
   * commit) counts as loaded by this job.
   */
  alreadyLoaded: boolean;
}

/** What the ledger or a load says of a version: its rows, and the job that committed it. */
interface Loaded {
  rows: number;
  quarantined: number;
  jobId: string;
}

/** The outcome of `object`, loaded by `loaded.jobId` (this job, or an earlier one when `already`). */
export function outcomeOf(
  object: ObjectVersion,
  loaded: Loaded,
  jobId: string,
  already: boolean,
  bytes = object.size,
): IngestOutcome {
  return {
    key: object.key,
    etag: object.etag,
    rows: loaded.rows,
    quarantined: loaded.quarantined,
    bytes,
    alreadyLoaded: already && loaded.jobId !== jobId,
  };
}

/** Why `object` is not loaded: over its format's size limit (R5.6); undefined when it is within. */
export function overSizeLimit(deps: ActivityDeps, object: ObjectVersion): string | undefined {
  const limit = deps.maxFileBytes(object.format);
  if (object.size <= limit) return undefined;
  return `s3://${object.bucket}/${object.key}: file is ${object.size} bytes, over the ${object.format} size limit of ${limit} bytes`;
}

/**
 * What the sink needs to load one downloaded object version. Samples load
 * into the data source's sample table and leave the ledger alone: a sync
 * loads the same files into production once, as if no sample had run.
 */
export function sinkInput(
  dataSource: DataSourceDef,
  object: ObjectVersion,
  localPath: string,
  jobId: string,
  sample?: boolean,
): IngestFileInput {
  return {
    dataSource: sample ? sampleDataSource(dataSource) : dataSource,
    localPath,
    format: object.format,
    compression: object.compression,
    bucket: object.bucket,
    key: object.key,
    etag: object.etag,
    size: object.size,
    lastModified: object.lastModified,
    jobId,
    recordInLedger: !sample,
  };
}
