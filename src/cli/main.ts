/**
 * `s3c`: the command line (R11). Run it from the folder that holds the
 * datafiles. Arguments are parsed with commander; prompts use
 * @inquirer/prompts. Exit codes are non-zero on failure.
 */
import { Command, Option } from 'commander';
import { confirm } from '@inquirer/prompts';
import { applyDeploy, planDeploy, type DeployChange } from '../client/deploy';
import { loadApiToken } from '../api/token';
import { limiterConfig } from '../config';
import {
  dataSourceState,
  deployedDataSources,
  jobReport,
  listedState,
  PausedError,
  rejectedSignalsLine,
  requestSyncUnlessPaused,
  setPaused,
  waitForSync,
} from '../client/dataSources';
import { lastTtlRun } from '../client/ttlSchedules';
import { schedulePlannedSync, unschedulePlannedSyncs } from '../client/syncSchedules';
import { readDeployment } from '../deploy/store';
import { formatBytes } from '../contract';
import { SUPPORTED_EXTENSIONS } from '../s3uri';
import { selectedEnvironment } from '../environment';
import { cliContext, type CliContext, type CliContextOptions } from './context';
import { localStart } from './local';
import type { Client } from '@temporalio/client';
import { latestJobId } from '../client/dataSources';
import { sampleTableName } from '../datafiles/reserved';
import { ProgressLine, progressText, showSyncProgress } from './progress';

/** An error whose message is the whole story: printed without a stack. */
export class CliError extends Error {
  readonly type = 'CliError';
}

/** The environment of this run (`--env`, else `S3C_ENV`); set by the program's preAction hook. */
let environment: string | undefined;

