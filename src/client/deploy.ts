/**
 * `s3c deploy [--check]` (R2): parse every datafile, check access and the
 * rules, print what would change, then (without --check) apply it: write the
 * deployment snapshot and start, update or stop the data sources' workflows.
 *
 * Every check runs before anything changes, so a bad file changes nothing.
 * Deploying the same files twice changes nothing.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { GetBucketLocationCommand, HeadBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { S3ClientCache } from '../aws/credentials';
import type { TemporalConfig, WorkspaceConfig } from '../config';
import { checkDataSource, loadProject, roleAccountId, type SecretLookup } from '../datafiles';
import type { ConnectionDef, DataSourceDef } from '../datafiles/types';
import { readDeployment, writeDeployment, type Deployment } from '../deploy/store';
import { listPrefix, patternsCollide, collisionExample } from '../s3uri';
import {
  dataSourceWorkflowId,
  redeploySignal,
  scheduleText,
  SA_BUCKET,
  SA_DATA_SOURCE,
  SA_SCHEDULE,
  type DataSourceWorkflowInput,
} from '../workflows/shared';

export interface DeployChange {
  action: 'create' | 'update' | 'remove' | 'unchanged';
  kind: 'connection' | 'datasource';
  name: string;
  detail: string;
}

export interface DeployPlan {
  changes: DeployChange[];
  /** Problems that refuse the deploy; each names the file and what to do. */
  errors: string[];
  /** What the checks verified (bucket, region, prefix), for the user. */
  checks: string[];
  next?: Deployment;
}

export interface DeployOptions {
  projectDir: string;
  workspace: WorkspaceConfig;
  temporal: TemporalConfig;
  lookup: SecretLookup;
  s3: S3ClientCache;
  /** Skip the S3 access checks (tests of pure rules only). */
  skipAccessChecks?: boolean;
}

const REMEDY =
  'To change it: 1) remove the connection from the data source (delete the IMPORT_* settings or the data source), ' +
  '2) run `s3c deploy`, 3) add the connection again with the new values, 4) run `s3c deploy` again.';

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Line of a keyword in a data source file, for messages. */
function lineOf(ds: DataSourceDef, keyword: string): number {
  try {
    const check = checkDataSource(readFileSync(ds.path, 'utf8'), ds.path, (raw) => raw);
    return (check.lines as Record<string, number | undefined>)[keyword] ?? 1;
  } catch {
    return 1;
  }
}

/** Checks the S3 side of one data source: role, bucket, region, prefix (R2.1). */
async function checkAccess(conn: ConnectionDef, ds: DataSourceDef, s3: S3ClientCache): Promise<string> {
  const settings = ds.import;
  if (!settings) return '';
  const { bucket, prefix } = listPrefix(settings.bucketUri);
  const client = s3.clientFor(conn);
  const where = `data source ${ds.name} (${ds.path})`;
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name ?? 'Error';
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (name === 'NotFound' || name === 'NoSuchBucket' || status === 404) {
      throw new Error(`${where}: bucket ${bucket} does not exist (connection ${conn.name}, region ${conn.region})`);
    }
    if (status === 403) throw new Error(`${where}: access to bucket ${bucket} is denied; check the role's access policy`);
    if (status === 301) throw new Error(`${where}: bucket ${bucket} is not in region ${conn.region}`);
    throw new Error(`${where}: cannot reach bucket ${bucket}: ${err instanceof Error ? err.message : name}`);
  }
  if (!conn.endpoint) {
    // S3-compatible stores answer GetBucketLocation loosely; AWS answers exactly.
    const location = await client.send(new GetBucketLocationCommand({ Bucket: bucket }));
    const region = location.LocationConstraint || 'us-east-1';
    if (region !== conn.region) {
      throw new Error(`${where}: bucket ${bucket} is in region ${region}, but connection ${conn.name} declares S3_REGION ${conn.region}`);
    }
  }
  try {
    await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
  } catch (err) {
    throw new Error(`${where}: cannot list s3://${bucket}/${prefix}: ${(err as { name?: string }).name ?? 'error'}`);
  }
  return `${ds.name}: s3://${bucket}/${prefix} is listable with connection ${conn.name}`;
}

