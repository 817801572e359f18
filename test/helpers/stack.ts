/**
 * Integration test harness: a real Temporal dev server and a real MinIO on
 * random loopback ports with temp dirs, a worker in this process, and a
 * project folder of datafiles. `stop()` always stops everything (and the
 * servers' watchdogs kill them if this process dies first).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { loadTemporalConfig, loadWorkspaceConfig, type WorkspaceConfig } from '../../src/config';
import { waitForState } from '../../src/client/dataSources';
import { defaultSecretsFile, SecretStore } from '../../src/datafiles';
import { repoRoot } from '../../src/local/tools';
import { minioS3Client, startLocalStack, type LocalStack } from '../../src/local/stack';
import {
  freePort,
  startMinio,
  startTemporalDevServer,
  type MinioServer,
  type TemporalDevServer,
} from '../../src/local/processes';
import { payloadConverterPath, workflowsPath } from '../../src/worker';
import { startApi, type RunningApi } from '../../src/api';
import type { DataSourceState } from '../../src/contract';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test process (webpack takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath,
    payloadConverterPath,
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never,
  });
  return bundle;
}

export interface TestStack {
  stack: LocalStack;
  /** The running MinIO (a new one after `restartMinio`). */
  minio: MinioServer;
  /** The temp folder of this stack (project, server state). */
  root: string;
  /** Stops the Temporal dev server, waits `downMs`, starts it again on the same port and SQLite file (needs `persistentTemporal`). */
  restartTemporal(downMs?: number): Promise<void>;
  /** Kills MinIO (SIGKILL), waits `downMs`, starts it again on the same port and data folder. */
  restartMinio(downMs?: number): Promise<void>;
  s3: S3Client;
  projectDir: string;
  workspace: WorkspaceConfig;
  /** Writes a datafile (or any file) into the project folder. */
  write(name: string, text: string): void;
  /** Creates a bucket in MinIO. */
  createBucket(bucket: string): Promise<void>;
  put(bucket: string, key: string, body: string | Buffer): Promise<void>;
  /** Runs the s3c CLI in the project folder against this stack. */
  cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Polls the data source's state until `predicate` holds. */
  waitForState(name: string, predicate: (s: DataSourceState) => boolean, timeoutMs?: number): Promise<DataSourceState>;
  stop(): Promise<void>;
}

/** A `.connection` for the stack's MinIO, keys as secrets in the store. */
export function minioConnection(): string {
  return [
    'TYPE s3',
    'S3_REGION "us-east-1"',
    'S3_ENDPOINT {{ tb_secret("TEST_S3_ENDPOINT") }}',
    'S3_ACCESS_KEY {{ tb_secret("TEST_S3_ACCESS_KEY") }}',
    'S3_SECRET {{ tb_secret("TEST_S3_SECRET") }}',
    '',
  ].join('\n');
}

/** Stores the secrets `minioConnection()` refers to, for the project in `projectDir`. */
export function storeMinioSecrets(
  projectDir: string,
  minio: { endpoint: string; accessKey: string; secretKey: string },
): void {
  const secrets = new SecretStore(defaultSecretsFile(projectDir));
  secrets.set('TEST_S3_ENDPOINT', minio.endpoint);
  secrets.set('TEST_S3_ACCESS_KEY', minio.accessKey);
  secrets.set('TEST_S3_SECRET', minio.secretKey);
}

/**
 * A `.datasource` with the `id Int32, name String` schema most integration
 * tests use, on the `minio` connection by default.
 */
export function idNameDataSource(uri: string, options: { schedule?: string; connection?: string } = {}): string {
  return [
    'SCHEMA >',
    '    `id` Int32 `json:$.id`,',
    '    `name` String `json:$.name`',
    '',
    `IMPORT_CONNECTION_NAME ${options.connection ?? 'minio'}`,
    `IMPORT_BUCKET_URI ${uri}`,
    `IMPORT_SCHEDULE ${options.schedule ?? '@on-demand'}`,
    '',
  ].join('\n');
}

/** The environment for running the s3c CLI against a test stack with `workspace`'s settings. */
export function cliEnv(temporalAddress: string, workspace: WorkspaceConfig): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress,
    S3C_POLL_INTERVAL_SECONDS: String(workspace.pollIntervalSeconds),
    S3C_FILES_PER_MINUTE: String(workspace.filesPerMinute),
    S3C_RATE_LIMIT_PERIOD_SECONDS: String(workspace.rateLimitPeriodSeconds),
    S3C_MAX_HISTORY_EVENTS: String(workspace.maxHistoryEvents),
  };
}

