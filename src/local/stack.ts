/**
 * The local stack: a Temporal dev server, optionally MinIO and PostgreSQL (the
 * DuckLake catalog), and a worker in this process. `s3c local start`, the demo and the integration tests all
 * start the product the same way, through this module.
 */
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import type { NativeConnection, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TemporalConfig, WorkspaceConfig } from '../config';
import { connectClient, connectWorker } from '../client/temporal';
import { installRuntime, startWorker, type RunningWorker } from '../worker';
import { startPostgres, type PostgresServer } from './postgres';
import { startMinio, startTemporalDevServer, type MinioServer, type TemporalDevServer } from './processes';

export interface LocalStackOptions {
  projectDir: string;
  /** Folder for server state and logs (SQLite file, MinIO data). */
  stateDir: string;
  temporal: TemporalConfig;
  workspace: WorkspaceConfig;
  /** Keep Temporal's history in a SQLite file (survives restarts). */
  persistent?: boolean;
  temporalPort?: number;
  uiPort?: number;
  /** Start MinIO too (local S3), on this port or a free one. */
  minio?: boolean | { port?: number; accessKey?: string; secretKey?: string; env?: Record<string, string> };
  /** Start PostgreSQL too (the DuckLake catalog), its cluster under `stateDir/postgres`, on this port or a free one. */
  postgres?: boolean | { port?: number; password?: string };
  useAwsCredentials?: boolean;
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** Start the worker (default true). */
  worker?: boolean;
}

export interface LocalStack {
  temporalServer: TemporalDevServer;
  minio?: MinioServer;
  postgres?: PostgresServer;
  client: Client;
  worker?: RunningWorker;
  workerConnection?: NativeConnection;
  /** The Temporal config pointing at the dev server. */
  temporal: TemporalConfig;
  stop(): Promise<void>;
}

/** Starts the stack; on failure, stops whatever had started. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  installRuntime();
  const started: { stop(): Promise<void> }[] = [];
  try {
    const { temporalServer, minio, postgres } = await startServers(options, started);
    const temporal: TemporalConfig = {
      ...options.temporal,
      temporal: { ...options.temporal.temporal, address: temporalServer.address, tls: false, apiKey: undefined },
    };
    const client = await connectClient(temporal);
    started.unshift({ stop: () => client.connection.close() });
    const { worker, workerConnection } =
      options.worker !== false ? await startLocalWorker(options, temporal, started) : {};
    let stopping: Promise<void> | undefined;
    return {
      temporalServer,
      minio,
      postgres,
      client,
      worker,
      workerConnection,
      temporal,
      stop() {
        stopping ??= stopAll(started);
        return stopping;
      },
    };
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

/** The Temporal dev server, and MinIO and PostgreSQL when asked, started side by side; each added to `started`. */
async function startServers(
  options: LocalStackOptions,
  started: { stop(): Promise<void> }[],
): Promise<{ temporalServer: TemporalDevServer; minio?: MinioServer; postgres?: PostgresServer }> {
  const minioOptions = options.minio === true ? {} : options.minio || undefined;
  const postgresOptions = options.postgres === true ? {} : options.postgres || undefined;
  const [temporalServer, minio, postgres] = await Promise.all([
    startTemporalDevServer({
      stateDir: options.stateDir,
      dbFile: options.persistent ? join(options.stateDir, 'temporal.db') : undefined,
      port: options.temporalPort,
      uiPort: options.uiPort,
      namespace: options.temporal.temporal.namespace,
    }),
    minioOptions
      ? startMinio({ dataDir: join(options.stateDir, 'minio'), stateDir: options.stateDir, ...minioOptions })
      : Promise.resolve(undefined),
    postgresOptions
      ? startPostgres({ dataDir: join(options.stateDir, 'postgres'), stateDir: options.stateDir, ...postgresOptions })
      : Promise.resolve(undefined),
  ]);
  started.push(temporalServer);
  if (minio) started.push(minio);
  if (postgres) started.push(postgres);
  return { temporalServer, minio, postgres };
}

/** The worker and its connection, stopped before the servers (added to the front of `started`). */
async function startLocalWorker(
  options: LocalStackOptions,
  temporal: TemporalConfig,
  started: { stop(): Promise<void> }[],
): Promise<{ worker: RunningWorker; workerConnection: NativeConnection }> {
  const workerConnection = await connectWorker(temporal);
  started.unshift({ stop: () => workerConnection.close() });
  const worker = await startWorker({
    projectDir: options.projectDir,
    temporal,
    workspace: options.workspace,
    connection: workerConnection,
    useAwsCredentials: options.useAwsCredentials,
    workflowBundle: options.workflowBundle,
  });
  started.unshift({ stop: () => worker.shutdown() });
  return { worker, workerConnection };
}

async function stopAll(items: { stop(): Promise<void> }[]): Promise<void> {
  for (const item of items) {
    try {
      await item.stop();
    } catch {
      /* keep stopping the rest */
    }
  }
}

/** An S3 client for a local MinIO (path-style, its root keys): for the demo, tests and benchmarks. */
export function minioS3Client(server: { endpoint: string; accessKey: string; secretKey: string }): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
  });
}
