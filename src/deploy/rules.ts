/**
 * The deploy rules (R2.3, R3.5), one function each; each gives its refusals
 * as `<file>:<line>: <what> ... <remedy>`, empty when the rule holds:
 * - a connection used by a deployed data source keeps its S3_REGION and the
 *   account id of its S3_ARN (another role of the same account is fine);
 * - a deployed role connection keeps its external id (the role's trust policy
 *   names it), unless the user says the policy has the new one;
 * - a new data source does not load into a table that stays from another
 *   (names differ in more than case; `x__sample` is x's sample table);
 * - a deployed data source's only import change in place is IMPORT_SCHEDULE
 *   from @once or @on-demand to @auto; removing or adding its IMPORT_* settings (the
 *   reference's remedy) stops or starts its workflow;
 * - a deployed table keeps its SCHEMA and ENGINE settings, except ENGINE_TTL
 *   (on DuckDB a schedule applies it, not the table: see ttlSchedules.ts);
 * - two @auto data sources on patterns that can match a common key collide:
 *   the one deployed first keeps its pattern.
 * ENGINE settings the destination cannot honour are warned about, never refused.
 *
 * Messages never show a value that came from a `tb_secret` reference.
 */
import { relative } from 'node:path';
import { checkSampleNameFree } from '../datafiles/reserved';
import { CONNECTION_KEYWORDS } from '../datafiles';
import type { WorkspaceConfig } from '../config';
import type { ConnectionDef, DataSourceDef } from '../datafiles/types';
import { collisionExample } from '../s3uri';
import { lakePartitioning } from '../sinks/ducklake/partitioning';
import { workspaceSecretPath } from '../util/stateLayout';
import { IMPORT_KEYWORDS, importValue, sameSchema, schemaDiff } from './diff';
import type { DeployedConnection, DeployedDataSource } from './store';
import type { PlanContext } from './types';
import { readWritten, show, type WrittenFile } from './written';

/** Where the rows go (s3c.yaml `destination`). */
type Destination = WorkspaceConfig['destination'];

/** The reference's steps for a data source import change (R2.3). */
export const DATASOURCE_REMEDY =
  'To change it: 1) remove the connection from the data source (delete its IMPORT_* settings, or the data source), ' +
  '2) run `s3c deploy`, 3) add the connection again with the new values, 4) run `s3c deploy` again.';

/** The reference's steps for a connection change, naming the data sources that use it. */
export function connectionRemedy(users: string[]): string {
  const which = users.length === 1 ? `data source ${users[0]}` : `data sources ${users.join(', ')}`;
  return (
    `To change it: 1) remove the connection from ${which} (delete the IMPORT_* settings, or the data source${users.length === 1 ? '' : 's'}), ` +
    '2) run `s3c deploy`, 3) add the connection again with the new values, 4) run `s3c deploy` again.'
  );
}

/** What to do when a connection's external id differs from its deployed one. */
export function externalIdRemedy(secretFile: string): string {
  return (
    `Deploy with the workspace secret it was deployed with: copy ${secretFile} from where it was deployed ` +
    '(it belongs with the deployment state next to it), or set S3C_WORKSPACE_SECRET to it, and keep the workspace name. ' +
    "To move to the new external id instead, put it in the role's trust policy (`s3c connection create s3` or " +
    'GET /v0/integrations/s3/policies/trust-policy prints it), then run `s3c deploy --new-external-ids`.'
  );
}

/** The steps for a change of a deployed table. */
export const TABLE_REMEDY =
  'To change it: deploy the new definition as a data source with a new name (a new .datasource file) and remove this one; its table is kept.';

/** A role connection that would be assumed with another external id than the deployed one. */
export function externalIdRule(ctx: PlanContext, conn: ConnectionDef): string {
  const { options } = ctx;
  const secretFile = relative(
    options.projectDir,
    workspaceSecretPath(options.projectDir, options.workspace.environment),
  );
  return (
    `${conn.path}:${ctx.connWritten.get(conn.name)!.get('S3_ARN')?.line ?? 1}: connection ${conn.name} would assume its role with another external id ` +
    "than the one it was deployed with, and the role's trust policy names that one: the workspace secret " +
    `(${secretFile} or S3C_WORKSPACE_SECRET) or the workspace name (${options.workspace.workspace}) differs from the deploy's. ${externalIdRemedy(secretFile)}`
  );
}

