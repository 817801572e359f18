/**
 * Spawns, kills (SIGKILL) and restarts the product's worker in a child
 * process (test/helpers/workerProcess.ts), so a test can crash it mid-activity.
 * The child runs in its own process group under the same watchdog as the
 * servers, so it never outlives the test process.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TemporalConfig, WorkspaceConfig } from '../../src/config';
import { spawnManaged, type ManagedProcess } from '../../src/local/processes';
import { repoRoot } from '../../src/local/tools';
import { workflowBundle } from './stack';
import type { ChildWorkerConfig } from './workerProcess';

export interface ChildWorker {
  /** The running child, if any. */
  readonly process: ManagedProcess | undefined;
  /** Log file of every child started (appended). */
  readonly logFile: string;
  /** Temp folder of the child (TMPDIR): its downloads land here. */
  readonly tmpDir: string;
  start(): Promise<void>;
  /** SIGKILLs the child (no shutdown, no cleanup), and waits until it is gone. */
  kill(): Promise<void>;
  /** Graceful stop (SIGTERM: the worker shuts down and closes DuckDB). */
  stop(): Promise<void>;
  /** Everything the children wrote to stdout/stderr so far. */
  output(): string;
}

export async function childWorker(options: {
  dir: string;
  projectDir: string;
  temporal: () => TemporalConfig;
  workspace: WorkspaceConfig;
  env?: Record<string, string>;
}): Promise<ChildWorker> {
  const bundleFile = join(options.dir, 'workflow-bundle.json');
  if (!existsSync(bundleFile)) writeFileSync(bundleFile, JSON.stringify(await workflowBundle()));
  const logFile = join(options.dir, 'child-worker.log');
  const tmpDir = join(options.dir, 'worker-tmp');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(tmpDir, { recursive: true });
  let current: ManagedProcess | undefined;
  let starts = 0;
  const output = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const api: ChildWorker = {
    get process() {
      return current;
    },
    logFile,
    tmpDir,
    async start() {
      if (current) throw new Error('child worker already running');
      const configFile = join(options.dir, 'child-worker.json');
      const config: ChildWorkerConfig = {
        projectDir: options.projectDir,
        temporal: options.temporal(),
        workspace: options.workspace,
        bundleFile,
      };
      writeFileSync(configFile, JSON.stringify(config));
      starts++;
      const readyMarks = (output().match(/^ready pid=/gm) ?? []).length;
      const proc = spawnManaged(
        'worker',
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'test', 'helpers', 'workerProcess.ts')],
        {
          cwd: repoRoot,
          logFile,
          env: { ...process.env, TMPDIR: tmpDir, S3C_TEST_WORKER_CONFIG: configFile, ...options.env },
        },
      );
      current = proc;
      let exited: string | undefined;
      void proc.exited.then((how) => (exited = how));
      const deadline = Date.now() + 90_000;
      while ((output().match(/^ready pid=/gm) ?? []).length <= readyMarks) {
        if (exited !== undefined)
          throw new Error(
            `child worker #${starts} exited (${exited}) before ready; see ${logFile}:\n${output().slice(-3000)}`,
          );
        if (Date.now() > deadline) throw new Error(`child worker #${starts} not ready after 90s; see ${logFile}`);
        await sleep(100);
      }
    },
    async kill() {
      const proc = current;
      if (!proc) return;
      current = undefined;
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await proc.exited;
      await proc.stop();
    },
    async stop() {
      const proc = current;
      if (!proc) return;
      current = undefined;
      await proc.stop();
    },
    output,
  };
  return api;
}
