/** `s3c job JOB_ID|NAME`: a job's report; also how every command prints a job. */
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { deployedDataSources, jobReport, latestJobId } from '../../client/dataSources';
import type { WorkspaceConfig } from '../../config';
import { formatBytes } from '../../contract';
import { CliError, type CliRun } from '../run';

export function register(program: Command, run: CliRun): void {
  program
    .command('job <id>')
    .description(
      "Show a job (a sync run or a sample import) by its id, or a data source's latest job by the data source's name",
    )
    .action(async (id: string) =>
      run.withContext(async (ctx) => {
        const client = await ctx.client();
        printJob(await jobReport(client, await jobIdOf(client, ctx.projectDir, ctx.workspace, id)));
      }),
    );
}

/**
 * The job `s3c job` shows: a deployed data source's name stands for its
 * latest job; anything else is a job id (job ids hold a `-`, which data
 * source names cannot, so the two never collide).
 */
async function jobIdOf(
  client: Client,
  projectDir: string,
  workspace: WorkspaceConfig,
  idOrName: string,
): Promise<string> {
  // The environment's own deployment (--env): another one's names are not this one's data sources.
  if (!deployedDataSources(projectDir, workspace.workspace, workspace.environment).includes(idOrName)) return idOrName;
  const latest = await latestJobId(client, workspace.workspace, idOrName);
  if (latest === undefined)
    throw new CliError(
      `data source ${idOrName} has no job yet: run \`s3c datasource sync ${idOrName}\` or \`s3c datasource sample ${idOrName} --max-files N\``,
    );
  return latest;
}

export function printJob(job: Awaited<ReturnType<typeof jobReport>>): void {
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
