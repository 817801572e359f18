/**
 * What deploy does to each connection and data source: its entry in the next
 * snapshot, the rules it must keep (rules.ts), and the change the user sees
 * (create, update, remove, unchanged) with what happens to its workflow.
 */
import { relative } from 'node:path';
import { externalIdFingerprint } from '../aws/externalId';
import { roleAccountId } from '../datafiles';
import type { ConnectionDef, DataSourceDef } from '../datafiles/types';
import { scheduleText } from '../contract';
import { sameDefinition } from './diff';
import { connectionFixedRule, externalIdRule, importRule, tableNameRule, tableRule } from './rules';
import type { DeployedConnection, DeployedDataSource } from './store';
import type { DeployChange, DeployOptions, PlanContext } from './types';
import { show, type WrittenFile } from './written';

/**
 * The fingerprint of the external id `conn`'s role is assumed with; the
 * deployed one when deploy is not told the id (so it is not lost); none for
 * static keys, which use no external id.
 */
function externalIdFingerprintOf(
  conn: ConnectionDef,
  before: DeployedConnection | undefined,
  options: DeployOptions,
): string | undefined {
  if (!conn.roleArn) return undefined;
  return options.externalId ? externalIdFingerprint(options.externalId(conn.name)) : before?.externalIdFingerprint;
}

function connectionDetail(conn: ConnectionDef, written: WrittenFile, accountId: string | undefined): string {
  const arn = written.get('S3_ARN');
  const endpoint = written.get('S3_ENDPOINT');
  return (
    `region ${show(conn.region, written.get('S3_REGION'))}, ` +
    `${conn.roleArn ? (arn?.secret ? `role from ${arn.value}` : `role in account ${accountId}`) : 'static keys'}` +
    `${conn.endpoint ? `, endpoint ${endpoint?.secret ? endpoint.value : conn.endpoint}` : ''}`
  );
}

/** A connection: recorded with its text, checked against the rules, and its change. */
export function planConnection(ctx: PlanContext, conn: ConnectionDef): void {
  const { options, plan } = ctx;
  const text = ctx.connectionTexts.get(conn.name)!;
  const accountId = conn.roleArn ? roleAccountId(conn.roleArn) : undefined;
  const before = ctx.previous.connections[conn.name];
  const fingerprint = externalIdFingerprintOf(conn, before, options);
  ctx.next.connections[conn.name] = {
    name: conn.name,
    path: relative(options.projectDir, conn.path) || conn.path,
    text,
    region: conn.region,
    ...(accountId ? { roleAccountId: accountId } : {}),
    ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
    ...(fingerprint ? { externalIdFingerprint: fingerprint } : {}),
  };
  const idChanged =
    before?.externalIdFingerprint !== undefined &&
    fingerprint !== undefined &&
    before.externalIdFingerprint !== fingerprint;
  if (idChanged && !options.acceptNewExternalIds) plan.errors.push(externalIdRule(ctx, conn));
  plan.errors.push(...connectionFixedRule(ctx, conn, before, accountId));
  const changed =
    !before ||
    before.text !== text ||
    before.region !== conn.region ||
    before.roleAccountId !== accountId ||
    (before.endpoint ?? '') !== (conn.endpoint ?? '') ||
    idChanged;
  const action = !before ? 'create' : changed ? 'update' : 'unchanged';
  plan.changes.push({
    action,
    kind: 'connection',
    name: conn.name,
    detail: connectionDetail(conn, ctx.connWritten.get(conn.name)!, accountId),
  });
}

function describe(ds: DataSourceDef, written: WrittenFile): string {
  if (!ds.import) return `${ds.schema.length} columns, no import`;
  return `${show(ds.import.bucketUri, written.get('IMPORT_BUCKET_URI'))} ${scheduleText(ds)}, ${ds.schema.length} columns`;
}

