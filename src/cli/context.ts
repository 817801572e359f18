/**
 * What every CLI command needs: the project folder (where the datafiles
 * are), its configuration, secrets, and a Temporal client on demand.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { S3ClientCache } from '../aws/credentials';
import { deriveExternalId, loadWorkspaceSecret, readWorkspaceSecret } from '../aws/externalId';
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

/** How a command may treat the project folder. */
export interface CliContextOptions {
  /**
   * Write nothing to the project folder (`deploy --check`): without a
   * workspace secret, one lives in memory for this run instead of being
   * created in `.s3c/`. The external id it gives is as new as the one
   * `deploy` would create, so the check answers as deploy would.
   */
  readOnly?: boolean;
}

/** Builds the context for a project folder (default: the current folder). */
export function cliContext(projectDir = process.cwd(), options: CliContextOptions = {}): CliContext {
  const temporal = loadTemporalConfig(projectDir);
  const workspace = loadWorkspaceConfig(projectDir);
  const secrets = new SecretStore(defaultSecretsFile(projectDir));
  let client: Promise<Client> | undefined;
  let s3: S3ClientCache | undefined;
  const secretPath = join(projectDir, '.s3c', 'workspace-secret');
  let ephemeralSecret: string | undefined;
  const workspaceSecret = (): string =>
    options.readOnly
      ? (readWorkspaceSecret(secretPath) ?? (ephemeralSecret ??= randomBytes(32).toString('hex')))
      : loadWorkspaceSecret(secretPath);
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
