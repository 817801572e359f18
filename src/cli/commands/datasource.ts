/**
 * `s3c datasource create|ls|pause|resume|sync|sample`: data sources. Each
 * action imports what it uses when it runs (the Temporal client, the
 * deploy modules, prompts): `s3c --help` loads none of it.
 */
import type { Command } from 'commander';
import type { DataSourceState } from '../../contract';
import type { CliContext } from '../context';
import { CliError, type CliRun } from '../run';

export function register(program: Command, run: CliRun): void {
  const datasource = program.command('datasource').description('Data sources');
  registerCreate(datasource, run);
  datasource
    .command('ls')
    .description('List deployed data sources with their state and row counts')
    .action(async () => run.withContext(listDataSources));
  registerPauseResume(datasource, run);
  registerSync(datasource, run);
  registerSample(datasource, run);
}

interface CreateOptions {
  s3?: boolean;
  name?: string;
  connection?: string;
  uri?: string;
  schedule?: string;
  fromTimestamp?: string;
}

function registerCreate(datasource: Command, run: CliRun): void {
  datasource
    .command('create')
    .description(
      'Guided creation of an S3 data source: lists the bucket, infers the schema from a sample file with DuckDB, writes the .datasource file',
    )
    .option('--s3', 'read files from an S3 bucket (required: the only kind of data source for now)')
    .option('--name <name>', 'data source name (asked when omitted)')
    .option('--connection <name>', 'S3 connection to read the bucket with (asked when omitted)')
    .option('--uri <uri>', 'bucket URI, s3://bucket/pattern (asked when omitted)')
    .option('--schedule <schedule>', '@auto, @once, @on-demand or a cron expression (asked when omitted)')
    .option(
      '--from-timestamp <ts>',
      'IMPORT_FROM_TIMESTAMP, YYYY-MM-DDTHH:MM:SSZ (asked when any other value is asked)',
    )
    .action(async (opts: CreateOptions) => run.withContext((ctx) => createDataSource(ctx, opts)));
}

