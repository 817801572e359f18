/**
 * What every CLI command needs: the project folder (where the datafiles
 * are), its configuration, secrets, and a Temporal client on demand.
 */
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { S3ClientCache } from '../aws/credentials';
import { deriveExternalId, loadWorkspaceSecret } from '../aws/externalId';
import { connectClient } from '../client/temporal';
import { loadTemporalConfig, loadWorkspaceConfig, type TemporalConfig, type WorkspaceConfig } from '../config';
import { defaultSecretsFile, SecretStore, secretLookup, type SecretLookup } from '../datafiles';

export interface CliContext {
  projectDir: string;
  temporal: TemporalConfig;
  workspace: WorkspaceConfig;
  secrets: SecretStore;
  lookup: SecretLookup;
  workspaceSecret(): string;
  s3(): S3ClientCache;
  client(): Promise<Client>;
  close(): Promise<void>;
}

/** Builds the context for a project folder (default: the current folder). */
export function cliContext(projectDir = process.cwd()): CliContext {
  const temporal = loadTemporalConfig(projectDir);
  const workspace = loadWorkspaceConfig(projectDir);
  const secrets = new SecretStore(defaultSecretsFile(projectDir));
  let client: Promise<Client> | undefined;
  let s3: S3ClientCache | undefined;
  const workspaceSecret = (): string => loadWorkspaceSecret(join(projectDir, '.s3c', 'workspace-secret'));
  return {
    projectDir,
    temporal,
    workspace,
    secrets,
    lookup: secretLookup(secrets),
    workspaceSecret,
    s3() {
      s3 ??= new S3ClientCache({
        externalId: (name) => deriveExternalId(workspaceSecret(), workspace.workspace, name),
      });
      return s3;
    },
    client() {
      client ??= connectClient(temporal).catch((err: unknown) => {
        throw new Error(
          `cannot reach Temporal at ${temporal.temporal.address} (namespace ${temporal.temporal.namespace}): ` +
            `${err instanceof Error ? err.message : String(err)}. Is \`s3c local start\` running, or temporal.yaml right?`,
        );
      });
      return client;
    },
    async close() {
      s3?.destroy();
      if (client) await (await client.catch(() => undefined))?.connection.close();
    },
  };
}
