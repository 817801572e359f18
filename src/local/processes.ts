/**
 * Starting and stopping the local servers: the Temporal dev server and MinIO.
 *
 * Every server binds to 127.0.0.1 on a free port, and is watched by a small
 * watchdog process that kills it when its parent (us) is gone, so a test run
 * that crashes or is SIGKILLed never leaves a server behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { toolPath } from './tools';

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** A server process we started; `stop()` is idempotent. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
  /** Resolves when the process exits, with its exit code or signal. */
  readonly exited: Promise<string>;
}

const running = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const proc of running) {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/**
 * Spawns `command` in its own process group with output to `logFile`, plus a
 * watchdog that kills the group when this process dies.
 */
export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; logFile: string; cwd?: string },
): ManagedProcess {
  installExitHook();
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${name} (${command})`);
  const exited = new Promise<string>((resolveExit) => {
    child.on('exit', (code, signal) => resolveExit(signal ?? String(code)));
    child.on('error', (err) => resolveExit(`error: ${err.message}`));
  });
  // The watchdog outlives us only long enough to notice that we are gone.
  const watchdog = spawn(
    '/bin/sh',
    ['-c', 'while kill -0 "$0" 2>/dev/null; do sleep 1; done; kill -s KILL -- "-$1" 2>/dev/null', String(process.pid), String(pid)],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  let stopping: Promise<void> | undefined;
  const proc: ManagedProcess = {
    name,
    pid,
    logFile: options.logFile,
    exited,
    stop() {
      stopping ??= (async () => {
        try {
          process.kill(-pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
        if (!done) {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
          await exited;
        }
        try {
          if (watchdog.pid) process.kill(watchdog.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        running.delete(proc);
        log.end();
      })();
      return stopping;
    },
  };
  running.add(proc);
  return proc;
}

/** Polls `check` until it returns true, or throws naming `what` and the log. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  proc: ManagedProcess,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: string | undefined;
  void proc.exited.then((how) => (exitedWith = how));
  while (Date.now() < deadline) {
    if (exitedWith !== undefined) throw new Error(`${what}: process exited (${exitedWith}); see ${proc.logFile}`);
    try {
      if (await check()) return;
    } catch {
      /* not ready yet */
    }
    await sleep(200);
  }
  throw new Error(`${what}: not ready after ${timeoutMs / 1000}s; see ${proc.logFile}`);
}

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
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  const namespace = options.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort)];
  args.push('--namespace', namespace, '--log-level', 'warn');
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  const proc = spawnManaged('temporal', toolPath('temporal'), args, {
    logFile: join(options.stateDir, 'temporal.log'),
  });
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;
  await waitUntil('Temporal dev server', async () => (await fetch(`${uiUrl}/api/v1/namespaces`)).ok, proc, 90_000);
  return Object.assign(proc, { address, uiUrl, namespace, stop: proc.stop, exited: proc.exited });
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
  const port = options.port ?? (await freePort());
  const consolePort = await freePort();
  const accessKey = options.accessKey ?? 'minioadmin';
  const secretKey = options.secretKey ?? 'minioadmin-secret';
  const proc = spawnManaged(
    'minio',
    toolPath('minio'),
    ['server', options.dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
    {
      logFile: join(options.stateDir, 'minio.log'),
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
  await waitUntil('MinIO', async () => (await fetch(`${endpoint}/minio/health/ready`)).ok, proc, 60_000);
  return Object.assign(proc, { endpoint, accessKey, secretKey, port, dataDir: options.dataDir, stop: proc.stop, exited: proc.exited });
}
