/**
 * Entry of a worker in a child process, for the fault tests that SIGKILL it.
 *
 * Reads its settings from the JSON file named by `S3C_TEST_WORKER_CONFIG`
 * (project folder, Temporal config, workspace config, workflow bundle file),
 * starts the product's worker with `startWorker` (src/worker.ts), prints
 * `ready`, and shuts down cleanly on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TemporalConfig, WorkspaceConfig } from '../../src/config';
import { connectWorker } from '../../src/client/temporal';
import { installRuntime, startWorker } from '../../src/worker';

export interface ChildWorkerConfig {
  projectDir: string;
  temporal: TemporalConfig;
  workspace: WorkspaceConfig;
  /** A JSON file holding the prebuilt workflow bundle ({ code, sourceMap }). */
  bundleFile: string;
}

const configFile = process.env.S3C_TEST_WORKER_CONFIG;
if (!configFile) throw new Error('S3C_TEST_WORKER_CONFIG is not set');
const config = JSON.parse(readFileSync(configFile, 'utf8')) as ChildWorkerConfig;
const workflowBundle = JSON.parse(readFileSync(config.bundleFile, 'utf8')) as WorkflowBundleWithSourceMap;

installRuntime();
const connection = await connectWorker(config.temporal);
const worker = await startWorker({
  projectDir: config.projectDir,
  temporal: config.temporal,
  workspace: config.workspace,
  connection,
  workflowBundle,
});
process.stdout.write(`ready pid=${process.pid}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void worker
    .shutdown()
    .then(() => connection.close())
    .finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
worker.done.catch((err: unknown) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
