/** `s3c deploy [--check] [--new-external-ids]`. */
import type { Command } from 'commander';
import { applyDeploy } from '../../deploy/apply';
import { planDeploy, type DeployChange } from '../../deploy/plan';
import { loadApiToken } from '../../api/token';
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

async function deploy(ctx: CliContext, opts: DeployOptions): Promise<void> {
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
  for (const c of plan.changes)
    console.log(`${SYMBOL[c.action]} ${c.kind} ${c.name}: ${c.action}${c.detail ? ` (${c.detail})` : ''}`);
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
}
