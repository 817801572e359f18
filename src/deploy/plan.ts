/**
 * `s3c deploy [--check]` (R2): parse every datafile, check the rules
 * (rules.ts) and S3 access (access.ts), and say what would change; apply.ts
 * then writes the snapshot and starts, updates or stops the workflows.
 *
 * Every check runs before anything changes, so a bad file changes nothing.
 * Deploying the same files twice changes nothing.
 */
import { readFileSync } from 'node:fs';
import { CONNECTION_KEYWORDS, DATASOURCE_KEYWORDS, loadProject, type Project } from '../datafiles';
import { checkProjectAccess } from './access';
import { planConnection, planDataSource, planRemovals } from './changes';
import { collisionRule, engineWarnings } from './rules';
import { readDeployment } from './store';
import type { DeployOptions, DeployPlan, PlanContext } from './types';
import { readWritten } from './written';

export type { DeployChange, DeployOptions, DeployPlan } from './types';

/** Everything `deploy --check` does: parse, check, and plan. Changes nothing. */
export async function planDeploy(options: DeployOptions): Promise<DeployPlan> {
  const project = loadProject(options.projectDir, options.lookup);
  const plan: DeployPlan = { changes: [], errors: project.errors.map((e) => e.message), checks: [], warnings: [] };
  if (plan.errors.length > 0) return plan;
  const ctx = planContext(options, project, plan);
  for (const ds of project.dataSources)
    plan.warnings.push(...engineWarnings(ds, ctx.dsWritten.get(ds.name)!, options.workspace.destination));
  for (const conn of project.connections) planConnection(ctx, conn);
  for (const ds of project.dataSources) planDataSource(ctx, ds);
  planRemovals(ctx);
  plan.errors.push(...collisionRule(ctx));
  if (plan.errors.length === 0 && !options.skipAccessChecks) await checkProjectAccess(ctx);
  if (plan.errors.length === 0) plan.next = ctx.next;
  return plan;
}

/** The deployed snapshot, an empty next one, and every datafile as written. */
function planContext(options: DeployOptions, project: Project, plan: DeployPlan): PlanContext {
  const workspace = options.workspace.workspace;
  const ctx: PlanContext = {
    options,
    project,
    plan,
    previous: readDeployment(options.projectDir, workspace, options.workspace.environment),
    next: { version: 1, workspace, connections: {}, dataSources: {} },
    connectionTexts: new Map(),
    connWritten: new Map(),
    dsWritten: new Map(),
    now: new Date().toISOString(),
  };
  for (const conn of project.connections) {
    const text = readFileSync(conn.path, 'utf8');
    ctx.connectionTexts.set(conn.name, text);
    ctx.connWritten.set(conn.name, readWritten(text, conn.path, CONNECTION_KEYWORDS));
  }
  for (const ds of project.dataSources)
    ctx.dsWritten.set(ds.name, readWritten(readFileSync(ds.path, 'utf8'), ds.path, DATASOURCE_KEYWORDS));
  return ctx;
}
