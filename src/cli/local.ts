/**
 * `s3c local start`: a Temporal dev server (SQLite under .s3c/local, Web UI
 * on), the worker, and optionally MinIO, until Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApi } from '../api';
import { loadApiToken } from '../api/token';
import { loadWorkspaceSecret, workspaceSecretPath } from '../aws/externalId';
import { loadTemporalConfig, loadWorkspaceConfig } from '../config';
import { defaultSecretsFile, SecretStore } from '../datafiles';
import { stateDir as environmentStateDir } from '../environment';
import { startLocalStack } from '../local/stack';

export interface LocalStartOptions {
  projectDir: string;
  useAwsCreds?: boolean;
  minio?: boolean;
  port: number;
  uiPort: number;
  /** The named environment to run; absent for the default one. */
  environment?: string;
}

/** Starts the local stack, prints its addresses, and stops it cleanly on SIGINT/SIGTERM. */
export async function localStart(options: LocalStartOptions): Promise<void> {
  const { projectDir, environment } = options;
  const temporal = loadTemporalConfig(projectDir, process.env, environment);
  const workspace = loadWorkspaceConfig(projectDir, process.env, environment);
  const stateDir = join(environmentStateDir(projectDir, environment), 'local');
  console.log('» Starting s3-connector local ...');
  if (options.useAwsCreds) {
    const profile = process.env.AWS_PROFILE ? ` (profile ${process.env.AWS_PROFILE})` : '';
    console.log(`✓ AWS credentials of this machine will be used to assume roles${profile}`);
  }
  const minioKeys = options.minio ? localMinioKeys(new SecretStore(defaultSecretsFile(projectDir, environment)), stateDir) : undefined;
  const apiToken = loadApiToken(projectDir, process.env, environment);
  const apiUrl = `http://${workspace.api.host}:${workspace.api.port}`;
  // MinIO delivers bucket notifications to the event endpoint (R9.2), so @auto is event-driven locally.
  const webhook = {
    MINIO_NOTIFY_WEBHOOK_ENABLE_S3C: 'on',
    MINIO_NOTIFY_WEBHOOK_ENDPOINT_S3C: `${apiUrl}/v0/events/s3`,
    MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_S3C: apiToken.token,
  };
  const stack = await startLocalStack({
    projectDir: options.projectDir,
    stateDir,
    temporal,
    workspace,
    persistent: true,
    temporalPort: options.port,
    uiPort: options.uiPort,
    minio: minioKeys ? { port: 9000, ...minioKeys, env: webhook } : false,
    useAwsCredentials: options.useAwsCreds === true,
  });
  const api = await startApi({
    client: stack.client,
    projectDir: options.projectDir,
    workspace,
    temporal: stack.temporal,
    token: apiToken.token,
    workspaceSecret: loadWorkspaceSecret(workspaceSecretPath(projectDir, environment)),
    cloudAccountId: workspace.cloudAccountId,
    host: workspace.api.host,
    port: workspace.api.port,
  }).catch(async (err: unknown) => {
    await stack.stop();
    throw err;
  });
  console.log(`✓ Temporal dev server: ${stack.temporalServer.address} (namespace ${stack.temporal.temporal.namespace})`);
  console.log(`✓ Temporal Web UI:     ${stack.temporalServer.uiUrl}`);
  if (stack.minio) {
    console.log(`✓ MinIO (local S3):    ${stack.minio.endpoint}`);
    console.log('  its keys are the secrets LOCAL_S3_ACCESS_KEY and LOCAL_S3_SECRET, its endpoint LOCAL_S3_ENDPOINT:');
    console.log('  S3_ENDPOINT {{ tb_secret("LOCAL_S3_ENDPOINT") }}, S3_ACCESS_KEY {{ tb_secret("LOCAL_S3_ACCESS_KEY") }}, ...');
  }
  console.log(`✓ Worker: task queues ${temporal.taskQueues.control}, ${temporal.taskQueues.ingest}; DuckDB ${workspace.duckdbPath}`);
  console.log(`✓ API:                 ${api.url} (bearer token in ${apiToken.source})`);
  console.log('Ready. In another terminal: `s3c deploy`. Ctrl-C stops everything.');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      console.log('\n» Stopping ...');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await api.close();
  await stack.stop();
  console.log('✓ Stopped.');
}

/**
 * Keys of the local MinIO: made once, kept in .s3c/local/minio.json (0600),
 * and stored as secrets so a .connection can reference them.
 */
function localMinioKeys(store: SecretStore, stateDir: string): { accessKey: string; secretKey: string } {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'minio.json');
  let keys: { accessKey: string; secretKey: string };
  if (existsSync(file)) keys = JSON.parse(readFileSync(file, 'utf8')) as typeof keys;
  else {
    keys = { accessKey: 's3c-local', secretKey: randomBytes(18).toString('base64url') };
    writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  }
  store.set('LOCAL_S3_ACCESS_KEY', keys.accessKey);
  store.set('LOCAL_S3_SECRET', keys.secretKey);
  store.set('LOCAL_S3_ENDPOINT', 'http://127.0.0.1:9000');
  return keys;
}
