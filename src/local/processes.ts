/**
 * Starting and stopping the local servers: the Temporal dev server and MinIO.
 *
 * Every server binds to 127.0.0.1 on a free port, and is a managed process
 * (./managedProcess.ts): watched, so that it never outlives us.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import {
  type ManagedProcess,
  READY_PROBE_MS,
  answersOk,
  freePort,
  spawnManaged,
  startOnFreePorts,
} from './managedProcess';
import { toolPath } from './tools';

// Re-exported: tests, the bench and the local stack import them from here.
export { type ManagedProcess, freePort, spawnManaged, startOnFreePorts, waitUntil } from './managedProcess';

/** Search attributes the data source workflows carry (R8.3). */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword'> = {
  S3cDataSource: 'Keyword',
  S3cBucket: 'Keyword',
  S3cSchedule: 'Keyword',
  S3cJobKind: 'Keyword',
};

export interface TemporalDevServer extends ManagedProcess {
  /** gRPC address, host:port. */
  readonly address: string;
  /** Web UI URL. */
  readonly uiUrl: string;
  readonly namespace: string;
}

/**
 * Starts `temporal server start-dev` on loopback, with the Web UI, our search
 * attributes registered, and SQLite persistence when `dbFile` is given.
 */
export async function startTemporalDevServer(options: {
  stateDir: string;
  dbFile?: string;
  port?: number;
  uiPort?: number;
  namespace?: string;
}): Promise<TemporalDevServer> {
  mkdirSync(options.stateDir, { recursive: true });
  const namespace = options.namespace ?? 'default';
  const logFile = join(options.stateDir, 'temporal.log');
  const fixedPorts = options.port !== undefined || options.uiPort !== undefined;
  return startOnFreePorts('Temporal dev server', logFile, fixedPorts, 90_000, async () => {
    const port = options.port ?? (await freePort());
    const uiPort = options.uiPort ?? (await freePort());
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort)];
    args.push('--namespace', namespace, '--log-level', 'warn');
    if (options.dbFile) args.push('--db-filename', options.dbFile);
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
    const proc = spawnManaged('temporal', toolPath('temporal'), args, { logFile });
    const address = `127.0.0.1:${port}`;
    const uiUrl = `http://127.0.0.1:${uiPort}`;
    return {
      proc,
      ready: () => answersOk(`${uiUrl}/api/v1/namespaces`),
      server: (p) => {
        if (options.dbFile) narrowToOwner([options.dbFile, `${options.dbFile}-wal`, `${options.dbFile}-shm`]);
        return Object.assign(p, { address, uiUrl, namespace, stop: p.stop, exited: p.exited });
      },
    };
  });
}

/**
 * Makes `files` (those that exist) 0600: Temporal's history holds every
 * payload, and a caller's umask may be wide. SQLite gives its WAL files the
 * database's mode when it creates them later.
 */
function narrowToOwner(files: string[]): void {
  for (const file of files) {
    try {
      chmodSync(file, 0o600);
    } catch {
      /* not created (yet) */
    }
  }
}

export interface MinioServer extends ManagedProcess {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly port: number;
  readonly dataDir: string;
}

/** Starts MinIO on loopback with `dataDir` as its storage. */
export async function startMinio(options: {
  dataDir: string;
  stateDir: string;
  port?: number;
  accessKey?: string;
  secretKey?: string;
  env?: Record<string, string>;
}): Promise<MinioServer> {
  mkdirSync(options.dataDir, { recursive: true });
  mkdirSync(options.stateDir, { recursive: true });
  const accessKey = options.accessKey ?? 'minioadmin';
  const secretKey = options.secretKey ?? 'minioadmin-secret';
  const logFile = join(options.stateDir, 'minio.log');
  return startOnFreePorts('MinIO', logFile, options.port !== undefined, 60_000, async () => {
    const port = options.port ?? (await freePort());
    const consolePort = await freePort();
    const proc = spawnManaged(
      'minio',
      toolPath('minio'),
      [
        'server',
        options.dataDir,
        '--address',
        `127.0.0.1:${port}`,
        '--console-address',
        `127.0.0.1:${consolePort}`,
        '--quiet',
      ],
      {
        logFile,
        env: {
          ...process.env,
          MINIO_ROOT_USER: accessKey,
          MINIO_ROOT_PASSWORD: secretKey,
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
          ...options.env,
        },
      },
    );
    const endpoint = `http://127.0.0.1:${port}`;
    let exited = false;
    void proc.exited.then(() => (exited = true));
    return {
      proc,
      // Another MinIO on a fixed port answers the health check too (issue #18, item 9): ready means ours answers.
      ready: async () =>
        !exited &&
        (await answersOk(`${endpoint}/minio/health/ready`)) &&
        listensOn(proc.pid, port) &&
        (await acceptsKeys(endpoint, accessKey, secretKey)),
      server: (p) =>
        Object.assign(p, {
          endpoint,
          accessKey,
          secretKey,
          port,
          dataDir: options.dataDir,
          stop: p.stop,
          exited: p.exited,
        }),
    };
  });
}

/**
 * Whether the process `pid` holds the listening socket of `port` on
 * 127.0.0.1, read from /proc (Linux). Elsewhere there is no /proc: true, and
 * the child being alive plus {@link acceptsKeys} must do.
 */
export function listensOn(pid: number, port: number): boolean {
  if (!existsSync('/proc/net/tcp')) return true;
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // Field 1: local address, 3: state (0A = LISTEN), 9: the socket's inode.
    if (f[1] === local && f[3] === '0A' && f[9]) inodes.add(f[9]);
  }
  if (inodes.size === 0) return false;
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m !== null && inodes.has(m[1]!);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Whether the S3 endpoint takes `accessKey`/`secretKey` (a signed ListBuckets), so it is this project's MinIO. */
async function acceptsKeys(endpoint: string, accessKey: string, secretKey: string): Promise<boolean> {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    maxAttempts: 1,
  });
  try {
    await s3.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(READY_PROBE_MS) });
    return true;
  } catch {
    return false;
  } finally {
    s3.destroy();
  }
}
