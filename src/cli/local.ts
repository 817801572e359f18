/**
 * `s3c local start`: a Temporal dev server (SQLite under .s3c/local, Web UI
 * on), the worker, and optionally MinIO and PostgreSQL (`--lake`: the DuckLake
 * catalog), until Ctrl-C or `s3c local stop`.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApi, type RunningApi } from '../api';
import { loadApiToken } from '../api/token';
import { loadWorkspaceSecret } from '../aws/externalId';
import { loadTemporalConfig, loadWorkspaceConfig, type TemporalConfig, type WorkspaceConfig } from '../config';
import { defaultSecretsFile, SecretStore } from '../datafiles';
import { ensurePrivateDir, privateStateDir, privateUmask } from '../local/privateState';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../local/stack';
import { localPidPath, localStateDir, minioKeysPath, postgresKeysPath, workspaceSecretPath } from '../util/stateLayout';

export interface LocalStartOptions {
  projectDir: string;
  useAwsCreds?: boolean;
  minio?: boolean;
  /** Port of the local MinIO (default 9000). */
  minioPort?: number;
  /** Also start PostgreSQL, the DuckLake catalog (issue 21). */
  lake?: boolean;
  /** Port of the local PostgreSQL (default 5432). */
  postgresPort?: number;
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
  const stateDir = preparePrivateState(projectDir, environment);
  console.log('» Starting s3-connector local ...');
  if (options.useAwsCreds) {
    const profile = process.env.AWS_PROFILE ? ` (profile ${process.env.AWS_PROFILE})` : '';
    console.log(`✓ AWS credentials of this machine will be used to assume roles${profile}`);
  }
  const apiToken = loadApiToken(projectDir, process.env, environment);
  const stack = await startLocalStack(stackOptions(options, stateDir, temporal, workspace, apiToken.token));
  const api = await startLocalApi(options, stack, workspace, apiToken.token);
  printReady(stack, temporal, workspace, `${api.url} (bearer token in ${apiToken.source})`);
  const pidFile = writePidFile(stateDir);
  await stopRequested();
  await api.close();
  await stack.stop();
  rmSync(pidFile, { force: true });
  console.log('✓ Stopped.');
}

/** Secrets and what may repeat them (Temporal's history, the warehouse) are the owner's only: .s3c 0700, files 0600. */
function preparePrivateState(projectDir: string, environment: string | undefined): string {
  privateUmask();
  privateStateDir(projectDir, environment);
  const stateDir = localStateDir(projectDir, environment);
  ensurePrivateDir(stateDir);
  return stateDir;
}

function stackOptions(
  options: LocalStartOptions,
  stateDir: string,
  temporal: TemporalConfig,
  workspace: WorkspaceConfig,
  apiToken: string,
): LocalStackOptions {
  const { projectDir, environment } = options;
  const minioPort = options.minioPort ?? DEFAULT_MINIO_PORT;
  const minioKeys = options.minio ? localMinioKeys(projectDir, stateDir, minioPort, environment) : undefined;
  const postgresPort = options.postgresPort ?? DEFAULT_POSTGRES_PORT;
  const postgres = options.lake
    ? { port: postgresPort, password: localPostgresPassword(projectDir, stateDir, postgresPort, environment) }
    : false;
  // MinIO delivers bucket notifications to the event endpoint (R9.2), so @auto is event-driven locally.
  const webhook = {
    MINIO_NOTIFY_WEBHOOK_ENABLE_S3C: 'on',
    MINIO_NOTIFY_WEBHOOK_ENDPOINT_S3C: `http://${workspace.api.host}:${workspace.api.port}/v0/events/s3`,
    MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_S3C: apiToken,
  };
  return {
    projectDir,
    stateDir,
    temporal,
    workspace,
    persistent: true,
    temporalPort: options.port,
    uiPort: options.uiPort,
    minio: minioKeys ? { port: minioPort, ...minioKeys, env: webhook } : false,
    postgres,
    useAwsCredentials: options.useAwsCreds === true,
  };
}

/** The HTTP API beside the stack; the stack stops if the API cannot start. */
async function startLocalApi(
  options: LocalStartOptions,
  stack: LocalStack,
  workspace: WorkspaceConfig,
  token: string,
): Promise<RunningApi> {
  return startApi({
    client: stack.client,
    projectDir: options.projectDir,
    workspace,
    temporal: stack.temporal,
    token,
    workspaceSecret: loadWorkspaceSecret(workspaceSecretPath(options.projectDir, options.environment)),
    cloudAccountId: workspace.cloudAccountId,
    host: workspace.api.host,
    port: workspace.api.port,
  }).catch(async (err: unknown) => {
    await stack.stop();
    throw err;
  });
}