/** Everything `deploy --check` does: parse, check, and plan. Changes nothing. */
export async function planDeploy(options: DeployOptions): Promise<DeployPlan> {
  const project = loadProject(options.projectDir, options.lookup);
  const plan: DeployPlan = { changes: [], errors: project.errors.map((e) => e.message), checks: [] };
  if (plan.errors.length > 0) return plan;
  const workspace = options.workspace.workspace;
  const previous = readDeployment(options.projectDir, workspace);
  const connections = new Map(project.connections.map((c) => [c.name, c]));
  const next: Deployment = { version: 1, workspace, connections: {}, dataSources: {} };
  const now = new Date().toISOString();

  // Connections: only those used by a data source are deployed (and checked).
  const used = new Set(project.dataSources.map((d) => d.import?.connectionName).filter((n): n is string => !!n));
  for (const conn of project.connections) {
    const text = readFileSync(conn.path, 'utf8');
    const accountId = conn.roleArn ? roleAccountId(conn.roleArn) : undefined;
    next.connections[conn.name] = {
      name: conn.name,
      path: relative(options.projectDir, conn.path) || conn.path,
      text,
      region: conn.region,
      ...(accountId ? { roleAccountId: accountId } : {}),
      ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
    };
    const before = previous.connections[conn.name];
    const inUse = Object.values(previous.dataSources).some((d) => d.def.import?.connectionName === conn.name);
    if (before && inUse && used.has(conn.name)) {
      if (before.region !== conn.region) {
        plan.errors.push(
          `${conn.path}: S3_REGION of connection ${conn.name} cannot change from ${before.region} to ${conn.region} ` +
            `while a data source uses it. ${REMEDY}`,
        );
      }
      if ((before.roleAccountId ?? '') !== (accountId ?? '')) {
        plan.errors.push(
          `${conn.path}: the account id of S3_ARN of connection ${conn.name} cannot change from ` +
            `${before.roleAccountId ?? 'none'} to ${accountId ?? 'none'} while a data source uses it. ${REMEDY}`,
        );
      }
    }
    plan.changes.push({
      action: !before ? 'create' : before.text === text ? 'unchanged' : 'update',
      kind: 'connection',
      name: conn.name,
      detail: `region ${conn.region}, ${conn.roleArn ? `role in account ${accountId}` : 'static keys'}${conn.endpoint ? `, endpoint ${conn.endpoint}` : ''}`,
    });
  }

  // Data sources: the change rules of R2.3.
  for (const ds of project.dataSources) {
    const before = previous.dataSources[ds.name]?.def;
    next.dataSources[ds.name] = { def: ds, deployedAt: before && sameJson(before, ds) ? previous.dataSources[ds.name]!.deployedAt : now };
    if (!before) {
      plan.changes.push({ action: 'create', kind: 'datasource', name: ds.name, detail: describe(ds) });
      continue;
    }
    if (sameJson(before, ds)) {
      plan.changes.push({ action: 'unchanged', kind: 'datasource', name: ds.name, detail: describe(ds) });
      continue;
    }
    const a = before.import;
    const b = ds.import;
    if (a && b) {
      const onceToAuto = a.schedule.kind === 'once' && b.schedule.kind === 'auto';
      const importChanged = !sameJson({ ...a, schedule: null }, { ...b, schedule: null }) || (!sameJson(a.schedule, b.schedule) && !onceToAuto);
      if (importChanged) {
        const keyword = !sameJson(a.schedule, b.schedule) && !onceToAuto ? 'IMPORT_SCHEDULE' : changedImportKeyword(a, b);
        plan.errors.push(
          `${ds.path}:${lineOf(ds, keyword)}: ${keyword} of data source ${ds.name} cannot change in place ` +
            `(the only change allowed is IMPORT_SCHEDULE from @once to @auto). ${REMEDY}`,
        );
        continue;
      }
    }
    if (!sameJson(before.schema, ds.schema) || before.engine !== ds.engine || before.sortingKey !== ds.sortingKey) {
      plan.errors.push(
        `${ds.path}: the schema or engine of data source ${ds.name} changed; changing a deployed table in place is not supported: ` +
          `remove the data source, run \`s3c deploy\`, add it back and deploy again (its table is rebuilt)`,
      );
      continue;
    }
    plan.changes.push({ action: 'update', kind: 'datasource', name: ds.name, detail: `${describe(ds)} (was ${scheduleText(before)})` });
  }
  for (const name of Object.keys(previous.dataSources)) {
    if (!next.dataSources[name]) plan.changes.push({ action: 'remove', kind: 'datasource', name, detail: 'its workflow stops; its table is kept' });
  }
  for (const name of Object.keys(previous.connections)) {
    if (!next.connections[name]) plan.changes.push({ action: 'remove', kind: 'connection', name, detail: '' });
  }

  // Collisions between @auto data sources on one bucket (R3.5).
  const autos = project.dataSources.filter((d) => d.import?.schedule.kind === 'auto');
  for (let i = 0; i < autos.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = autos[j]!;
      const b = autos[i]!;
      if (patternsCollide(a.import!.bucketUri, b.import!.bucketUri)) {
        // The one deployed first keeps the pattern; the other is refused.
        const [first, second] = previous.dataSources[b.name] && !previous.dataSources[a.name] ? [b, a] : [a, b];
        const example = collisionExample(first.import!.bucketUri, second.import!.bucketUri);
        plan.errors.push(
          `${second.path}:${lineOf(second, 'IMPORT_BUCKET_URI')}: IMPORT_BUCKET_URI ${second.import!.bucketUri} ` +
            `collides with ${first.import!.bucketUri} of @auto data source ${first.name}` +
            `${example !== undefined ? ` (both match the key '${example}')` : ''}: only one @auto data source may follow a ` +
            `bucket pattern. Narrow one pattern so they match no common key, or make one @once or @on-demand`,
        );
      }
    }
  }

  if (plan.errors.length === 0 && !options.skipAccessChecks) {
    for (const ds of project.dataSources) {
      const conn = ds.import ? connections.get(ds.import.connectionName) : undefined;
      if (!conn) continue;
      try {
        plan.checks.push(await checkAccess(conn, ds, options.s3));
      } catch (err) {
        plan.errors.push(err instanceof Error ? err.message : String(err));
      }
    }
  }
  if (plan.errors.length === 0) plan.next = next;
  return plan;
}

