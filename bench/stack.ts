/**
 * The bench's stack: MinIO on bench/data/minio (kept between runs, so the
 * objects are uploaded once), a Temporal dev server and the worker in this
 * process (or, for the DuckLake destination, worker processes and PostgreSQL),
 * and the CLI run as a user runs it.
 */
import { execFile } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { loadTemporalConfig, loadWorkspaceConfig, type WorkspaceConfig } from '../src/config';
import { waitForState } from '../src/client/dataSources';
import { repoRoot } from '../src/local/tools';
import { minioS3Client, startLocalStack, type LocalStack } from '../src/local/stack';
import { startMinio, type MinioServer } from '../src/local/processes';
import type { PostgresServer } from '../src/local/postgres';
import { defaultSecretsFile, SecretStore } from '../src/datafiles';
import { childWorker, type ChildWorker } from '../test/helpers/childWorker';
import { inChildProcess, type LakeConfig as TestLakeConfig } from '../test/helpers/lake';
import type { DataSourceState } from '../src/contract';
import { cliEnv, storeMinioSecrets, workflowBundle } from '../test/helpers/stack';
import { BUCKET, dataRoot, log, POLL_MS } from './common';

export interface BenchStack {
  stack: LocalStack;
  minio: MinioServer;
  s3: S3Client;
  workspace: WorkspaceConfig;
  /** With a lake: where it is (holds secrets: never print it). */
  lake?: BenchLake;
  write(name: string, text: string): void;
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  waitForState(name: string, predicate: (s: DataSourceState) => boolean, timeoutMs: number): Promise<DataSourceState>;
  /** Process ids of the workers that ingest (this process, or the lake's worker processes). */
  workerPids(): number[];
  /** Runs SQL on the destination (the worker's DuckDB file, or the lake from this process). */
  destinationSql(sql: string): Promise<void>;
  stop(): Promise<void>;
}

/** The lake of a bench stack: its catalog and data path, and the worker processes that load into it. */
export interface BenchLake {
  config: TestLakeConfig;
  /** Runs `n` worker processes (started or stopped to that count), each a fresh process. */
  setWorkers(n: number): Promise<void>;
}

function projectFolders(): { root: string; projectDir: string } {
  const root = mkdtempSync(join(tmpdir(), 's3c-bench-'));
  const projectDir = join(root, 'project');
  mkdirSync(projectDir, { recursive: true });
  return { root, projectDir };
}

/** The lake's settings: catalog URL and MinIO's keys by secret name, from the project's secret store. */
function lakeWorkspace(base: WorkspaceConfig, projectDir: string, minio: MinioServer, pg: PostgresServer) {
  new SecretStore(defaultSecretsFile(projectDir)).set('BENCH_LAKE_URL', pg.url);
  const lake = {
    catalog: 'BENCH_LAKE_URL',
    dataPath: 's3://lake/data/',
    s3: {
      endpoint: minio.endpoint,
      region: 'us-east-1',
      accessKeyId: 'TEST_S3_ACCESS_KEY',
      secretAccessKey: 'TEST_S3_SECRET',
    },
  };
  return { ...base, destination: 'ducklake' as const, lake };
}

/** Worker processes on the lake (test/helpers/childWorker.ts), each started fresh, so its peak RSS is its own. */
class LakeWorkers {
  readonly running: ChildWorker[] = [];
  constructor(
    private readonly root: string,
    private readonly projectDir: string,
    private readonly stack: LocalStack,
    private readonly workspace: WorkspaceConfig,
  ) {}

  async set(n: number): Promise<void> {
    while (this.running.length > 0) await this.running.pop()!.stop();
    for (let k = 0; k < n; k++) {
      const dir = join(this.root, `worker-${k + 1}`);
      mkdirSync(dir, { recursive: true });
      const { projectDir, stack, workspace } = this;
      this.running.push(await childWorker({ dir, projectDir, temporal: () => stack.temporal, workspace }));
    }
    await Promise.all(this.running.map((w) => w.start()));
  }
}

/**
 * MinIO on bench/data/minio (kept between runs), Temporal, and the worker in
 * this process; with `lake`, PostgreSQL too and the workers in processes of
 * their own loading into a DuckLake (bucket `lake` of the same MinIO).
 */
export async function startBenchStack(options: { lake?: boolean } = {}): Promise<BenchStack> {
  const { root, projectDir } = projectFolders();
  const minio = await startMinio({ dataDir: join(dataRoot, 'minio'), stateDir: root });
  storeMinioSecrets(projectDir, minio);
  let workspace: WorkspaceConfig = {
    ...loadWorkspaceConfig(projectDir, {}),
    pollIntervalSeconds: 2,
    filesPerMinute: 0,
    plan: 'paid',
    duckdbPath: join(root, 'warehouse.duckdb'),
  };
  const stack = await startLocalStack({
    projectDir,
    stateDir: join(root, 'temporal'),
    temporal: loadTemporalConfig(projectDir, {}),
    workspace,
    workflowBundle: await workflowBundle(),
    postgres: options.lake === true,
    worker: options.lake !== true,
  });
  const s3 = minioS3Client(minio);
  let lake: (BenchLake & { workers: ChildWorker[] }) | undefined;
  if (stack.postgres) {
    await s3.send(new CreateBucketCommand({ Bucket: 'lake' })).catch(() => undefined);
    workspace = lakeWorkspace(workspace, projectDir, minio, stack.postgres);
    const workers = new LakeWorkers(root, projectDir, stack, workspace);
    const { port, user, password, database } = stack.postgres;
    lake = {
      config: {
        postgres: { port, user, password, database },
        s3: { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey },
        dataPath: 's3://lake/data/',
      },
      setWorkers: (n) => workers.set(n),
      workers: workers.running,
    };
  }
  const env = { ...cliEnv(stack.temporal.temporal.address, workspace), S3C_PLAN: 'paid' };
  return {
    stack,
    minio,
    s3,
    workspace,
    lake,
    write: (name, text) => writeFileSync(join(projectDir, name), text),
    cli: (args) => runCli(projectDir, env, args),
    async waitForState(name, predicate, timeoutMs) {
      return waitForState(stack.client, workspace.workspace, name, predicate, { timeoutMs, intervalMs: POLL_MS });
    },
    workerPids: () => (lake ? lake.workers.map((w) => w.process!.pid) : [process.pid]),
    async destinationSql(sql) {
      if (lake) await inChildProcess(lake.config, [sql]);
      else await stack.worker!.sink.query(sql);
    },
    async stop() {
      s3.destroy();
      if (lake) await lake.setWorkers(0);
      await stack.stop();
      await minio.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The s3c CLI in the project folder, as a user runs it. */
function runCli(
  projectDir: string,
  env: NodeJS.ProcessEnv,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(repoRoot, 'bin', 's3c.js'), ...args],
      { cwd: projectDir, env, timeout: 600_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

// ------------------------------------------------------------------ objects

export async function exists(s3: S3Client, key: string, size?: number): Promise<boolean> {
  try {
    const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return size === undefined || h.ContentLength === size;
  } catch {
    return false;
  }
}

export async function uploadFile(s3: S3Client, key: string, path: string): Promise<void> {
  const size = statSync(path).size;
  if (await exists(s3, key, size)) return;
  log(`uploading ${key} (${(size / 1e6).toFixed(0)} MB)`);
  await new Upload({
    client: s3,
    params: { Bucket: BUCKET, Key: key, Body: createReadStream(path) },
    partSize: 16 * 1024 * 1024,
    queueSize: 4,
  }).done();
}
