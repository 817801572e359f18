/**
 * Processes we start and must not leave behind: each in its own process
 * group, watched by a small watchdog process that kills the group when its
 * parent (us) is gone, so a test run that crashes or is SIGKILLed never
 * leaves a server behind. Also: free loopback ports, and waiting until a
 * server is ready (started again on fresh ports when a port was taken).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

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
    [child.stdout, child.stderr].map((stream) =>
      stream ? new Promise((resolveEnd) => stream.once('close', resolveEnd)) : undefined,
    ),
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${name} (${command})`);
  const exited = new Promise<string>((resolveExit) => {
    child.on('exit', (code, signal) => resolveExit(signal ?? String(code)));
    child.on('error', (err) => resolveExit(`error: ${err.message}`));
  });
  const watchdog = startWatchdog(pid);
  let stopping: Promise<void> | undefined;
  const proc: ManagedProcess = {
    name,
    pid,
    logFile: options.logFile,
    exited,
    stop() {
      stopping ??= stopGroup(pid, exited, watchdog).then(async () => {
        running.delete(proc);
        // Its last words (a bind error, say) may still be in the pipes.
        await Promise.race([outputDone, sleep(1000, undefined, { ref: false })]);
        await new Promise<void>((resolveLog) => log.end(resolveLog));
      });
      return stopping;
    },
  };
  running.add(proc);
  return proc;
}

/** The watchdog of group `pid`: it outlives us only long enough to notice that we are gone. */
function startWatchdog(pid: number): ChildProcess {
  const watchdog = spawn(
    '/bin/sh',
    [
      '-c',
      'while kill -0 "$0" 2>/dev/null; do sleep 1; done; kill -s KILL -- "-$1" 2>/dev/null',
      String(process.pid),
      String(pid),
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  return watchdog;
}

/** Sends `signal` to `pid` (a group when negative), if it is still there. */
function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/** SIGTERM to the group, SIGKILL after 10 s; then the watchdog goes too. */
async function stopGroup(pid: number, exited: Promise<string>, watchdog: ChildProcess): Promise<void> {
  killQuietly(-pid, 'SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(10_000, false, { ref: false })]);
  if (!done) {
    killQuietly(-pid, 'SIGKILL');
    await exited;
  }
  if (watchdog.pid) killQuietly(watchdog.pid, 'SIGKILL');
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
  const last = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-lines);
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
      throw new Error(
        `${what}: process exited (${exitedWith}); see ${proc.logFile}${tail(logSince(proc.logFile, logFrom))}`,
      );
    }
    try {
      if (await check()) return;
    } catch {
      /* not ready yet */
    }
    await sleep(200);
  }
  throw new Error(
    `${what}: not ready after ${timeoutMs / 1000}s; see ${proc.logFile}${tail(logSince(proc.logFile, logFrom))}`,
  );
}

/** A readiness probe that hangs (something else holds the port and never answers) counts as not ready. */
export const READY_PROBE_MS = 2000;

/** Whether `url` answers 2xx within READY_PROBE_MS. */
export async function answersOk(url: string): Promise<boolean> {
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