function printReady(stack: LocalStack, temporal: TemporalConfig, workspace: WorkspaceConfig, api: string): void {
  console.log(
    `✓ Temporal dev server: ${stack.temporalServer.address} (namespace ${stack.temporal.temporal.namespace})`,
  );
  console.log(`✓ Temporal Web UI:     ${stack.temporalServer.uiUrl}`);
  if (stack.minio) {
    console.log(`✓ MinIO (local S3):    ${stack.minio.endpoint}`);
    console.log('  its keys are the secrets LOCAL_S3_ACCESS_KEY and LOCAL_S3_SECRET, its endpoint LOCAL_S3_ENDPOINT:');
    console.log(
      '  S3_ENDPOINT {{ tb_secret("LOCAL_S3_ENDPOINT") }}, S3_ACCESS_KEY {{ tb_secret("LOCAL_S3_ACCESS_KEY") }}, ...',
    );
  }
  if (stack.postgres) {
    const { user, port, database } = stack.postgres;
    console.log(`✓ PostgreSQL (DuckLake catalog): postgresql://${user}@127.0.0.1:${port}/${database}`);
    console.log('  its URL with the password is the secret LOCAL_POSTGRES_URL, the password LOCAL_POSTGRES_PASSWORD');
  }
  console.log(
    `✓ Worker: task queues ${temporal.taskQueues.control}, ${temporal.taskQueues.ingest}; DuckDB ${workspace.duckdbPath}`,
  );
  console.log(`✓ API:                 ${api}`);
  console.log('Ready. In another terminal: `s3c deploy`. Ctrl-C (or `s3c local stop`) stops everything.');
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C, `s3c local stop`). */
function stopRequested(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      console.log('\n» Stopping ...');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export const DEFAULT_MINIO_PORT = 9000;
export const DEFAULT_POSTGRES_PORT = 5432;

/** The access key every project had before keys were made per project. */
const SHARED_ACCESS_KEY = 's3c-local';

/**
 * Keys of the local MinIO, this project's own: made once, kept in
 * .s3c/local/minio.json (0600), and stored as secrets (with the endpoint on
 * `port`) so a .connection can reference them. A file of the time when every
 * project had the access key `s3c-local` gets a new one (MinIO takes new root
 * keys at its next start).
 */
export function localMinioKeys(
  projectDir: string,
  stateDir: string,
  port: number = DEFAULT_MINIO_PORT,
  environment?: string,
): { accessKey: string; secretKey: string } {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = minioKeysPath(stateDir);
  let keys = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { accessKey: string; secretKey: string })
    : undefined;
  if (!keys || keys.accessKey === SHARED_ACCESS_KEY) {
    keys = { accessKey: `s3c-${randomBytes(8).toString('hex')}`, secretKey: randomBytes(24).toString('base64url') };
    writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const store = new SecretStore(defaultSecretsFile(projectDir, environment));
  store.set('LOCAL_S3_ACCESS_KEY', keys.accessKey);
  store.set('LOCAL_S3_SECRET', keys.secretKey);
  store.set('LOCAL_S3_ENDPOINT', `http://127.0.0.1:${port}`);
  return keys;
}

/**
 * Password of the local PostgreSQL's superuser, this project's own: made once
 * (its cluster is made with it), kept in .s3c/local/postgres.json (0600), and
 * stored as secrets with the URL on `port`, as for MinIO's keys.
 */
export function localPostgresPassword(
  projectDir: string,
  stateDir: string,
  port: number = DEFAULT_POSTGRES_PORT,
  environment?: string,
): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = postgresKeysPath(stateDir);
  let password = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { password: string }).password
    : undefined;
  if (!password) {
    password = randomBytes(24).toString('base64url');
    writeFileSync(file, JSON.stringify({ password }), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const store = new SecretStore(defaultSecretsFile(projectDir, environment));
  store.set('LOCAL_POSTGRES_PASSWORD', password);
  store.set('LOCAL_POSTGRES_URL', `postgresql://s3c:${password}@127.0.0.1:${port}/ducklake`);
  return password;
}

function writePidFile(stateDir: string): string {
  const file = localPidPath(stateDir);
  writeFileSync(file, `${process.pid}\n`, { mode: 0o600 });
  return file;
}

/** Whether `pid` is alive and (where /proc tells) an `s3c local start`: a stale file's pid may have been reused. */
function isLocalStart(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!existsSync(`/proc/${pid}/cmdline`)) return true;
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  return args.includes('local') && args.includes('start');
}

/**
 * `s3c local stop`: asks the running `s3c local start` of this project (and
 * environment) to stop (SIGTERM, as Ctrl-C does), and waits until it has
 * stopped its servers (Temporal, MinIO, PostgreSQL) and exited.
 */
export async function localStop(options: {
  projectDir: string;
  environment?: string;
  timeoutMs?: number;
}): Promise<boolean> {
  const file = localPidPath(localStateDir(options.projectDir, options.environment));
  const pid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : NaN;
  if (!Number.isInteger(pid) || !isLocalStart(pid)) {
    rmSync(file, { force: true });
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (isLocalStart(pid)) {
    if (Date.now() > deadline)
      throw new Error(`s3c local start (pid ${pid}) did not stop within ${(options.timeoutMs ?? 60_000) / 1000}s`);
    await sleep(200);
  }
  return true;
}
