/** `s3c deploy [--check] [--new-external-ids]`. */
import type { Command } from 'commander';
// Types only: deploy's modules (AWS SDK, Temporal client) load when it runs, not for `s3c --help`.
import type { DeployChange } from '../../deploy/plan';
import type { CliContext } from '../context';
import { CliError, type CliRun } from '../run';

const SYMBOL: Record<DeployChange['action'], string> = { create: '+', update: '~', remove: '-', unchanged: '=' };

interface DeployOptions {
  check?: boolean;
  newExternalIds?: boolean;
}

export function register(program: Command, run: CliRun): void {
  program
    .command('deploy')
    .description('Deploy the datafiles of this folder: create tables and start, update or stop data source workflows')
    .option(
      '--check',
      'parse, resolve secrets, check bucket access and the deploy rules, print what would change; change nothing',
    )
    .option(
      '--new-external-ids',
      "accept external ids that differ from the deployed ones (after putting the new ones in the roles' trust policies)",
    )
    .action(async (opts: DeployOptions) => run.withContext((ctx) => deploy(ctx, opts), { readOnly: true }));
}

/**
 * Loads what applying needs (the Temporal client is ~0.35 s of CPU) while the
 * plan waits on S3, rather than after it (issue 23, goal 7). Only loads: the
 * connection is made once the plan has passed, so a refused plan never waits
 * on Temporal. A module that fails to load fails again, with its error, where
 * it is used.
 */
function preloadApply(): void {
  for (const load of [
    () => import('../../deploy/apply'),
    () => import('../../api/token'),
    () => import('../../client/temporal'),
  ])
    load().catch(() => undefined);
}

async function deploy(ctx: CliContext, opts: DeployOptions): Promise<void> {
  const { planDeploy } = await import('../../deploy/plan');
  if (!opts.check) preloadApply();
  const plan = await planDeploy({
    projectDir: ctx.projectDir,
    workspace: ctx.workspace,
    temporal: ctx.temporal,
    lookup: ctx.lookup,
    s3: await ctx.s3(),
    externalId: ctx.externalId,
    acceptNewExternalIds: opts.newExternalIds === true,
  });
  for (const check of plan.checks) console.log(`✓ ${check}`);
  for (const warning of plan.warnings) console.log(`! warning: ${warning}`);
  if (plan.errors.length > 0) {
    for (const error of plan.errors) console.error(`✗ ${error}`);
    throw new CliError(`deploy refused: ${plan.errors.length} problem(s); nothing was changed`);
  }
  for (const c of plan.changes)
    console.log(`${SYMBOL[c.action]} ${c.kind} ${c.name}: ${c.action}${c.detail ? ` (${c.detail})` : ''}`);
  if (opts.check) {
    console.log('Check passed; nothing was changed (run `s3c deploy` to apply).');
    return;
  }
  // The external ids just checked and recorded derive from this secret: keep it.
  ctx.saveWorkspaceSecret();
  const { applyDeploy } = await import('../../deploy/apply');
  const { loadApiToken } = await import('../../api/token');
  const done = await applyDeploy(plan, await ctx.client(), {
    projectDir: ctx.projectDir,
    workspace: ctx.workspace,
    temporal: ctx.temporal,
    lookup: ctx.lookup,
    s3: await ctx.s3(),
    apiToken: () => loadApiToken(ctx.projectDir, process.env, ctx.environment).token,
  });
  for (const line of done) console.log(line);
  console.log(done.length === 0 && plan.changes.every((c) => c.action === 'unchanged') ? 'No changes.' : 'Deployed.');
}
