/**
 * The destination a worker loads into, as `s3c.yaml` chooses
 * (`destination: duckdb | ducklake`, docs/configuration.md).
 */
import { ConfigError, type WorkspaceConfig } from '../config';
import type { SecretLookup } from '../datafiles/secrets';
import type { Destination } from './destination';
import { DuckDbSink } from './duckdb/sink';
import { DuckLakeSink, resolveLake } from './ducklake';

/** Opens the configured destination; the lake's secrets are looked up by name in `lookup`. */
export async function openDestination(workspace: WorkspaceConfig, lookup: SecretLookup): Promise<Destination> {
  const memoryLimit = workspace.duckdbMemoryLimit;
  if (workspace.destination !== 'ducklake') return DuckDbSink.open(workspace.duckdbPath, { memoryLimit });
  if (!workspace.lake) throw new ConfigError('destination ducklake needs lake: { catalog, dataPath, s3 } in s3c.yaml');
  return DuckLakeSink.open(resolveLake(workspace.lake, lookup), { memoryLimit });
}
