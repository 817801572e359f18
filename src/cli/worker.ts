/**
 * `s3c worker`: a worker against the Temporal server of temporal.yaml, until
 * SIGINT/SIGTERM. It owns the DuckDB file, so run one per database file.
 */
import { loadTemporalConfig, loadWorkspaceConfig } from '../config';
import { connectWorker } from '../client/temporal';
import { privateStateDir, privateUmask } from '../local/privateState';
import { installRuntime, startWorker } from '../worker';

export async function runWorkerCommand(projectDir: string): Promise<void> {
  const temporal = loadTemporalConfig(projectDir);
  const workspace = loadWorkspaceConfig(projectDir);
  // The warehouse and its WAL may hold what the files held: the owner's only, in a private .s3c.
  privateUmask();
  privateStateDir(projectDir);
  installRuntime();
  const connection = await connectWorker(temporal);
  const worker = await startWorker({ projectDir, temporal, workspace, connection, useAwsCredentials: true });
  console.log(
    `Worker running: ${temporal.temporal.address} namespace ${temporal.temporal.namespace}, ` +
      `task queues ${temporal.taskQueues.control} and ${temporal.taskQueues.ingest}, DuckDB ${workspace.duckdbPath}`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await worker.shutdown();
  await connection.close();
}