async function withContext<T>(fn: (ctx: CliContext) => Promise<T>, options: CliContextOptions = {}): Promise<T> {
  const ctx = cliContext(process.cwd(), { ...options, ...(environment !== undefined ? { environment } : {}) });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

const SYMBOL: Record<DeployChange['action'], string> = { create: '+', update: '~', remove: '-', unchanged: '=' };

/** `datasource sync NAME --at|--every|--unschedule`: planned syncs as Temporal Schedules (see client/syncSchedules.ts). */
async function planSyncCommand(ctx: CliContext, name: string, opts: { at?: string; every?: string; unschedule?: boolean }): Promise<void> {
  if ([opts.at !== undefined, opts.every !== undefined, opts.unschedule === true].filter(Boolean).length > 1) {
    throw new CliError('give one of --at, --every and --unschedule');
  }
  const client = await ctx.client();
  if (opts.unschedule) {
    const deleted = await unschedulePlannedSyncs(client, ctx.workspace.workspace, name);
    console.log(deleted.length === 0 ? `No planned syncs of ${name}.` : deleted.map((id) => `deleted schedule ${id}`).join('\n'));
    return;
  }
  // A planned sync of a data source without import would ask a workflow that does not exist.
  if (!readDeployment(ctx.projectDir, ctx.workspace.workspace, ctx.environment).dataSources[name]?.def.import) {
    throw new CliError(`data source ${name} has no IMPORT_* settings: there is nothing to sync`);
  }
  const plan = opts.at !== undefined ? { at: opts.at } : { every: opts.every! };
  try {
    console.log(await schedulePlannedSync(client, plan, { workspace: ctx.workspace.workspace, dataSource: name, controlTaskQueue: ctx.temporal.taskQueues.control }));
  } catch (err) {
    if (err instanceof Error && /^--(at|every) /.test(err.message)) throw new CliError(err.message);
    throw err;
  }
}

export function buildProgram(): Command {
  const program = new Command('s3c')
    .description('Loads CSV, NDJSON and Parquet files from S3 buckets into tables, durably, on Temporal')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) })
    .option('--env <name>', 'target environment: reads temporal.NAME.yaml and s3c.NAME.yaml, and keeps secrets and deployment state in .s3c/env/NAME (default: S3C_ENV, else the files of the folder)')
    .hook('preAction', () => {
      environment = selectedEnvironment(program.opts<{ env?: string }>().env);
    });

  program
    .command('deploy')
    .description('Deploy the datafiles of this folder: create tables and start, update or stop data source workflows')
    .option('--check', 'parse, resolve secrets, check bucket access and the deploy rules, print what would change; change nothing')
    .option('--new-external-ids', "accept external ids that differ from the deployed ones (after putting the new ones in the roles' trust policies)")
    .action(async (opts: { check?: boolean; newExternalIds?: boolean }) =>
      withContext(async (ctx) => {
        const plan = await planDeploy({
          projectDir: ctx.projectDir,
          workspace: ctx.workspace,
          temporal: ctx.temporal,
          lookup: ctx.lookup,
          s3: ctx.s3(),
          externalId: ctx.externalId,
          acceptNewExternalIds: opts.newExternalIds === true,
        });
        for (const check of plan.checks) console.log(`✓ ${check}`);
        for (const warning of plan.warnings) console.log(`! warning: ${warning}`);
        if (plan.errors.length > 0) {
          for (const error of plan.errors) console.error(`✗ ${error}`);
          throw new CliError(`deploy refused: ${plan.errors.length} problem(s); nothing was changed`);
        }
        for (const c of plan.changes) console.log(`${SYMBOL[c.action]} ${c.kind} ${c.name}: ${c.action}${c.detail ? ` (${c.detail})` : ''}`);
        if (opts.check) {
          console.log('Check passed; nothing was changed (run `s3c deploy` to apply).');
          return;
        }
        // The external ids just checked and recorded derive from this secret: keep it.
        ctx.saveWorkspaceSecret();
        const done = await applyDeploy(plan, await ctx.client(), {
          projectDir: ctx.projectDir,
          workspace: ctx.workspace,
          temporal: ctx.temporal,
          lookup: ctx.lookup,
          s3: ctx.s3(),
          apiToken: () => loadApiToken(ctx.projectDir, process.env, ctx.environment).token,
        });
        for (const line of done) console.log(line);
        console.log(done.length === 0 && plan.changes.every((c) => c.action === 'unchanged') ? 'No changes.' : 'Deployed.');
      }, { readOnly: true }),
    );

  const local = program.command('local').description('Run the product locally');
  local
    .command('start')
    .description('Start a local Temporal dev server (with Web UI) and the worker; Ctrl-C stops everything')
    .option('--use-aws-creds', "pass this machine's AWS credentials (default chain, AWS_PROFILE) to assume roles")
    .option('--minio', 'also start a local S3 (MinIO) with its data under .s3c/local/minio')
    .addOption(new Option('--minio-port <port>', 'port of the local MinIO (with --minio)').argParser(Number).default(9000))
    .addOption(new Option('--port <port>', 'Temporal gRPC port').argParser(Number).default(7233))
    .addOption(new Option('--ui-port <port>', 'Temporal Web UI port').argParser(Number).default(8233))
    .action(async (opts: { useAwsCreds?: boolean; minio?: boolean; minioPort: number; port: number; uiPort: number }) => {
      await localStart({ ...opts, projectDir: process.cwd(), ...(environment !== undefined ? { environment } : {}) });
    });

  program
    .command('worker')
    .description("Run a worker against the Temporal server of temporal.yaml (assumes roles with this machine's AWS credentials)")
    .action(async () => {
      const { runWorkerCommand } = await import('./worker');
      await runWorkerCommand(process.cwd(), environment);
    });

  program
    .command('api')
    .description("Run the HTTP API (jobs, sample imports, scheduling, policies, the S3 event endpoint) against temporal.yaml's Temporal until Ctrl-C")
    .option('--host <host>', 'address to listen on (default: api.host of s3c.yaml, 127.0.0.1)')
    .addOption(new Option('--port <port>', 'port to listen on (default: api.port of s3c.yaml, 7181)').argParser(Number))
    .action(async (opts: { host?: string; port?: number }) =>
      withContext(async (ctx) => {
        const { loadApiToken, startApi } = await import('../api');
        const token = loadApiToken(ctx.projectDir, process.env, ctx.environment);
        const client = await ctx.client();
        const api = await startApi({
          client,
          projectDir: ctx.projectDir,
          workspace: ctx.workspace,
          temporal: ctx.temporal,
          token: token.token,
          workspaceSecret: ctx.workspaceSecret(),
          cloudAccountId: ctx.workspace.cloudAccountId,
          host: opts.host ?? ctx.workspace.api.host,
          port: opts.port ?? ctx.workspace.api.port,
        });
        console.log(`API listening on ${api.url} (Temporal ${ctx.temporal.temporal.address}, namespace ${ctx.temporal.temporal.namespace})`);
        console.log(`Token: ${token.created ? 'created in' : 'from'} ${token.source}; send it as "Authorization: Bearer <token>" or ?token=<token>`);
        console.log(`S3 event endpoint: ${api.url}/v0/events/s3`);
        console.log('Ctrl-C stops.');
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        await api.close();
        console.log('API stopped.');
      }),
    );

  const connection = program.command('connection').description('Connections to S3');
  connection
    .command('create')
    .argument('<type>', 'connection type: s3')
    .description('Guided creation of a connection: prints the AWS policies, stores the role ARNs as secrets, writes the .connection file')
    .option('--name <name>', 'connection name (asked when omitted)')
    .action(async (type: string, opts: { name?: string }) =>
      withContext(async (ctx) => {
        if (type !== 's3') throw new CliError(`unknown connection type '${type}': expected s3`);
        const { connectionCreateS3, inquirerPrompts } = await import('./connectionCreate');
        const { input } = await import('@inquirer/prompts');
        const localAccountId = await callerAccountId();
        const cloudAccountId =
          ctx.workspace.cloudAccountId ??
          (await input({
            message: 'AWS account id of your production workers (for the Cloud trust policy; set cloudAccountId in s3c.yaml to skip):',
            validate: (v) => (/^\d{12}$/.test(v.trim()) ? true : 'expected 12 digits, e.g. 123456789012'),
          })).trim();
        const result = await connectionCreateS3({
          projectDir: ctx.projectDir,
          workspace: ctx.workspace.workspace,
          workspaceSecret: ctx.workspaceSecret(),
          ...(ctx.environment !== undefined ? { environment: ctx.environment } : {}),
          localAccountId,
          cloudAccountId,
          prompts: inquirerPrompts,
          out: (line) => console.log(line),
          name: opts.name,
        });
        console.log(`✓ Wrote ${result.path}`);
      }),
    );
  connection
    .command('ls')
    .description('List the connections of this folder (secrets masked)')
    .action(async () =>
      withContext(async (ctx) => {
        const { formatConnectionRows, listConnections } = await import('./connectionList');
        const rows = listConnections(ctx.projectDir, ctx.lookup);
        console.log(rows.length > 0 ? formatConnectionRows(rows).join('\n') : 'No connections. Run `s3c connection create s3`.');
      }),
    );

  const datasource = program.command('datasource').description('Data sources');
  datasource
    .command('create')
    .description('Guided creation of an S3 data source: lists the bucket, infers the schema from a sample file with DuckDB, writes the .datasource file')
    .option('--s3', 'read files from an S3 bucket (required: the only kind of data source for now)')
    .option('--name <name>', 'data source name (asked when omitted)')
    .option('--connection <name>', 'S3 connection to read the bucket with (asked when omitted)')
    .option('--uri <uri>', 'bucket URI, s3://bucket/pattern (asked when omitted)')
    .option('--schedule <schedule>', '@auto, @once, @on-demand or a cron expression (asked when omitted)')
    .option('--from-timestamp <ts>', 'IMPORT_FROM_TIMESTAMP, YYYY-MM-DDTHH:MM:SSZ (asked when any other value is asked)')
    .action(async (opts: { s3?: boolean; name?: string; connection?: string; uri?: string; schedule?: string; fromTimestamp?: string }) =>
      withContext(async (ctx) => {
        if (!opts.s3) throw new CliError('datasource create needs the kind of data source: pass --s3 (the only kind for now)');
        const missing = (['name', 'connection', 'uri', 'schedule'] as const).filter((k) => opts[k] === undefined);
        if (missing.length > 0 && !process.stdin.isTTY) {
          throw new CliError(`datasource create asks for ${missing.map((k) => `--${k}`).join(', ')}: run it in a terminal, or pass them`);
        }
        const { datasourceCreateS3 } = await import('./datasourceCreate');
        const { inquirerPrompts } = await import('./connectionCreate');
        await datasourceCreateS3({
          projectDir: ctx.projectDir,
          lookup: ctx.lookup,
          s3: ctx.s3(),
          prompts: inquirerPrompts,
          out: (line) => console.log(line),
          ...(opts.name !== undefined ? { name: opts.name } : {}),
          ...(opts.connection !== undefined ? { connection: opts.connection } : {}),
          ...(opts.uri !== undefined ? { uri: opts.uri } : {}),
          ...(opts.schedule !== undefined ? { schedule: opts.schedule } : {}),
          ...(opts.fromTimestamp !== undefined ? { fromTimestamp: opts.fromTimestamp } : {}),
        });
      }),
    );
  datasource
    .command('ls')
    .description('List deployed data sources with their state and row counts')
    .action(async () =>
      withContext(async (ctx) => {
        const names = deployedDataSources(ctx.projectDir, ctx.workspace.workspace, ctx.environment);
        if (names.length === 0) {
          console.log('No data sources deployed. Write a .datasource file and run `s3c deploy`.');
          return;
        }
        const client = await ctx.client();
        const rows = [['NAME', 'SCHEDULE', 'STATUS', 'FILES', 'FAILED', 'SKIPPED', 'ROWS', 'QUARANTINED', 'LAST SYNC', 'LAST ERROR']];
        const skipping: string[] = [];
        const notes: string[] = [];
        // Asked at once: a data source that does not answer takes the query's whole timeout.
        const listed = await Promise.all(names.map((name) => listedState(client, ctx.workspace.workspace, name, { withRetrying: true })));
        // ENGINE_TTL runs apart from the data source's workflow (data sources without IMPORT_* have one too).
        const ttlRuns = await Promise.all(names.map((name) => lastTtlRun(client, ctx.workspace.workspace, name).catch((err: unknown) => `unknown (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`)));
        for (const [i, name] of names.entries()) {
          // One data source that does not answer is marked; the others are still listed.
          const { state: s, error } = listed[i]!;
          if (s && s.counters.filesSkipped > 0) skipping.push(name);
          rows.push(
            s
              ? [name, s.schedule, s.status, String(s.counters.filesLoaded), String(s.counters.filesFailed), String(s.counters.filesSkipped),
                 String(s.counters.rows), String(s.counters.quarantined), s.lastSyncAt ?? '-', s.retrying ?? s.lastError ?? '']
              : error !== undefined
                ? [name, '-', 'not answering', '-', '-', '-', '-', '-', '-', error]
                : [name, '-', 'not running', '-', '-', '-', '-', '-', '-', ''],
          );
          const rejected = rejectedSignalsLine(s);
          if (rejected) notes.push(`${name}: ${rejected}`);
          if (ttlRuns[i] !== undefined) notes.push(`${name}: ENGINE_TTL: ${ttlRuns[i]}`);
          for (const warning of s?.warnings ?? []) notes.push(`${name}: ${warning}`);
        }
        console.log(table(rows));
        if (skipping.length > 0) {
          console.log(
            `\nSKIPPED: files the bucket URI matches whose extension tells no format (${SUPPORTED_EXTENSIONS.join(', ')}), ` +
              `in ${skipping.join(', ')}. Set IMPORT_FORMAT in the .datasource file to read them as csv, ndjson or parquet.`,
          );
        }
        if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
      }),
    );
  for (const [verb, paused] of [['pause', true], ['resume', false]] as const) {
    datasource
      .command(`${verb} <name>`)
      .description(paused ? 'Pause a data source: no sync runs until it is resumed' : 'Resume a paused data source')
      .action(async (name: string) =>
        withContext(async (ctx) => {
          const client = await ctx.client();
          await setPaused(client, ctx.workspace.workspace, name, paused);
          // The signal is processed by the workflow's next task: wait until its state shows it.
          for (let i = 0; i < 50; i++) {
            const state = await dataSourceState(client, ctx.workspace.workspace, name);
            if (state && state.paused === paused) {
              console.log(`Data source ${name} ${paused ? 'paused' : 'resumed'} (status: ${state.status}).`);
              return;
            }
            await new Promise((r) => setTimeout(r, 100));
          }
          throw new CliError(`data source ${name}: the ${verb} was sent but the workflow has not shown it yet`);
        }),
      );
  }
  datasource
    .command('sync <name>')
    .description('Sync now: load the files that landed since the last sync point (never twice)')
    .option('--yes', 'do not ask for confirmation')
    .option('--no-wait', 'return once the sync is requested')
    .option('--at <time>', 'instead of now: plan one sync at an ISO instant with offset (e.g. 2030-01-31T06:00:00Z), as a Temporal Schedule')
    .option('--every <cron>', 'instead of now: plan a sync on a 5-field cron expression (UTC), as a Temporal Schedule')
    .option('--unschedule', "delete the data source's planned syncs (--at, --every)")
    .action(async (name: string, opts: { yes?: boolean; wait: boolean; at?: string; every?: string; unschedule?: boolean }) =>
      withContext(async (ctx) => {
        if (!deployedDataSources(ctx.projectDir, ctx.workspace.workspace, ctx.environment).includes(name)) {
          throw new CliError(`data source ${name} is not deployed`);
        }
        if (opts.at !== undefined || opts.every !== undefined || opts.unschedule) {
          await planSyncCommand(ctx, name, opts);
          return;
        }
        if (!opts.yes) {
          if (!process.stdin.isTTY) throw new CliError('sync needs confirmation: run it in a terminal, or pass --yes');
          const ok = await confirm({ message: `Do you want to sync the data source ${name}?`, default: false });
          if (!ok) {
            console.log('Cancelled.');
            return;
          }
        }
        const client = await ctx.client();
        let before;
        try {
          before = await requestSyncUnlessPaused(client, ctx.workspace.workspace, name, { origin: 'cli' });
        } catch (err) {
          // The API's rule and message: nothing is queued while paused.
          if (err instanceof PausedError) throw new CliError(err.message);
          throw err;
        }
        if (!opts.wait) {
          console.log(`Sync of ${name} requested.`);
          return;
        }
        const progress = new ProgressLine();
        const after = await waitForSync(client, ctx.workspace.workspace, name, before, {
          onProgress: (state) => showSyncProgress(progress, client, state),
        });
        progress.end();
        const job = after.lastJobId ? await jobReport(client, after.lastJobId) : undefined;
        if (job) printJob(job);
      }),
    );

  datasource
    .command('sample <name>')
    .description('Import a sample of up to N matching files as a job, into the table NAME__sample (emptied first), never NAME; the sync point and ledger are not touched (R6.1)')
    .requiredOption('--max-files <n>', 'how many files at most, 1 to 10')
    .option('--wait', 'wait for the job to end and print its statistics')
    .action(async (name: string, opts: { maxFiles: string; wait?: boolean }) =>
      withContext(async (ctx) => {
        const maxFiles = Number(opts.maxFiles);
        if (!Number.isInteger(maxFiles) || maxFiles < 1 || maxFiles > 10) {
          throw new CliError(`--max-files: expected an integer from 1 to 10, found '${opts.maxFiles}'`);
        }
        if (!deployedDataSources(ctx.projectDir, ctx.workspace.workspace, ctx.environment).includes(name)) {
          throw new CliError(`data source ${name} is not deployed`);
        }
        const { startSampleJob } = await import('../client/dataSources');
        const client = await ctx.client();
        const jobId = await startSampleJob(client, {
          projectDir: ctx.projectDir,
          ...(ctx.environment !== undefined ? { environment: ctx.environment } : {}),
          workspace: ctx.workspace.workspace,
          dataSource: name,
          maxFiles,
          controlTaskQueue: ctx.temporal.taskQueues.control,
          ingestTaskQueue: ctx.temporal.taskQueues.ingest,
          limiter: limiterConfig(ctx.workspace),
        });
        console.log(
          `Sample job ${jobId} started (up to ${maxFiles} file${maxFiles === 1 ? '' : 's'} of ${name}) into table ${sampleTableName(name)}, ` +
            `emptied first; the table ${name} is not touched.`,
        );
        if (!opts.wait) {
          console.log(`Follow it with \`s3c job ${jobId}\`.`);
          return;
        }
        const progress = new ProgressLine();
        let report = await jobReport(client, jobId).catch(() => undefined);
        while (!report || !['done', 'error', 'cancelled'].includes(report.status)) {
          if (report) progress.update(progressText(report.statistics));
          await new Promise((r) => setTimeout(r, 500));
          report = await jobReport(client, jobId).catch(() => undefined);
        }
        progress.end();
        printJob(report);
        if (report.status !== 'done') throw new CliError(`sample job ${jobId} ended ${report.status}`);
      }),
    );

  program
    .command('job <id>')
    .description("Show a job (a sync run or a sample import) by its id, or a data source's latest job by the data source's name")
    .action(async (id: string) =>
      withContext(async (ctx) => {
        const client = await ctx.client();
        printJob(await jobReport(client, await jobIdOf(client, ctx.projectDir, ctx.workspace.workspace, id)));
      }),
    );

  const secret = program.command('secret').description('Secrets referenced as {{ tb_secret("NAME") }} in datafiles');
  secret
    .command('set <name> <value>')
    .description('Set a secret in the local store (.s3c/secrets.json, mode 0600)')
    .action(async (name: string, value: string) =>
      withContext(async (ctx) => {
        ctx.secrets.set(name, value);
        console.log(`Secret ${name} set${ctx.environment !== undefined ? ` (environment ${ctx.environment})` : ''}.`);
      }),
    );
  secret
    .command('ls')
    .description('List secret names (never values)')
    .action(async () =>
      withContext(async (ctx) => {
        const names = ctx.secrets.list();
        console.log(names.length > 0 ? names.join('\n') : 'No secrets.');
      }),
    );
  secret
    .command('rm <name>')
    .description('Remove a secret')
    .action(async (name: string) =>
      withContext(async (ctx) => {
        if (!ctx.secrets.remove(name)) throw new CliError(`secret ${name} does not exist`);
        console.log(`Secret ${name} removed.`);
      }),
    );

  return program;
}

