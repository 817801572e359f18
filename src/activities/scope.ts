/**
 * What the activities of one worker share: their dependencies (the sink, the
 * credentials cache, the deployed connections), the worker-wide download
 * gate, and the reading of a definition's import settings.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3ClientCache } from '../aws/credentials';
import type { ObjectVersion } from '../contract';
import type { SecretLookup } from '../datafiles/secrets';
import type { ConnectionDef, DataSourceDef } from '../datafiles/types';
import type { Destination } from '../sinks/destination';
import { TerminalFailure } from './failures';
import { PriorityGate } from './priorityGate';

/**
 * Downloads at once in one worker, across all its activities (a worker-wide
 * gate, earlier activities first). The benchmark's baseline downloads 16 at once.
 */
export const WORKER_DOWNLOADS = 16;

/** How far behind the watermark a listing looks again (clock skew, late listings), unless configured. */
export const WATERMARK_GRACE_MS = 15 * 60 * 1000;

export interface ActivityDeps {
  sink: Destination;
  s3: S3ClientCache;
  /** Resolves a deployed connection by name, secrets resolved. Throws when unknown. */
  connection: (name: string) => ConnectionDef;
  /** Size limit in bytes for a format (R5.6). */
  maxFileBytes: (format: ObjectVersion['format']) => number;
  /** The look-back window behind the watermark (`lookBackSeconds`); default {@link WATERMARK_GRACE_MS}. */
  lookBackMs?: number;
  /** Secret values, for a bucket URI that workflows carry as a reference (see ./definition.ts). */
  secrets?: SecretLookup;
  /** The worker's project and workspace: the queue intake routes events against their deployment. */
  project?: { dir: string; workspace: string; environment?: string };
}

/** A worker's dependencies and the state its activities share. */
export interface ActivityScope {
  deps: ActivityDeps;
  /** The worker-wide download gate. */
  downloads: PriorityGate;
  /** The next load activity's rank at the gate: its start order. */
  nextRank(): number;
  /** The S3 client of the data source's connection, and the connection. */
  clientFor(ds: DataSourceDef): { client: S3Client; conn: ConnectionDef };
}

/** The scope of one worker's activities. */
export function activityScope(deps: ActivityDeps): ActivityScope {
  const downloads = new PriorityGate(WORKER_DOWNLOADS);
  let started = 0;
  return {
    deps,
    downloads,
    nextRank: () => ++started,
    clientFor(ds) {
      const conn = deps.connection(importOf(ds).connectionName);
      return { client: deps.s3.clientFor(conn), conn };
    },
  };
}

/** The data source's import settings; a data source without them is not one to import from. */
export function importOf(ds: DataSourceDef): NonNullable<DataSourceDef['import']> {
  if (!ds.import) throw new TerminalFailure(`data source ${ds.name} has no IMPORT_* settings`, 'NotAnImport');
  return ds.import;
}

/** Why an object an event named is not loaded into a data source whose URI comes from a secret. */
export const NOT_SELECTED = 'not selected by IMPORT_BUCKET_URI (another bucket, or a key the pattern does not match)';
