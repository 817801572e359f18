/**
 * Starting and stopping the local servers: the Temporal dev server and MinIO.
 *
 * Every server binds to 127.0.0.1 on a free port, and is watched by a small
 * watchdog process that kills it when its parent (us) is gone, so a test run
 * that crashes or is SIGKILLed never leaves a server behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { toolPath } from './tools';

/**
 * Asks the kernel for a free TCP port on 127.0.0.1.
 *
 * The port is left in TIME_WAIT (we connect to it and close the accepted side
 * first), so the kernel does not hand it to another `bind(0)` for a minute,
 * while the server we start next, which sets SO_REUSEADDR as Go and Node
 * servers do, can still bind it. A port may still be taken in between; the
 * servers below then start again on fresh ports.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.unref();
  const accepted = new Promise<Socket>((resolveSocket) => server.once('connection', resolveSocket));
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolveListen);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const client = connect(port, '127.0.0.1');
  client.on('error', () => {});
  const serverSide = await accepted;
  serverSide.on('error', () => {});
  // The side that closes first keeps the TIME_WAIT: the listening port's side.
  await new Promise<void>((resolveEnd) => {
    client.once('close', () => resolveEnd());
    serverSide.end();
  });
  client.destroy();
  serverSide.destroy();
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  return port;
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
  // A server's log may quote its configuration: its owner's only.
  const log = createWriteStream(options.logFile, { flags: 'a', mode: 0o600 });
  const child: ChildProcess = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const outputDone = Promise.all(
    [child.stdout, child.stderr].map((stream) => (stream ? new Promise((resolveEnd) => stream.once('close', resolveEnd)) : undefined)),
  );
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
        const done = await Promise.race([exited.then(() => true), sleep(10_000, false, { ref: false })]);
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
        // Its last words (a bind error, say) may still be in the pipes.
        await Promise.race([outputDone, sleep(1000, undefined, { ref: false })]);
        await new Promise<void>((resolveLog) => log.end(resolveLog));
      })();
      return stopping;
    },
  };
  running.add(proc);
  return proc;
}

/** What `logFile` gained since byte `from` (empty if it cannot be read). */
function logSince(logFile: string, from: number): string {
  try {
    return readFileSync(logFile).subarray(from).toString('utf8');
  } catch {
    return '';
  }
}

function logSize(logFile: string): number {
  try {
    return statSync(logFile).size;
  } catch {
    return 0;
  }
}

/** The last `lines` non-empty lines of `text`, indented, for an error message. */
function tail(text: string, lines = 12): string {
  const last = text.split('\n').filter((l) => l.trim() !== '').slice(-lines);
  return last.length ? `\n${last.map((l) => `    ${l}`).join('\n')}` : '';
}

/**
 * Polls `check` until it returns true, or throws naming `what`, how the
 * process ended, and the last lines it logged since `logFrom`.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  proc: ManagedProcess,
  timeoutMs = 60_000,
  logFrom = 0,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: string | undefined;
  void proc.exited.then((how) => (exitedWith = how));
  while (Date.now() < deadline) {
    if (exitedWith !== undefined) {
      throw new Error(`${what}: process exited (${exitedWith}); see ${proc.logFile}${tail(logSince(proc.logFile, logFrom))}`);
    }
    try {
      if (await check()) return;
    } catch {
      /* not ready yet */
    }
    await sleep(200);
  }
  throw new Error(`${what}: not ready after ${timeoutMs / 1000}s; see ${proc.logFile}${tail(logSince(proc.logFile, logFrom))}`);
}

/** A readiness probe that hangs (something else holds the port and never answers) counts as not ready. */
const READY_PROBE_MS = 2000;

/** Whether `url` answers 2xx within READY_PROBE_MS. */
async function answersOk(url: string): Promise<boolean> {
  return (await fetch(url, { signal: AbortSignal.timeout(READY_PROBE_MS) })).ok;
}
const PORT_TAKEN = /address already in use|port is already in use/i;
const START_ATTEMPTS = 3;

/**
 * Starts a server with `launch` until it is ready. When the server could not
 * bind a port that we had probed free (something took it in between), and no
 * caller fixed the ports, it is started again on fresh ones.
 */
export async function startOnFreePorts<T extends ManagedProcess>(
  what: string,
  logFile: string,
  fixedPorts: boolean,
  timeoutMs: number,
  launch: () => Promise<{ proc: ManagedProcess; ready: () => Promise<boolean>; server: (proc: ManagedProcess) => T }>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const logFrom = logSize(logFile);
    const { proc, ready, server } = await launch();
    try {
      await waitUntil(what, ready, proc, timeoutMs, logFrom);
      return server(proc);
    } catch (err) {
      await proc.stop();
      const portTaken = PORT_TAKEN.test(logSince(logFile, logFrom));
      if (fixedPorts || !portTaken || attempt >= START_ATTEMPTS) throw err;
    }
  }
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
      ['server', options.dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
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
        !exited && (await answersOk(`${endpoint}/minio/health/ready`)) && listensOn(proc.pid, port) && (await acceptsKeys(endpoint, accessKey, secretKey)),
      server: (p) => Object.assign(p, { endpoint, accessKey, secretKey, port, dataDir: options.dataDir, stop: p.stop, exited: p.exited }),
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
  const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey }, maxAttempts: 1 });
  try {
    await s3.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(READY_PROBE_MS) });
    return true;
  } catch {
    return false;
  } finally {
    s3.destroy();
  }
}