/** Account id of this machine's AWS credentials, when there are any (for the Local trust policy). */
async function callerAccountId(): Promise<string | undefined> {
  try {
    const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
    const sts = new STSClient({ region: process.env.AWS_REGION ?? 'us-east-1', maxAttempts: 1 });
    const out = await Promise.race([
      sts.send(new GetCallerIdentityCommand({})),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 3000).unref()),
    ]);
    sts.destroy();
    return out?.Account;
  } catch {
    return undefined;
  }
}

/**
 * The job `s3c job` shows: a deployed data source's name stands for its
 * latest job; anything else is a job id (job ids hold a `-`, which data
 * source names cannot, so the two never collide).
 */
async function jobIdOf(client: Client, projectDir: string, workspace: string, idOrName: string): Promise<string> {
  if (!deployedDataSources(projectDir, workspace).includes(idOrName)) return idOrName;
  const latest = await latestJobId(client, workspace, idOrName);
  if (latest === undefined) throw new CliError(`data source ${idOrName} has no job yet: run \`s3c datasource sync ${idOrName}\` or \`s3c datasource sample ${idOrName} --max-files N\``);
  return latest;
}

function printJob(job: Awaited<ReturnType<typeof jobReport>>): void {
  const s = job.statistics;
  console.log(`Job ${job.id} (${job.kind}) ${job.status}`);
  console.log(`  data source: ${job.datasource}`);
  console.log(`  created ${job.created_at}, updated ${job.updated_at}`);
  console.log(
    `  files: ${s.found_files} found, ${s.files_done} done, ${s.files_failed} failed, ${s.files_skipped} skipped (unsupported extension)`,
  );
  console.log(`  rows: ${s.row_count} loaded, ${s.quarantined_rows} quarantined; ${formatBytes(s.bytes)}`);
  for (const w of job.warnings ?? []) console.log(`  warning: ${w}`);
  for (const e of job.errors) console.log(`  error: ${e.error}`);
  if (s.errors_omitted) console.log(`  ... and ${s.errors_omitted} more errors (GET /v0/jobs/${job.id}/errors)`);
  for (const r of job.retrying ?? []) console.log(`  ${r}`);
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`Error: ${message}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  await main();
}