/** Deployed data sources that use the connection and still do after this deploy. */
function usersOf(ctx: PlanContext, conn: ConnectionDef): string[] {
  const current = new Map(ctx.project.dataSources.map((d) => [d.name, d]));
  return Object.entries(ctx.previous.dataSources)
    .filter(
      ([name, d]) =>
        d.def.import?.connectionName === conn.name && current.get(name)?.import?.connectionName === conn.name,
    )
    .map(([name]) => name)
    .sort();
}

/** Region and role account are fixed while deployed data sources use the connection (R2.3). */
export function connectionFixedRule(
  ctx: PlanContext,
  conn: ConnectionDef,
  before: DeployedConnection | undefined,
  accountId: string | undefined,
): string[] {
  const users = usersOf(ctx, conn);
  if (!before || users.length === 0) return [];
  const written = ctx.connWritten.get(conn.name)!;
  const beforeWritten = readWritten(before.text, before.path, CONNECTION_KEYWORDS);
  const usedBy = users.length === 1 ? `data source ${users[0]} uses it` : `data sources ${users.join(', ')} use it`;
  const errors: string[] = [];
  if (before.region !== conn.region) {
    const w = written.get('S3_REGION');
    errors.push(
      `${conn.path}:${w?.line ?? 1}: S3_REGION of connection ${conn.name} cannot change from ` +
        `${show(before.region, beforeWritten.get('S3_REGION'))} to ${show(conn.region, w)} while ${usedBy}. ${connectionRemedy(users)}`,
    );
  }
  if (before.roleAccountId !== undefined && before.roleAccountId !== accountId) {
    const w = written.get('S3_ARN');
    const line = w?.line ?? written.get('S3_ACCESS_KEY')?.line ?? written.get('TYPE')?.line ?? 1;
    const secret = (w?.secret ?? false) || (beforeWritten.get('S3_ARN')?.secret ?? false);
    const what =
      accountId === undefined
        ? `S3_ARN of connection ${conn.name} cannot be removed`
        : secret
          ? `S3_ARN of connection ${conn.name} cannot change to a role of another AWS account (${w?.secret ? w.value : 'S3_ARN'} comes from a secret: account ids not shown)`
          : `the account id of S3_ARN of connection ${conn.name} cannot change from ${before.roleAccountId} to ${accountId}`;
    errors.push(`${conn.path}:${line}: ${what} while ${usedBy}. ${connectionRemedy(users)}`);
  }
  return errors;
}

/** A new data source must not load into a table that stays from another: the first refusal, if any. */
export function tableNameRule(ctx: PlanContext, ds: DataSourceDef): string | undefined {
  const deployedNames = Object.keys(ctx.previous.dataSources);
  // A table deployed earlier stays when its data source goes; the destination does not tell `Events` from `events`.
  const sameTable = deployedNames.find((other) => other !== ds.name && other.toLowerCase() === ds.name.toLowerCase());
  if (sameTable !== undefined) {
    return (
      `${ds.path}:1: data source ${ds.name} would load into the table of data source ${sameTable}, deployed earlier ` +
      '(table names are case-insensitive, and a removed data source keeps its table). Choose a name that differs in more than case.'
    );
  }
  // A removed data source keeps its sample table too: `x__sample` must not load into x's.
  const sampleOf = checkSampleNameFree(ds.name, deployedNames);
  if (!sampleOf.ok)
    return `${ds.path}:1: ${sampleOf.problem.what}: found ${sampleOf.problem.found}, expected ${sampleOf.problem.expected} (deployed earlier)`;
  return undefined;
}

