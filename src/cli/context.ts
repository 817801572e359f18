/**
 * What every CLI command needs: the project folder (where the datafiles
 * are), its configuration, secrets, and a Temporal client on demand.
 */
import type { Client } from '@temporalio/client';
import { S3ClientCache } from '../aws/credentials';
import {
  deriveExternalId,
  loadWorkspaceSecret,
  newWorkspaceSecret,
  readWorkspaceSecret,
  saveWorkspaceSecret,
} from '../aws/externalId';
import { connectClient } from '../client/temporal';
import { loadTemporalConfig, loadWorkspaceConfig, type TemporalConfig, type WorkspaceConfig } from '../config';
import { defaultSecretsFile, SecretStore, secretLookup, type SecretLookup } from '../datafiles';
import { workspaceSecretPath } from '../util/stateLayout';

export interface CliContext {
  projectDir: string;
  /** The named environment (`--env`, `S3C_ENV`); absent for the default one. */
  environment?: string;
  temporal: TemporalConfig;
  workspace: WorkspaceConfig;
  secrets: SecretStore;
  lookup: SecretLookup;
  workspaceSecret(): string;
  /** The external id of a connection's role (from the workspace secret and name). */
  externalId(connectionName: string): string;
  /**
   * Saves the workspace secret held in memory by a read-only context, when
   * there is no saved one: `deploy` calls it once its checks passed, so a
   * refused deploy leaves no new secret behind.
   */
  saveWorkspaceSecret(): void;
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
   * `deploy` would create, so the check answers as deploy would; `deploy`
   * saves it with `saveWorkspaceSecret()` once its checks passed.
   */
  readOnly?: boolean;
  /** The named environment whose configuration, secrets and state to use; absent for the default one. */
  environment?: string;
}

/** Builds the context for a project folder (default: the current folder). */
export function cliContext(projectDir = process.cwd(), options: CliContextOptions = {}): CliContext {
  const { environment } = options;
  const temporal = loadTemporalConfig(projectDir, process.env, environment);
  const workspace = loadWorkspaceConfig(projectDir, process.env, environment);
  const secrets = new SecretStore(defaultSecretsFile(projectDir, environment));
  let client: Promise<Client> | undefined;
  let s3: S3ClientCache | undefined;
  const secretPath = workspaceSecretPath(projectDir, environment);
  let ephemeralSecret: string | undefined;
  const workspaceSecret = (): string =>
    options.readOnly
      ? (readWorkspaceSecret(secretPath) ?? (ephemeralSecret ??= newWorkspaceSecret()))
      : loadWorkspaceSecret(secretPath);
  const externalId = (name: string): string => deriveExternalId(workspaceSecret(), workspace.workspace, name);
  return {
    projectDir,
    ...(environment !== undefined ? { environment } : {}),
    temporal,
    workspace,
    secrets,
    lookup: secretLookup(secrets),
    workspaceSecret,
    externalId,
    saveWorkspaceSecret() {
      // Saved only when this run made it: an existing file or S3C_WORKSPACE_SECRET stays the source.
      if (ephemeralSecret !== undefined && readWorkspaceSecret(secretPath) === undefined)
        saveWorkspaceSecret(secretPath, ephemeralSecret);
    },
    s3() {
      s3 ??= new S3ClientCache({ externalId });
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