async function createDataSource(ctx: CliContext, opts: CreateOptions): Promise<void> {
  if (!opts.s3)
    throw new CliError('datasource create needs the kind of data source: pass --s3 (the only kind for now)');
  const missing = (['name', 'connection', 'uri', 'schedule'] as const).filter((k) => opts[k] === undefined);
  if (missing.length > 0 && !process.stdin.isTTY) {
    throw new CliError(
      `datasource create asks for ${missing.map((k) => `--${k}`).join(', ')}: run it in a terminal, or pass them`,
    );
  }
  const { datasourceCreateS3 } = await import('../datasourceCreate');
  const { inquirerPrompts } = await import('../connectionCreate');
  await datasourceCreateS3({
    projectDir: ctx.projectDir,
    lookup: ctx.lookup,
    s3: await ctx.s3(),
    prompts: inquirerPrompts,
    out: (line) => console.log(line),
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.connection !== undefined ? { connection: opts.connection } : {}),
    ...(opts.uri !== undefined ? { uri: opts.uri } : {}),
    ...(opts.schedule !== undefined ? { schedule: opts.schedule } : {}),
    ...(opts.fromTimestamp !== undefined ? { fromTimestamp: opts.fromTimestamp } : {}),
  });
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function listDataSources(ctx: CliContext): Promise<void> {
  const { deployedDataSources, listedState, rejectedSignalsLine } = await import('../../client/dataSources');
  const { lastTtlRun } = await import('../../deploy/ttlSchedules');
  const { SUPPORTED_EXTENSIONS } = await import('../../s3uri');
  const { queueEventLines } = await import('../../client/queueEvents');
  const { readDeployment } = await import('../../deploy/store');
  const names = deployedDataSources(ctx.projectDir, ctx.workspace.workspace, ctx.environment);
  if (names.length === 0) {
    console.log('No data sources deployed. Write a .datasource file and run `s3c deploy`.');
    return;
  }
  const client = await ctx.client();
  const rows = [
    ['NAME', 'SCHEDULE', 'STATUS', 'FILES', 'FAILED', 'SKIPPED', 'ROWS', 'QUARANTINED', 'LAST SYNC', 'LAST ERROR'],
  ];
  const skipping: string[] = [];
  const notes: string[] = [];
  // Asked at once: a data source that does not answer takes the query's whole timeout.
  const listed = await Promise.all(
    names.map((name) => listedState(client, ctx.workspace.workspace, name, { withRetrying: true })),
  );
  // ENGINE_TTL runs apart from the data source's workflow (data sources without IMPORT_* have one too).
  const ttlRuns = await Promise.all(
    names.map((name) =>
      lastTtlRun(client, ctx.workspace.workspace, name).catch(
        (err: unknown) => `unknown (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
      ),
    ),
  );
  const eventLines = await queueEventLines(
    client,
    ctx.workspace,
    readDeployment(ctx.projectDir, ctx.workspace.workspace, ctx.environment),
  );
  for (const [i, name] of names.entries()) {
    // One data source that does not answer is marked; the others are still listed.
    const { state: s, error } = listed[i]!;
    if (s && s.counters.filesSkipped > 0) skipping.push(name);
    rows.push(listRow(name, s, error));
    const rejected = rejectedSignalsLine(s);
    if (rejected) notes.push(`${name}: ${rejected}`);
    if (ttlRuns[i] !== undefined) notes.push(`${name}: ENGINE_TTL: ${ttlRuns[i]}`);
    for (const warning of s?.warnings ?? []) notes.push(`${name}: ${warning}`);
    const events = eventLines.get(name);
    if (events) notes.push(`${name}: ${events}`);
  }
  console.log(table(rows));
  if (skipping.length > 0) {
    console.log(
      `\nSKIPPED: files the bucket URI matches whose extension tells no format (${SUPPORTED_EXTENSIONS.join(', ')}), ` +
        `in ${skipping.join(', ')}. Set IMPORT_FORMAT in the .datasource file to read them as csv, ndjson or parquet.`,
    );
  }
  if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
}

/** One data source's row of `datasource ls`: its state, or that it does not answer or run. */
function listRow(name: string, s: DataSourceState | undefined, error: string | undefined): string[] {
  if (s) {
    const { filesLoaded, filesFailed, filesSkipped, rows, quarantined } = s.counters;
    return [
      name,
      s.schedule,
      s.status,
      String(filesLoaded),
      String(filesFailed),
      String(filesSkipped),
      String(rows),
      String(quarantined),
      s.lastSyncAt ?? '-',
      s.retrying ?? s.lastError ?? '',
    ];
  }
  if (error !== undefined) return [name, '-', 'not answering', '-', '-', '-', '-', '-', '-', error];
  return [name, '-', 'not running', '-', '-', '-', '-', '-', '-', ''];
}

function registerPauseResume(datasource: Command, run: CliRun): void {
  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    datasource
      .command(`${verb} <name>`)
      .description(paused ? 'Pause a data source: no sync runs until it is resumed' : 'Resume a paused data source')
      .action(async (name: string) =>
        run.withContext(async (ctx) => {
          const { dataSourceState, setPaused } = await import('../../client/dataSources');
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
}

interface SyncOptions {
  yes?: boolean;
  wait: boolean;
  at?: string;
  every?: string;
  unschedule?: boolean;
}

function registerSync(datasource: Command, run: CliRun): void {
  datasource
    .command('sync <name>')
    .description('Sync now: load the files that landed since the last sync point (never twice)')
    .option('--yes', 'do not ask for confirmation')
    .option('--no-wait', 'return once the sync is requested')
    .option(
      '--at <time>',
      'instead of now: plan one sync at an ISO instant with offset (e.g. 2030-01-31T06:00:00Z), as a Temporal Schedule',
    )
    .option('--every <cron>', 'instead of now: plan a sync on a 5-field cron expression (UTC), as a Temporal Schedule')
    .option('--unschedule', "delete the data source's planned syncs (--at, --every)")
    .action(async (name: string, opts: SyncOptions) => run.withContext((ctx) => syncDataSource(ctx, name, opts)));
}

async function syncDataSource(ctx: CliContext, name: string, opts: SyncOptions): Promise<void> {
  const { deployedDataSources, jobReport, PausedError, requestSyncUnlessPaused, waitForSync } =
    await import('../../client/dataSources');
  const { ProgressLine, showSyncProgress } = await import('../progress');
  const { printJob } = await import('./job');
  if (!deployedDataSources(ctx.projectDir, ctx.workspace.workspace, ctx.environment).includes(name)) {
    throw new CliError(`data source ${name} is not deployed`);
  }
  if (opts.at !== undefined || opts.every !== undefined || opts.unschedule) {
    await planSyncCommand(ctx, name, opts);
    return;
  }
  if (!opts.yes) {
    if (!process.stdin.isTTY) throw new CliError('sync needs confirmation: run it in a terminal, or pass --yes');
    const { confirm } = await import('@inquirer/prompts');
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
}

/** `datasource sync NAME --at|--every|--unschedule`: planned syncs as Temporal Schedules (see deploy/syncSchedules.ts). */
async function planSyncCommand(
  ctx: CliContext,
  name: string,
  opts: { at?: string; every?: string; unschedule?: boolean },
): Promise<void> {
  if ([opts.at !== undefined, opts.every !== undefined, opts.unschedule === true].filter(Boolean).length > 1) {
    throw new CliError('give one of --at, --every and --unschedule');
  }
  const { schedulePlannedSync, unschedulePlannedSyncs } = await import('../../deploy/syncSchedules');
  const { readDeployment } = await import('../../deploy/store');
  const client = await ctx.client();
  if (opts.unschedule) {
    const deleted = await unschedulePlannedSyncs(client, ctx.workspace.workspace, name);
    console.log(
      deleted.length === 0 ? `No planned syncs of ${name}.` : deleted.map((id) => `deleted schedule ${id}`).join('\n'),
    );
    return;
  }
  // A planned sync of a data source without import would ask a workflow that does not exist.
  if (!readDeployment(ctx.projectDir, ctx.workspace.workspace, ctx.environment).dataSources[name]?.def.import) {
    throw new CliError(`data source ${name} has no IMPORT_* settings: there is nothing to sync`);
  }
  const plan = opts.at !== undefined ? { at: opts.at } : { every: opts.every! };
  try {
    console.log(
      await schedulePlannedSync(client, plan, {
        workspace: ctx.workspace.workspace,
        dataSource: name,
        controlTaskQueue: ctx.temporal.taskQueues.control,
      }),
    );
  } catch (err) {
    if (err instanceof Error && /^--(at|every) /.test(err.message)) throw new CliError(err.message);
    throw err;
  }
}

function registerSample(datasource: Command, run: CliRun): void {
  datasource
    .command('sample <name>')
    .description(
      'Import a sample of up to N matching files as a job, into the table NAME__sample (emptied first), never NAME; the sync point and ledger are not touched (R6.1)',
    )
    .requiredOption('--max-files <n>', 'how many files at most, 1 to 10')
    .option('--wait', 'wait for the job to end and print its statistics')
    .action(async (name: string, opts: { maxFiles: string; wait?: boolean }) =>
      run.withContext((ctx) => sampleDataSource(ctx, name, opts)),
    );
}

async function sampleDataSource(
  ctx: CliContext,
  name: string,
  opts: { maxFiles: string; wait?: boolean },
): Promise<void> {
  const maxFiles = Number(opts.maxFiles);
  if (!Number.isInteger(maxFiles) || maxFiles < 1 || maxFiles > 10) {
    throw new CliError(`--max-files: expected an integer from 1 to 10, found '${opts.maxFiles}'`);
  }
  const { deployedDataSources, jobReport, startSampleJob } = await import('../../client/dataSources');
  if (!deployedDataSources(ctx.projectDir, ctx.workspace.workspace, ctx.environment).includes(name)) {
    throw new CliError(`data source ${name} is not deployed`);
  }
  const { limiterConfig } = await import('../../config');
  const { sampleTableName } = await import('../../datafiles/reserved');
  const { ProgressLine, progressText } = await import('../progress');
  const { printJob } = await import('./job');
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
}