function changedImportKeyword(a: NonNullable<DataSourceDef['import']>, b: NonNullable<DataSourceDef['import']>): string {
  if (a.connectionName !== b.connectionName) return 'IMPORT_CONNECTION_NAME';
  if (a.bucketUri !== b.bucketUri) return 'IMPORT_BUCKET_URI';
  if (a.fromTimestamp !== b.fromTimestamp) return 'IMPORT_FROM_TIMESTAMP';
  if (a.format !== b.format) return 'IMPORT_FORMAT';
  return 'IMPORT_SCHEDULE';
}

function describe(ds: DataSourceDef): string {
  if (!ds.import) return `${ds.schema.length} columns, no import`;
  return `${ds.import.bucketUri} ${scheduleText(ds)}, ${ds.schema.length} columns`;
}

/** Input of a data source's workflow, as deploy starts it. */
export function workflowInput(ds: DataSourceDef, options: { workspace: WorkspaceConfig; temporal: TemporalConfig }): DataSourceWorkflowInput {
  return {
    workspace: options.workspace.workspace,
    dataSource: ds,
    pollIntervalSeconds: options.workspace.pollIntervalSeconds,
    ingestTaskQueue: options.temporal.taskQueues.ingest,
  };
}

/** Applies a plan: writes the snapshot, then starts, updates and stops workflows. */
export async function applyDeploy(plan: DeployPlan, client: Client, options: DeployOptions): Promise<string[]> {
  const next = plan.next;
  if (!next) throw new Error('the deploy plan has errors; nothing was changed');
  const done: string[] = [];
  writeDeployment(options.projectDir, next);
  const workspace = options.workspace.workspace;
  for (const change of plan.changes) {
    if (change.kind !== 'datasource') continue;
    const workflowId = dataSourceWorkflowId(workspace, change.name);
    const def = next.dataSources[change.name]?.def;
    if ((change.action === 'create' || change.action === 'unchanged') && def?.import) {
      try {
        await client.workflow.start('dataSourceWorkflow', {
          workflowId,
          taskQueue: options.temporal.taskQueues.control,
          args: [workflowInput(def, options)],
          typedSearchAttributes: [
            { key: SA_DATA_SOURCE, value: def.name },
            { key: SA_BUCKET, value: listPrefix(def.import.bucketUri).bucket },
            { key: SA_SCHEDULE, value: scheduleText(def) },
          ],
          memo: { bucketUri: def.import.bucketUri, schedule: scheduleText(def), path: relative(options.projectDir, def.path) },
          staticSummary: `${def.name}: ${def.import.bucketUri} ${scheduleText(def)}`,
        });
        done.push(`started workflow ${workflowId}`);
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    } else if (change.action === 'update' && def) {
      await client.workflow.getHandle(workflowId).signal(redeploySignal, def);
      done.push(`updated workflow ${workflowId} (${scheduleText(def)})`);
    } else if (change.action === 'remove') {
      try {
        await client.workflow.getHandle(workflowId).terminate('data source removed by deploy');
        done.push(`stopped workflow ${workflowId}`);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    }
  }
  return done;
}