/** A deployed data source's import settings stay, but for IMPORT_SCHEDULE from @once or @on-demand to @auto. */
export function importRule(ds: DataSourceDef, deployed: DeployedDataSource, written: WrittenFile): string[] {
  const a = deployed.def.import;
  const b = ds.import;
  if (!a || !b) return [];
  const wasSecret = new Set(deployed.secretKeywords ?? []);
  const firstImportLine = Math.min(...IMPORT_KEYWORDS.map(([, k]) => written.get(k)?.line ?? Infinity));
  const errors: string[] = [];
  for (const [field, keyword] of IMPORT_KEYWORDS) {
    const old = importValue(a, field);
    const value = importValue(b, field);
    if (old === value) continue;
    // @on-demand is as manual as @once (the reference treats them alike): both may start following the bucket.
    if (
      field === 'schedule' &&
      (a.schedule.kind === 'once' || a.schedule.kind === 'on-demand') &&
      b.schedule.kind === 'auto'
    )
      continue;
    const w = written.get(keyword);
    errors.push(
      `${ds.path}:${w?.line ?? firstImportLine}: ${keyword} of data source ${ds.name} cannot change in place ` +
        `(deployed: ${wasSecret.has(keyword) ? 'a secret, not shown' : old}; now: ${show(value, w)}); ` +
        `the only change allowed in place is IMPORT_SCHEDULE from @once or @on-demand to @auto. ${DATASOURCE_REMEDY}`,
    );
  }
  return errors;
}

/** The table was created from SCHEMA and ENGINE settings: they stay. */
export function tableRule(ds: DataSourceDef, deployed: DeployedDataSource, written: WrittenFile): string[] {
  const before = deployed.def;
  const wasSecret = new Set(deployed.secretKeywords ?? []);
  const lineOf = (keyword: string, fallback?: string): number =>
    written.get(keyword)?.line ?? (fallback ? written.get(fallback)?.line : undefined) ?? 1;
  const tableChanges: [string, string, string, string | undefined][] = [];
  if (!sameSchema(before.schema, ds.schema))
    tableChanges.push(['SCHEMA', schemaDiff(before.schema, ds.schema), '', undefined]);
  const settings: [string, string | undefined, string | undefined][] = [
    ['ENGINE', before.engine, ds.engine],
    ['ENGINE_PARTITION_KEY', before.partitionKey, ds.partitionKey],
    ['ENGINE_SORTING_KEY', before.sortingKey, ds.sortingKey],
  ];
  for (const [keyword, old, value] of settings) {
    if (old !== value)
      tableChanges.push([
        keyword,
        old ?? 'not set',
        value ?? 'not set',
        keyword === 'ENGINE_SORTING_KEY' ? 'SCHEMA' : undefined,
      ]);
  }
  return tableChanges.map(([keyword, old, value, fallback]) => {
    const change =
      keyword === 'SCHEMA'
        ? old
        : `deployed: ${wasSecret.has(keyword) ? 'a secret, not shown' : old}; now: ${show(value, written.get(keyword))}`;
    return `${ds.path}:${lineOf(keyword, fallback)}: ${keyword} of data source ${ds.name} cannot change once its table exists (${change}). ${TABLE_REMEDY}`;
  });
}

/** The order in which @auto data sources keep their patterns: deployed as @auto first, then deployed at all, then by name. */
function autoRank(ctx: PlanContext, ds: DataSourceDef): [number, string, string] {
  const deployed = ctx.previous.dataSources[ds.name];
  const wasAuto = deployed?.def.import?.schedule.kind === 'auto';
  return [wasAuto ? 0 : deployed ? 1 : 2, deployed?.deployedAt ?? '', ds.name];
}

function compareRank([x0, x1, x2]: [number, string, string], [y0, y1, y2]: [number, string, string]): number {
  return x0 - y0 || (x1 < y1 ? -1 : x1 > y1 ? 1 : 0) || (x2 < y2 ? -1 : x2 > y2 ? 1 : 0);
}

/** Collisions between @auto data sources on one bucket (R3.5): the one deployed first keeps its pattern. */
export function collisionRule(ctx: PlanContext): string[] {
  const autos = ctx.project.dataSources
    .filter((d) => d.import?.schedule.kind === 'auto')
    .sort((x, y) => compareRank(autoRank(ctx, x), autoRank(ctx, y)));
  const errors: string[] = [];
  for (let i = 1; i < autos.length; i++) {
    for (let j = 0; j < i; j++) {
      const error = collision(ctx, autos[j]!, autos[i]!);
      if (error) errors.push(error);
    }
  }
  return errors;
}