/** Starts MinIO, Temporal and a worker for a fresh project folder. */
export async function startTestStack(
  options: {
    workspace?: Partial<WorkspaceConfig>;
    /** Extra environment of the MinIO server (e.g. `MINIO_NOTIFY_WEBHOOK_*`). */
    minioEnv?: Record<string, string>;
    /** Start the worker in this process (default true); false for a worker in a child process. */
    worker?: boolean;
    /** Keep Temporal's history in a SQLite file on a fixed port, so that `restartTemporal` works (default false). */
    persistentTemporal?: boolean;
  } = {},
): Promise<TestStack> {
  const root = mkdtempSync(join(tmpdir(), 's3c-test-'));
  const projectDir = join(root, 'project');
  mkdirSync(projectDir, { recursive: true });
  let minio = await startMinio({ dataDir: join(root, 'minio'), stateDir: root, env: options.minioEnv });
  try {
    storeMinioSecrets(projectDir, minio);
    const workspace: WorkspaceConfig = {
      ...loadWorkspaceConfig(projectDir, {}),
      pollIntervalSeconds: 2,
      ...options.workspace,
    };
    const stack = await startLocalStack({
      projectDir,
      stateDir: join(root, 'temporal'),
      temporal: loadTemporalConfig(projectDir, {}),
      workspace,
      workflowBundle: await workflowBundle(),
      worker: options.worker,
      persistent: options.persistentTemporal,
    });
    let temporalServer: TemporalDevServer = stack.temporalServer;
    const s3 = minioS3Client(minio);
    const env = cliEnv(stack.temporal.temporal.address, workspace);
    return {
      stack,
      get minio() {
        return minio;
      },
      root,
      s3,
      projectDir,
      workspace,
      async restartTemporal(downMs = 0) {
        if (!options.persistentTemporal) throw new Error('restartTemporal needs persistentTemporal: true');
        const [, port] = temporalServer.address.split(':');
        const uiPort = new URL(temporalServer.uiUrl).port;
        await temporalServer.stop();
        await sleep(downMs);
        temporalServer = await startTemporalDevServer({
          stateDir: join(root, 'temporal'),
          dbFile: join(root, 'temporal', 'temporal.db'),
          port: Number(port),
          uiPort: Number(uiPort),
          namespace: stack.temporal.temporal.namespace,
        });
      },
      async restartMinio(downMs = 0) {
        const before = minio;
        // Killed, not drained: requests in flight are cut, as in a crash or a network loss.
        try {
          process.kill(-before.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        await before.stop();
        await sleep(downMs);
        minio = await startMinio({
          dataDir: before.dataDir,
          stateDir: root,
          port: before.port,
          accessKey: before.accessKey,
          secretKey: before.secretKey,
          env: options.minioEnv,
        });
      },
      write(name, text) {
        writeFileSync(join(projectDir, name), text);
      },
      async createBucket(bucket) {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      },
      async put(bucket, key, body) {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      },
      cli(args, input) {
        return new Promise((resolve) => {
          const child = execFile(
            process.execPath,
            [join(repoRoot, 'bin', 's3c.js'), ...args],
            { cwd: projectDir, env, timeout: 120_000 },
            (err, stdout, stderr) => {
              const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
              resolve({ code, stdout, stderr });
            },
          );
          if (input !== undefined) child.stdin?.end(input);
          else child.stdin?.end();
        });
      },
      async waitForState(name, predicate, timeoutMs = 60_000) {
        return waitForState(stack.client, workspace.workspace, name, predicate, { timeoutMs, intervalMs: 200 });
      },
      async stop() {
        s3.destroy();
        await stack.stop();
        await temporalServer.stop();
        await minio.stop();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await minio.stop();
    throw err;
  }
}

/** The HTTP API on the test stack's Temporal and project, on loopback (a free port unless one is given). */
export async function startTestApi(
  t: TestStack,
  options: { token: string; workspaceSecret: string; port?: number; cloudAccountId?: string },
): Promise<RunningApi> {
  return startApi({
    client: t.stack.client,
    projectDir: t.projectDir,
    workspace: t.workspace,
    temporal: t.stack.temporal,
    token: options.token,
    workspaceSecret: options.workspaceSecret,
    ...(options.cloudAccountId !== undefined ? { cloudAccountId: options.cloudAccountId } : {}),
    host: '127.0.0.1',
    port: options.port ?? (await freePort()),
  });
}