/** The snapshot's entry of a data source: the secret keywords and the bucket URI as written stay out of messages and payloads. */
function deployedEntry(ds: DataSourceDef, written: WrittenFile, deployedAt: string): DeployedDataSource {
  const secretKeywords = [...written].filter(([, w]) => w.secret).map(([k]) => k);
  const uriWritten = written.get('IMPORT_BUCKET_URI');
  return {
    def: ds,
    deployedAt,
    ...(secretKeywords.length > 0 ? { secretKeywords } : {}),
    ...(uriWritten?.secret ? { bucketUriAsWritten: uriWritten.value } : {}),
  };
}

/** A data source: recorded, checked against the rules, and its change (none when a rule refuses it). */
export function planDataSource(ctx: PlanContext, ds: DataSourceDef): void {
  const { plan } = ctx;
  const written = ctx.dsWritten.get(ds.name)!;
  const deployed = ctx.previous.dataSources[ds.name];
  const same = deployed !== undefined && sameDefinition(deployed.def, ds);
  ctx.next.dataSources[ds.name] = deployedEntry(ds, written, same ? deployed.deployedAt : ctx.now);
  if (!deployed) {
    const refused = tableNameRule(ctx, ds);
    if (refused !== undefined) plan.errors.push(refused);
    else
      plan.changes.push({
        action: 'create',
        kind: 'datasource',
        name: ds.name,
        detail: describe(ds, written),
        ...(ds.import ? { workflow: 'start' as const } : {}),
      });
    return;
  }
  if (same) {
    plan.changes.push({
      action: 'unchanged',
      kind: 'datasource',
      name: ds.name,
      detail: describe(ds, written),
      ...(ds.import ? { workflow: 'ensure' as const } : {}),
    });
    return;
  }
  const problems = [...importRule(ds, deployed, written), ...tableRule(ds, deployed, written)];
  if (problems.length > 0) plan.errors.push(...problems);
  else plan.changes.push(updateChange(ds, deployed, written));
}

/** The change of a deployed data source whose definition changed within the rules. */
function updateChange(ds: DataSourceDef, deployed: DeployedDataSource, written: WrittenFile): DeployChange {
  const before = deployed.def;
  const a = before.import;
  const b = ds.import;
  const ttlChange =
    before.ttl !== ds.ttl
      ? `ENGINE_TTL ${ds.ttl === undefined ? 'removed' : `now ${show(ds.ttl, written.get('ENGINE_TTL'))}`}`
      : undefined;
  const otherwise = `${describe(ds, written)}; ${ttlChange ?? 'description changed'}`;
  const change = (detail: string, workflow?: DeployChange['workflow']): DeployChange => ({
    action: 'update',
    kind: 'datasource',
    name: ds.name,
    detail,
    ...(workflow ? { workflow } : {}),
  });
  if (a && b) {
    const toAuto = a.schedule.kind !== b.schedule.kind;
    return change(
      toAuto
        ? `${describe(ds, written)}; IMPORT_SCHEDULE ${scheduleText(before)} → @auto: loads every matching file since the last sync, then follows the bucket`
        : otherwise,
      'signal',
    );
  }
  if (a) return change('IMPORT_* settings removed: its workflow stops; its table is kept', 'stop');
  if (b) return change(`IMPORT_* settings added: ${describe(ds, written)}; its workflow starts`, 'start');
  return change(otherwise);
}

/** Data sources and connections deployed before and gone from the project. */
export function planRemovals(ctx: PlanContext): void {
  const current = new Set(ctx.project.dataSources.map((d) => d.name));
  for (const [name, deployed] of Object.entries(ctx.previous.dataSources)) {
    if (current.has(name)) continue;
    ctx.plan.changes.push({
      action: 'remove',
      kind: 'datasource',
      name,
      detail: deployed.def.import ? 'its workflow stops; its table is kept' : 'its table is kept',
      ...(deployed.def.import ? { workflow: 'stop' as const } : {}),
    });
  }
  for (const name of Object.keys(ctx.previous.connections)) {
    if (!ctx.next.connections[name]) ctx.plan.changes.push({ action: 'remove', kind: 'connection', name, detail: '' });
  }
}