/** The refusal of `second` when its pattern can match a key of `first`'s, which keeps it. */
function collision(ctx: PlanContext, first: DataSourceDef, second: DataSourceDef): string | undefined {
  const example = collisionExample(first.import!.bucketUri, second.import!.bucketUri);
  if (example === undefined) return undefined;
  const w2 = ctx.dsWritten.get(second.name)!.get('IMPORT_BUCKET_URI');
  const w1 = ctx.dsWritten.get(first.name)!.get('IMPORT_BUCKET_URI');
  const anySecret = (w1?.secret ?? false) || (w2?.secret ?? false);
  const deployedFirst = ctx.previous.dataSources[first.name]?.def.import?.schedule.kind === 'auto';
  return (
    `${second.path}:${w2?.line ?? 1}: IMPORT_BUCKET_URI ${show(second.import!.bucketUri, w2)} of @auto data source ${second.name} ` +
    `collides with ${show(first.import!.bucketUri, w1)} of ${deployedFirst ? 'the deployed ' : ''}@auto data source ${first.name}` +
    `${anySecret ? '' : ` (both match the key '${example}')`}: only one @auto data source may follow a bucket pattern. ` +
    'Narrow one pattern so that they match no common key, or make one @once or @on-demand'
  );
}

/** Why an ENGINE setting does nothing on DuckDB, by setting (ENGINE by engine name). */
const NOT_ON_DUCKDB: Record<string, string> = {
  ReplacingMergeTree: 'rows with the same sorting key are not de-duplicated: every loaded row is kept',
  SummingMergeTree: 'rows with the same sorting key are not summed: every loaded row is kept',
  AggregatingMergeTree: 'rows with the same sorting key are not aggregated: every loaded row is kept',
  ENGINE_PARTITION_KEY: 'DuckDB tables have no partitions',
  ENGINE_SORTING_KEY: 'rows are stored in load order, not sorted by the key (sort with ORDER BY when querying)',
};

/** Why a partition key does nothing on the lake: one DuckLake cannot partition by (see sinks/ducklake/partitioning.ts). */
const LAKE_PARTITION_WHY =
  'DuckLake partitions by columns and by year, month, day or hour of a column only: the table is not partitioned';

/** The destination's name in a warning. */
const DESTINATION_NAME: Record<Destination, string> = { duckdb: 'DuckDB', ducklake: 'DuckLake' };

/**
 * Why ENGINE_PARTITION_KEY is not applied on `destination`, or undefined when
 * it is: the DuckLake destination partitions its tables by the keys
 * lakePartitioning maps (the worker applies them as it does), DuckDB tables
 * have no partitions.
 */
function partitionWhy(ds: DataSourceDef, destination: Destination): string | undefined {
  if (destination === 'duckdb') return NOT_ON_DUCKDB.ENGINE_PARTITION_KEY;
  const lake = lakePartitioning(ds);
  return lake && 'unsupported' in lake ? LAKE_PARTITION_WHY : undefined;
}

/**
 * A warning for each ENGINE setting written in the file that the
 * destination cannot honour (ENGINE "MergeTree" is a plain table, and
 * ENGINE_TTL is applied by a schedule): silently ignoring them would let a
 * user believe rows are de-duplicated, sorted, partitioned or expired.
 */
export function engineWarnings(ds: DataSourceDef, written: WrittenFile, destination: Destination = 'duckdb'): string[] {
  const warnings: string[] = [];
  const warn = (keyword: string, value: string, why: string): void => {
    const w = written.get(keyword);
    warnings.push(
      `${ds.path}:${w?.line ?? 1}: ${keyword} ${show(JSON.stringify(value), w)} of data source ${ds.name} is not applied by the ${DESTINATION_NAME[destination]} destination: ${why}`,
    );
  };
  const engineWhy = NOT_ON_DUCKDB[ds.engine];
  if (written.has('ENGINE') && engineWhy) warn('ENGINE', ds.engine, engineWhy);
  const partitionNot = ds.partitionKey !== undefined ? partitionWhy(ds, destination) : undefined;
  if (written.has('ENGINE_PARTITION_KEY') && partitionNot) warn('ENGINE_PARTITION_KEY', ds.partitionKey!, partitionNot);
  if (written.has('ENGINE_SORTING_KEY') && ds.sortingKey !== undefined)
    warn('ENGINE_SORTING_KEY', ds.sortingKey, NOT_ON_DUCKDB.ENGINE_SORTING_KEY!);
  return warnings;
}
