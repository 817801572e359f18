/**
 * The worker: runs the data source and job workflows (control task queue)
 * and the activities that touch S3 and the destination (ingest task queue;
 * `s3c sql` queries and queue intakes each on a queue of their own).
 *
 * DuckDB allows one writing process per database file, so the worker that
 * owns the file runs every ingest activity (DESIGN "Destination").
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DefaultLogger,
  Runtime,
  Worker,
  type LogLevel,
  type NativeConnection,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { createActivities, type Activities } from './activities';
import { S3ClientCache } from './aws/credentials';
import { deriveExternalId, externalIdFingerprint, loadWorkspaceSecret } from './aws/externalId';
import { maxFileBytes, type TemporalConfig, type WorkspaceConfig } from './config';
import { sqlTaskQueue } from './contract/sql';
import { eventsTaskQueue } from './contract/queueIntake';
import { parseConnection, resolveSecrets, SecretStore, secretLookup, defaultSecretsFile } from './datafiles';
import type { ConnectionDef } from './datafiles/types';
import { readDeployment } from './deploy/store';
import type { Destination } from './sinks/destination';
import { openDestination } from './sinks/openDestination';
import { sweepOrphanedScratch } from './sinks/scratch';
import { workspaceSecretPath } from './util/stateLayout';

/** Whether this is the build in dist/ (scripts/build.ts), not src/ run by tsx: its files are JavaScript. */
const fromBuild = !import.meta.url.endsWith('.ts');
/** Path of the workflows module the worker bundles. */
export const workflowsPath = fileURLToPath(
  new URL(fromBuild ? './workflows/index.js' : './workflows/index.ts', import.meta.url),
);
/**
 * Path of the workflows' payload converter (see workflows/payloadConverter.ts):
 * give it to every bundle of `workflowsPath` and to the worker that runs it.
 * The worker require()s it: the build's copy is CommonJS.
 */
export const payloadConverterPath = fileURLToPath(
  new URL(fromBuild ? './workflows/payloadConverter.cjs' : './workflows/payloadConverter.ts', import.meta.url),
);

export interface WorkerOptions {
  projectDir: string;
  temporal: TemporalConfig;
  workspace: WorkspaceConfig;
  connection: NativeConnection;
  /** Pass the machine's AWS credentials to assume roles (`--use-aws-creds`). */
  useAwsCredentials?: boolean;
  /** A prebuilt workflow bundle (tests build it once). */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** An already open sink (shared with the API in `local start`). */
  sink?: Destination;
}

export interface RunningWorker {
  sink: Destination;
  /** Resolves when all its workers have stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Installs the Temporal runtime with a logger at `level` (default WARN, or
 * S3C_LOG_LEVEL), so the worker's routine messages do not drown the CLI's
 * output. Call before the first connection; later calls do nothing.
 */
export function installRuntime(level: LogLevel = (process.env.S3C_LOG_LEVEL as LogLevel | undefined) ?? 'WARN'): void {
  if (Runtime._instance) return;
  // Our workers split workflows and activities over two task queues on purpose.
  const expected = /^No (activities|workflows|Nexus services) registered/;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      if (expected.test(entry.message)) return;
      const meta = entry.meta && Object.keys(entry.meta).length > 0 ? ` ${JSON.stringify(entry.meta)}` : '';
      process.stderr.write(
        `${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level}] ${entry.message}${meta}\n`,
      );
    }),
  });
}

/**
 * Resolves deployed connections by name, secrets from the store and the
 * process environment; both the snapshot and the store of `environment`
 * (a named one, or the default when absent). With `externalId`, a role
 * connection deployed with another external id than this worker would send
 * fails with the reason (a worker on a machine with another workspace
 * secret), instead of an AccessDenied from AWS that does not say why.
 */
export function connectionResolver(
  projectDir: string,
  workspace: string,
  environment?: string,
  externalId?: (connectionName: string) => string,
): (name: string) => ConnectionDef {
  const store = new SecretStore(defaultSecretsFile(projectDir, environment));
  const lookup = secretLookup(store);
  return (name) => {
    const deployed = readDeployment(projectDir, workspace, environment).connections[name];
    if (!deployed) throw new Error(`connection ${name} is not deployed; run \`s3c deploy\``);
    const fingerprint = deployed.externalIdFingerprint;
    if (fingerprint !== undefined && externalId && externalIdFingerprint(externalId(name)) !== fingerprint) {
      throw new Error(
        `connection ${name}: this worker's workspace secret gives another external id than the one the connection was deployed with; ` +
          `run the worker with the workspace secret of the deploy (${workspaceSecretPath('.', environment)} or S3C_WORKSPACE_SECRET)`,
      );
    }
    return parseConnection(deployed.text, deployed.path, (raw, line) =>
      resolveSecrets(raw, lookup, { file: deployed.path, line }),
    );
  };
}

