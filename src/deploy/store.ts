/**
 * What is deployed: a snapshot of the connections (raw text, secrets still as
 * `tb_secret` references) and data sources, in `.s3c/deployment.json` of the
 * project folder (`.s3c/env/NAME/deployment.json` for a named environment).
 * `deploy` writes it; workers read connections from it, so a datafile edited
 * but not deployed changes nothing that runs.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync, type BigIntStats } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceDef } from '../datafiles/types';
import { deploymentPath } from '../util/stateLayout';

export interface DeployedConnection {
  name: string;
  path: string;
  /** The file's text as deployed; secret references are resolved at use. */
  text: string;
  region: string;
  /** Account id of S3_ARN, when a role is used (R2.3). */
  roleAccountId?: string;
  endpoint?: string;
  /**
   * Fingerprint of the external id the role was deployed with (issue #19,
   * item 4): deploy refuses an id that differs, as the role's trust policy
   * names the old one. A hash, so the snapshot does not spread the id.
   */
  externalIdFingerprint?: string;
}

export interface DeployedDataSource {
  def: DataSourceDef;
  deployedAt: string;
  /**
   * Keywords whose values came from `tb_secret` references: messages never
   * show those values (the definition holds them resolved).
   */
  secretKeywords?: string[];
  /**
   * IMPORT_BUCKET_URI as written, when it holds a `tb_secret` reference: the
   * workflows get this text instead of the value (see {@link payloadDefinition}).
   */
  bucketUriAsWritten?: string;
}

export interface Deployment {
  version: 1;
  workspace: string;
  connections: Record<string, DeployedConnection>;
  dataSources: Record<string, DeployedDataSource>;
}

/** A parsed snapshot and the file state it was read from. */
interface CachedDeployment {
  doc: Deployment;
  /** Inode, size and change times: a rewrite (deploy renames a new file in) changes one of them. */
  stamp: string;
  /** False while the file was written too recently for its times to tell a later write apart (see below). */
  settled: boolean;
}

const cache = new Map<string, CachedDeployment>();

/**
 * File times tick in steps of a few milliseconds: a second write within the
 * same step and of the same size would look unchanged. A snapshot read this
 * soon after its last change is read again next time (git's "racy" rule).
 */
const SETTLE_NS = 2_000_000_000n;

function stampOf(stats: BigIntStats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

function statOrUndefined(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Reads the snapshot; an empty deployment when nothing was deployed yet.
 *
 * The API, event intake and the worker's connection lookups ask for it on
 * every request and activity: it is parsed once per version of the file
 * (cached by path, checked with one `stat`), so a redeploy, even by another
 * process, is seen at the next call. The result is shared and frozen: copy before changing it.
 */
export function readDeployment(projectDir: string, workspace: string, environment?: string): Deployment {
  const path = deploymentPath(projectDir, environment);
  const stats = statOrUndefined(path);
  if (!stats) {
    cache.delete(path);
    return { version: 1, workspace, connections: {}, dataSources: {} };
  }
  const stamp = stampOf(stats);
  const cached = cache.get(path);
  if (cached?.settled && cached.stamp === stamp) return cached.doc;
  const doc = deepFreeze(JSON.parse(readFileSync(path, 'utf8')) as Deployment);
  const settled = BigInt(Date.now()) * 1_000_000n - stats.mtimeNs > SETTLE_NS;
  cache.set(path, { doc, stamp, settled });
  return doc;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Writes the snapshot atomically (temp file + rename). */
export function writeDeployment(projectDir: string, deployment: Deployment, environment?: string): void {
  const path = deploymentPath(projectDir, environment);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(deployment, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  cache.delete(path);
}

/**
 * The definition to put in workflow payloads (inputs, signals, memos,
 * summaries), which Temporal keeps in its history and shows in the Web UI: a
 * bucket URI that comes from a secret is replaced by its reference as written
 * (`{{ tb_secret("NAME") }}`), which the activities resolve, as they resolve a
 * connection's keys (issue #18, item 8).
 */
export function payloadDefinition(deployed: DeployedDataSource): DataSourceDef {
  const { def, bucketUriAsWritten } = deployed;
  if (!def.import || bucketUriAsWritten === undefined) return def;
  return { ...def, import: { ...def.import, bucketUri: bucketUriAsWritten } };
}