/** The activities on `sink`, with the S3 clients they assume roles with. */
function workerActivities(options: WorkerOptions, sink: Destination): { activities: Activities; s3: S3ClientCache } {
  const environment = options.workspace.environment;
  const secret = loadWorkspaceSecret(workspaceSecretPath(options.projectDir, environment));
  const externalId = (name: string): string => deriveExternalId(secret, options.workspace.workspace, name);
  const s3 = new S3ClientCache({
    externalId,
    // undefined: the SDK's default provider chain (env, AWS_PROFILE, SSO, IMDS).
    baseCredentials: options.useAwsCredentials === false ? noMachineCredentials : undefined,
  });
  const activities = createActivities({
    sink,
    s3,
    connection: connectionResolver(options.projectDir, options.workspace.workspace, environment, externalId),
    secrets: secretLookup(new SecretStore(defaultSecretsFile(options.projectDir, environment))),
    maxFileBytes: (format) => maxFileBytes(options.workspace, format),
    lookBackMs: options.workspace.lookBackSeconds * 1000,
    project: { dir: options.projectDir, workspace: options.workspace.workspace, environment },
  });
  return { activities, s3 };
}

/** Queue intakes one worker drains at once: one per connection that uses one, each mostly waiting on a long poll. */
const MAX_QUEUE_INTAKES = 64;

/** The workers: workflows (control queue), loads (ingest queue), `s3c sql` queries and queue intakes (queues of their own). */
async function createWorkers(
  options: WorkerOptions,
  activities: Activities,
): Promise<{ control: Worker; ingest: Worker; sql: Worker; events: Worker }> {
  const namespace = options.temporal.temporal.namespace;
  const control = await Worker.create({
    connection: options.connection,
    namespace,
    taskQueue: options.temporal.taskQueues.control,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
    // A signal whose payload cannot be decoded is refused by its handler, not a failed workflow task.
    dataConverter: { payloadConverterPath },
    maxConcurrentWorkflowTaskExecutions: options.temporal.worker.maxConcurrentWorkflowTaskExecutions,
  });
  const ingest = await Worker.create({
    connection: options.connection,
    namespace,
    taskQueue: options.temporal.taskQueues.ingest,
    activities,
    maxConcurrentActivityTaskExecutions: options.temporal.worker.maxConcurrentActivityTaskExecutions,
  });
  // Queries (`s3c sql`) on a queue of their own, a few at once: one never waits for a load's activity slot.
  const sql = await Worker.create({
    connection: options.connection,
    namespace,
    taskQueue: sqlTaskQueue(options.temporal.taskQueues.ingest),
    activities: { runSql: activities.runSql },
    maxConcurrentActivityTaskExecutions: 4,
  });
  // Queue intakes' long polls (drainQueue) likewise: they never take an ingest slot (docs/events-aws.md).
  const events = await Worker.create({
    connection: options.connection,
    namespace,
    taskQueue: eventsTaskQueue(options.temporal.taskQueues.ingest),
    activities: { drainQueue: activities.drainQueue },
    maxConcurrentActivityTaskExecutions: MAX_QUEUE_INTAKES,
  });
  return { control, ingest, sql, events };
}

const noMachineCredentials: AwsCredentialIdentityProvider = async () => {
  throw new Error(
    "no AWS credentials: start with --use-aws-creds to pass the machine's credentials (AWS_PROFILE is honoured)",
  );
};

/** Creates and runs the workers until `shutdown()`. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  // Downloads a crashed worker left behind (its scratch folder) would otherwise stay forever.
  const swept = sweepOrphanedScratch();
  if (swept.length > 0)
    process.stderr.write(`removed ${swept.length} scratch folder(s) of workers that are gone: ${swept.join(', ')}\n`);
  const environment = options.workspace.environment;
  // The DuckDB file, or the lake of `destination: ducklake` (its secrets from the project's store or the environment).
  const sink =
    options.sink ??
    (await openDestination(
      options.workspace,
      secretLookup(new SecretStore(defaultSecretsFile(options.projectDir, environment))),
    ));
  const { activities, s3 } = workerActivities(options, sink);
  const workers = Object.values(await createWorkers(options, activities));
  const done = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  let stopping: Promise<void> | undefined;
  return {
    sink,
    done,
    shutdown() {
      stopping ??= (async () => {
        for (const w of workers) w.shutdown();
        await done.catch(() => undefined);
        s3.destroy();
        if (!options.sink) await sink.close();
      })();
      return stopping;
    },
  };
}
