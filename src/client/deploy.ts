/**
 * `s3c deploy [--check]` (R2): parse every datafile, check access and the
 * rules, print what would change, then (without --check) apply it: write the
 * deployment snapshot and start, update or stop the data sources' workflows.
 *
 * Every check runs before anything changes, so a bad file changes nothing.
 * Deploying the same files twice changes nothing.
 *
 * Rules (R2.3, R3.5), each refused with `<file>:<line>: <what> ... <remedy>`:
 * - a connection used by a deployed data source keeps its S3_REGION and the
 *   account id of its S3_ARN (another role of the same account is fine);
 * - a deployed role connection keeps its external id (the role's trust policy
 *   names it), unless the user says the policy has the new one;
 * - a deployed data source's only import change in place is IMPORT_SCHEDULE
 *   from @once or @on-demand to @auto; removing or adding its IMPORT_* settings (the
 *   reference's remedy) stops or starts its workflow;
 * - a deployed table keeps its SCHEMA and ENGINE settings, except ENGINE_TTL
 *   (on DuckDB a schedule applies it, not the table: see ttlSchedules.ts);
 * - two @auto data sources on patterns that can match a common key collide:
 *   the one deployed first keeps its pattern.
 *
 * Messages never show a value that came from a `tb_secret` reference.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import {
  GetBucketLocationCommand,
  GetBucketNotificationConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { S3ClientCache } from '../aws/credentials';
import { describeS3Error } from '../aws/s3Errors';
import { externalIdFingerprint } from '../aws/externalId';
import { workspaceSecretPath } from '../util/stateLayout';
import { limiterConfig, type TemporalConfig, type WorkspaceConfig } from '../config';
import {
  CONNECTION_KEYWORDS,
  DATASOURCE_KEYWORDS,
  hasSecretReference,
  loadProject,
  roleAccountId,
  type DatafileError,
  type SecretLookup,
} from '../datafiles';
import { checkSampleNameFree } from '../datafiles/reserved';
import { readStatements, statementValue, type KeywordRule } from '../datafiles/statements';
import type { Column, ConnectionDef, DataSourceDef, ImportSettings } from '../datafiles/types';
import { ensureLimiter } from './dataSources';
import { ensureSchedule, removeSchedule } from './schedules';
import { removeTtlSchedule, syncTtlSchedule } from './ttlSchedules';
import { unschedulePlannedSyncs } from './syncSchedules';
import { unwireDataSource, wireDataSource } from './wiring';
import { payloadDefinition, readDeployment, writeDeployment, type DeployedConnection, type DeployedDataSource, type Deployment } from '../deploy/store';
import { collisionExample, listPrefix } from '../s3uri';
import {
  dataSourceWorkflowId,
  redeploySignal,
  scheduleText,
  settingsSignal,
  SA_BUCKET,
  SA_DATA_SOURCE,
  SA_SCHEDULE,
  type DataSourceWorkflowInput,
} from '../contract';

export interface DeployChange {
  action: 'create' | 'update' | 'remove' | 'unchanged';
  kind: 'connection' | 'datasource';
  name: string;
  detail: string;
  /**
   * What deploy does to a data source's workflow: `start` a new one, `ensure`
   * it runs (start it when it does not), `signal` the new definition to the
   * running one, or `stop` it. Absent: no workflow (no IMPORT_* settings).
   */
  workflow?: 'start' | 'ensure' | 'signal' | 'stop';
}

export interface DeployPlan {
  changes: DeployChange[];
  /** Problems that refuse the deploy; each names the file and line, and what to do. */
  errors: string[];
  /** What the checks verified (bucket, region, prefix), for the user. */
  checks: string[];
  /**
   * What deploy goes on without but the user must know, each with file:line: ENGINE settings the
   * destination cannot honour, permissions denied and what they cost. Printed, never refusing.
   */
  warnings: string[];
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
  /** The API token the event endpoint expects (for EventBridge API destinations). */
  apiToken?: () => string;
  /**
   * The external id a connection's role is assumed with. Without it, deploy
   * neither records nor checks external ids (tests of other rules).
   */
  externalId?: (connectionName: string) => string;
  /** Accept external ids that differ from the deployed ones (the roles' trust policies were updated). */
  acceptNewExternalIds?: boolean;
}

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

// ---------------------------------------------------------------------------
// What a file says, keyword by keyword (lines and secret references)

interface Written {
  line: number;
  /** The value as written (unquoted), secret references not resolved. */
  value: string;
  /** True when the value holds a `tb_secret` reference. */
  secret: boolean;
}

/** Keyword → where and how it is written; tolerant (the file already parsed). */
function readWritten(text: string, path: string, keywords: readonly string[]): Map<string, Written> {
  const rules = Object.fromEntries(keywords.map((k) => [k, { block: 'optional' } satisfies KeywordRule]));
  const ignored: DatafileError[] = [];
  const out = new Map<string, Written>();
  for (const s of readStatements(text, path, rules, ignored)) {
    const v = statementValue(s);
    out.set(s.keyword, { line: s.line, value: v.ok ? v.value : s.raw, secret: hasSecretReference(s.raw) });
  }
  return out;
}

/** A value for a message: itself, or its reference when it comes from a secret. */
function show(value: string, written: Written | undefined): string {
  return written?.secret ? `${written.value} (a secret, not shown)` : value;
}

/** JSON with sorted keys, for comparisons that ignore key order. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** A column without its line number: moving lines does not change a column. */
function columnKey(c: Column): string {
  const { line: _line, ...rest } = c;
  return stableJson(rest);
}

/** True when two definitions deploy the same thing (paths and line numbers aside). */
function sameDefinition(a: DataSourceDef, b: DataSourceDef): boolean {
  const key = (d: DataSourceDef): string => {
    const { path: _path, schema, ...rest } = d;
    return stableJson({ ...rest, schema: schema.map(columnKey) });
  };
  return key(a) === key(b);
}

function describeColumn(c: Column): string {
  return `${c.typeText}${c.jsonPath !== undefined ? ` \`json:${c.jsonPath}\`` : ''}${c.defaultExpr !== undefined ? ` DEFAULT ${c.defaultExpr}` : ''}`;
}

/** What changed between two schemas, for messages. */
function schemaDiff(before: Column[], after: Column[]): string {
  const old = new Map(before.map((c) => [c.name, c]));
  const now = new Map(after.map((c) => [c.name, c]));
  const parts: string[] = [];
  for (const c of after) {
    const o = old.get(c.name);
    if (!o) parts.push(`column ${c.name} added`);
    else if (columnKey(o) !== columnKey(c)) parts.push(`column ${c.name} changed from ${describeColumn(o)} to ${describeColumn(c)}`);
  }
  for (const c of before) if (!now.has(c.name)) parts.push(`column ${c.name} removed`);
  return parts.length > 0 ? parts.join(', ') : 'columns reordered';
}

/** Import settings that cannot change in place (how CSV files are read can: it applies to the files still to come). */
type FixedImportField = Exclude<keyof ImportSettings, 'csvHeader' | 'csvDelimiter' | 'encoding'>;

const IMPORT_KEYWORDS: [FixedImportField, string][] = [
  ['connectionName', 'IMPORT_CONNECTION_NAME'],
  ['bucketUri', 'IMPORT_BUCKET_URI'],
  ['schedule', 'IMPORT_SCHEDULE'],
  ['fromTimestamp', 'IMPORT_FROM_TIMESTAMP'],
  ['format', 'IMPORT_FORMAT'],
];

function importValue(settings: ImportSettings, field: FixedImportField): string {
  switch (field) {
    case 'schedule':
      return settings.schedule.kind === 'cron' ? settings.schedule.expression : `@${settings.schedule.kind}`;
    case 'fromTimestamp':
      return settings.fromTimestamp ?? 'not set';
    case 'format':
      return settings.format ?? 'not set (by extension)';
    default:
      return settings[field];
  }
}

// ---------------------------------------------------------------------------
// S3 access checks (R2.1)

/** Replaces every value of the connection that is a secret with a placeholder. */
function scrubber(conn: ConnectionDef, written: Map<string, Written>): (message: string) => string {
  const values: [string, string][] = [];
  const add = (value: string | undefined, keyword: string, always: boolean): void => {
    if (value && value.length >= 3 && (always || written.get(keyword)?.secret)) values.push([value, `<${keyword} of connection ${conn.name}>`]);
  };
  add(conn.secretKey, 'S3_SECRET', true);
  add(conn.accessKey, 'S3_ACCESS_KEY', true);
  add(conn.roleArn, 'S3_ARN', false);
  add(conn.region, 'S3_REGION', false);
  if (conn.endpoint && written.get('S3_ENDPOINT')?.secret) {
    add(conn.endpoint, 'S3_ENDPOINT', true);
    try {
      add(new URL(conn.endpoint).host, 'S3_ENDPOINT', true);
    } catch {
      // not a URL: the whole value is scrubbed already
    }
  }
  values.sort((a, b) => b[0].length - a[0].length);
  return (message) => values.reduce((m, [value, placeholder]) => m.split(value).join(placeholder), message);
}

interface AccessContext {
  conn: ConnectionDef;
  connWritten: Map<string, Written>;
  ds: DataSourceDef;
  dsWritten: Map<string, Written>;
}

/** Checks the S3 side of one data source: role, bucket, region, prefix (R2.1). */
async function checkAccess({ conn, connWritten, ds, dsWritten }: AccessContext, s3: S3ClientCache): Promise<string> {
  const settings = ds.import!;
  const { bucket, prefix } = listPrefix(settings.bucketUri);
  const scrub = scrubber(conn, connWritten);
  const uri = dsWritten.get('IMPORT_BUCKET_URI');
  const uriSecret = uri?.secret ?? false;
  const bucketName = uriSecret ? `of IMPORT_BUCKET_URI ${uri!.value}` : bucket;
  const at = `${ds.path}:${uri?.line ?? 1}`;
  const connAt = (keyword: string): string => `${conn.path}:${connWritten.get(keyword)?.line ?? 1}`;
  const client = s3.clientFor(conn);

  /** An error of the credentials, reported on the connection; undefined when it is not one. */
  const credentialError = (err: unknown, doing: string): string | undefined => {
    const name = describeS3Error(err).code;
    if ((err as { type?: string }).type === 'AssumeRoleError') {
      return `${connAt('S3_ARN')}: connection ${conn.name} ${doing}: ${scrub(err instanceof Error ? err.message : String(err))}`;
    }
    if (name === 'InvalidAccessKeyId') {
      return `${connAt('S3_ACCESS_KEY')}: connection ${conn.name} ${doing}: the store does not know its S3_ACCESS_KEY (InvalidAccessKeyId). Check S3_ACCESS_KEY and S3_SECRET (values not shown)`;
    }
    if (name === 'SignatureDoesNotMatch') {
      return `${connAt('S3_SECRET')}: connection ${conn.name} ${doing}: its S3_SECRET does not match its S3_ACCESS_KEY (SignatureDoesNotMatch). Check S3_SECRET (value not shown)`;
    }
    if (name === 'InvalidClientTokenId' || name === 'ExpiredToken' || name === 'CredentialsProviderError') {
      return `${connAt(conn.roleArn ? 'S3_ARN' : 'S3_ACCESS_KEY')}: connection ${conn.name} ${doing}: its credentials were refused (${name})`;
    }
    return undefined;
  };
  const doing = `cannot access bucket ${bucketName} for data source ${ds.name}`;

  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const { code: name, status } = describeS3Error(err);
    const credentials = credentialError(err, doing);
    if (credentials) throw new Error(credentials);
    if (name === 'NotFound' || name === 'NoSuchBucket' || status === 404) {
      throw new Error(
        `${at}: bucket ${bucketName} does not exist (data source ${ds.name}, connection ${conn.name}, region ${show(conn.region, connWritten.get('S3_REGION'))}). ` +
          'Create the bucket or fix IMPORT_BUCKET_URI',
      );
    }
    if (status === 301) {
      const actual = (err as { $response?: { headers?: Record<string, string> } }).$response?.headers?.['x-amz-bucket-region'];
      throw new Error(
        `${connAt('S3_REGION')}: S3_REGION ${show(conn.region, connWritten.get('S3_REGION'))} of connection ${conn.name} is not the region of bucket ${bucketName}` +
          `${actual ? ` (${actual})` : ''} of data source ${ds.name}. Set S3_REGION to the bucket's region`,
      );
    }
    if (status === 403) {
      // HEAD answers without a body: ask again with a listing to learn why.
      try {
        await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
      } catch (listErr) {
        const why = credentialError(listErr, doing);
        if (why) throw new Error(why);
      }
      throw new Error(
        `${at}: access to bucket ${bucketName} is denied to connection ${conn.name} (data source ${ds.name}). ` +
          "Check that the role's access policy allows s3:ListBucket and s3:GetObject on the bucket and its objects (`s3c connection create s3` prints it)",
      );
    }
    throw new Error(`${at}: ${doing} with connection ${conn.name}: ${scrub(err instanceof Error && err.message ? `${name}: ${err.message}` : name)}`);
  }
  if (!conn.endpoint) {
    // S3-compatible stores answer GetBucketLocation loosely; AWS answers exactly.
    let location: { LocationConstraint?: string };
    try {
      location = await client.send(new GetBucketLocationCommand({ Bucket: bucket }));
    } catch (err) {
      // A refusal here used to reach the user as the SDK's bare message, without file:line (datafile fuzz test).
      const credentials = credentialError(err, doing);
      if (credentials) throw new Error(credentials);
      throw new Error(
        `${at}: connection ${conn.name} cannot read the region of bucket ${bucketName} for data source ${ds.name} (${describeS3Error(err).code}). ` +
          "Check that the role's access policy allows s3:GetBucketLocation on the bucket (`s3c connection create s3` prints it)",
      );
    }
    const region = location.LocationConstraint || 'us-east-1';
    if (region !== conn.region) {
      throw new Error(
        `${connAt('S3_REGION')}: S3_REGION ${show(conn.region, connWritten.get('S3_REGION'))} of connection ${conn.name} is not the region of bucket ${bucketName} ` +
          `(${region}) of data source ${ds.name}. Set S3_REGION "${region}"`,
      );
    }
  }
  try {
    await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
  } catch (err) {
    const credentials = credentialError(err, doing);
    if (credentials) throw new Error(credentials);
    const shownPrefix = uriSecret ? `the prefix of IMPORT_BUCKET_URI ${uri!.value}` : `s3://${bucket}/${prefix}`;
    throw new Error(
      `${at}: connection ${conn.name} cannot list ${shownPrefix} for data source ${ds.name} (${describeS3Error(err).code}). ` +
        "Check that the role's access policy allows s3:ListBucket on the bucket",
    );
  }
  // On AWS, a role whose trust policy does not require the external id is refused (R7.2).
  // S3-compatible stores (S3_ENDPOINT) ignore external ids, so the check means nothing there.
  if (conn.roleArn && !conn.endpoint && (await s3.roleAssumableWithoutExternalId(conn))) {
    throw new Error(
      `${connAt('S3_ARN')}: the role of connection ${conn.name} can be assumed without its external id. ` +
        'Its trust policy must require sts:ExternalId (the Condition of the trust policy that `s3c connection create s3` prints), ' +
        'or anyone who learns the role ARN could read the bucket through this product',
    );
  }
  const shownPrefix = uriSecret ? `the prefix of IMPORT_BUCKET_URI ${uri!.value}` : `s3://${bucket}/${prefix}`;
  return `${ds.name}: ${shownPrefix} is listable with connection ${conn.name}`;
}

/** How a probe call went: allowed, denied (AccessDenied), or failed otherwise (its error name). */
async function probe(call: () => Promise<unknown>): Promise<'allowed' | 'denied' | string> {
  try {
    await call();
    return 'allowed';
  } catch (err) {
    const { code: name, status } = describeS3Error(err);
    if (name === 'AccessDenied' || status === 403) return 'denied';
    // A missing probe key answers 404: reading it was allowed.
    if (name === 'NotFound' || name === 'NoSuchKey' || status === 404) return 'allowed';
    return name;
  }
}

/**
 * Probes, for one data source, each action of the access policy that the
 * listing check does not cover. s3:GetObject is required (an error);
 * s3:ListBucketMultipartUploads (the upload race) and, for @auto,
 * s3:GetBucketNotification (events) are warnings: the data source runs, and
 * says what it lacks. s3:PutBucketNotification is not probed (only a write
 * would tell): deploy's event wiring reports its refusal. Returns the warnings.
 */
async function probePermissions({ conn, ds, dsWritten }: AccessContext, s3: S3ClientCache, pollSeconds: number): Promise<string[]> {
  const settings = ds.import!;
  const { bucket, prefix } = listPrefix(settings.bucketUri);
  const uri = dsWritten.get('IMPORT_BUCKET_URI');
  const at = `${ds.path}:${uri?.line ?? 1}`;
  const bucketName = uri?.secret ? `of IMPORT_BUCKET_URI ${uri.value}` : bucket;
  const client = s3.clientFor(conn);
  const policyHint = "to the role's access policy (`s3c connection create s3` prints it)";
  const read = await probe(() => client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}.s3c-permission-probe` })));
  if (read === 'denied') {
    throw new Error(`${at}: connection ${conn.name} may not read objects of bucket ${bucketName} (s3:GetObject denied) for data source ${ds.name}. Add s3:GetObject ${policyHint}`);
  }
  const warnings: string[] = [];
  // MinIO reads a non-empty prefix as one exact key: ask for the bucket's uploads there (as the listing does).
  const uploads = await probe(() => client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: conn.endpoint ? undefined : prefix, MaxUploads: 1 })));
  if (uploads !== 'allowed') {
    const why = uploads === 'denied' ? 's3:ListBucketMultipartUploads denied' : `listing them failed: ${uploads}`;
    warnings.push(
      `${at}: connection ${conn.name} may not list multipart uploads (${why}) for data source ${ds.name}: upload race unguarded, ` +
        `so every sync lists bucket ${bucketName} again from its last guarded point. Add s3:ListBucketMultipartUploads ${policyHint}`,
    );
  }
  if (settings.schedule.kind === 'auto') {
    const events = await probe(() => client.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket })));
    if (events === 'denied') {
      warnings.push(
        `${at}: connection ${conn.name} may not read the notifications of bucket ${bucketName} (s3:GetBucketNotification denied): ` +
          `events cannot be turned on for @auto data source ${ds.name}, which polls every ${pollSeconds}s. Add s3:GetBucketNotification and s3:PutBucketNotification ${policyHint}`,
      );
    }
  }
  return warnings;
}

// ---------------------------------------------------------------------------
// The plan

/** Everything `deploy --check` does: parse, check, and plan. Changes nothing. */
export async function planDeploy(options: DeployOptions): Promise<DeployPlan> {
  const project = loadProject(options.projectDir, options.lookup);
  const plan: DeployPlan = { changes: [], errors: project.errors.map((e) => e.message), checks: [], warnings: [] };
  if (plan.errors.length > 0) return plan;
  const workspace = options.workspace.workspace;
  const previous = readDeployment(options.projectDir, workspace, options.workspace.environment);
  const next: Deployment = { version: 1, workspace, connections: {}, dataSources: {} };
  const now = new Date().toISOString();

  const current = new Map(project.dataSources.map((d) => [d.name, d]));
  const connectionTexts = new Map<string, string>();
  const connWritten = new Map<string, Map<string, Written>>();
  for (const conn of project.connections) {
    const text = readFileSync(conn.path, 'utf8');
    connectionTexts.set(conn.name, text);
    connWritten.set(conn.name, readWritten(text, conn.path, CONNECTION_KEYWORDS));
  }
  const dsWritten = new Map<string, Map<string, Written>>();
  for (const ds of project.dataSources) dsWritten.set(ds.name, readWritten(readFileSync(ds.path, 'utf8'), ds.path, DATASOURCE_KEYWORDS));

  for (const ds of project.dataSources) plan.warnings.push(...engineWarnings(ds, dsWritten.get(ds.name)!));

  // Connections (R2.3): region and role account are fixed while deployed data sources use them.
  for (const conn of project.connections) {
    const text = connectionTexts.get(conn.name)!;
    const written = connWritten.get(conn.name)!;
    const accountId = conn.roleArn ? roleAccountId(conn.roleArn) : undefined;
    const before = previous.connections[conn.name];
    const fingerprint = externalIdFingerprintOf(conn, before, options);
    next.connections[conn.name] = {
      name: conn.name,
      path: relative(options.projectDir, conn.path) || conn.path,
      text,
      region: conn.region,
      ...(accountId ? { roleAccountId: accountId } : {}),
      ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
      ...(fingerprint ? { externalIdFingerprint: fingerprint } : {}),
    };
    const idChanged = before?.externalIdFingerprint !== undefined && fingerprint !== undefined && before.externalIdFingerprint !== fingerprint;
    if (idChanged && !options.acceptNewExternalIds) {
      const secretFile = relative(options.projectDir, workspaceSecretPath(options.projectDir, options.workspace.environment));
      plan.errors.push(
        `${conn.path}:${written.get('S3_ARN')?.line ?? 1}: connection ${conn.name} would assume its role with another external id ` +
          "than the one it was deployed with, and the role's trust policy names that one: the workspace secret " +
          `(${secretFile} or S3C_WORKSPACE_SECRET) or the workspace name (${workspace}) differs from the deploy's. ${externalIdRemedy(secretFile)}`,
      );
    }
    // Deployed data sources that use the connection and still do after this deploy.
    const users = Object.entries(previous.dataSources)
      .filter(([name, d]) => d.def.import?.connectionName === conn.name && current.get(name)?.import?.connectionName === conn.name)
      .map(([name]) => name)
      .sort();
    if (before && users.length > 0) {
      const beforeWritten = readWritten(before.text, before.path, CONNECTION_KEYWORDS);
      const usedBy = users.length === 1 ? `data source ${users[0]} uses it` : `data sources ${users.join(', ')} use it`;
      if (before.region !== conn.region) {
        const w = written.get('S3_REGION');
        plan.errors.push(
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
        plan.errors.push(`${conn.path}:${line}: ${what} while ${usedBy}. ${connectionRemedy(users)}`);
      }
    }
    const changed =
      !before ||
      before.text !== text ||
      before.region !== conn.region ||
      before.roleAccountId !== accountId ||
      (before.endpoint ?? '') !== (conn.endpoint ?? '') ||
      idChanged;
    const arn = written.get('S3_ARN');
    const endpoint = written.get('S3_ENDPOINT');
    plan.changes.push({
      action: !before ? 'create' : changed ? 'update' : 'unchanged',
      kind: 'connection',
      name: conn.name,
      detail:
        `region ${show(conn.region, written.get('S3_REGION'))}, ` +
        `${conn.roleArn ? (arn?.secret ? `role from ${arn.value}` : `role in account ${accountId}`) : 'static keys'}` +
        `${conn.endpoint ? `, endpoint ${endpoint?.secret ? endpoint.value : conn.endpoint}` : ''}`,
    });
  }

  // Data sources (R2.3).
  for (const ds of project.dataSources) {
    const written = dsWritten.get(ds.name)!;
    const lineOf = (keyword: string, fallback?: string): number =>
      written.get(keyword)?.line ?? (fallback ? written.get(fallback)?.line : undefined) ?? 1;
    const secretKeywords = [...written].filter(([, w]) => w.secret).map(([k]) => k);
    const deployed = previous.dataSources[ds.name];
    const before = deployed?.def;
    const same = before !== undefined && sameDefinition(before, ds);
    const uriWritten = written.get('IMPORT_BUCKET_URI');
    next.dataSources[ds.name] = {
      def: ds,
      deployedAt: same ? deployed!.deployedAt : now,
      ...(secretKeywords.length > 0 ? { secretKeywords } : {}),
      ...(uriWritten?.secret ? { bucketUriAsWritten: uriWritten.value } : {}),
    };
    if (!before) {
      // A table deployed earlier stays when its data source goes; the destination does not tell `Events` from `events`.
      const sameTable = Object.keys(previous.dataSources).find((other) => other !== ds.name && other.toLowerCase() === ds.name.toLowerCase());
      if (sameTable !== undefined) {
        plan.errors.push(
          `${ds.path}:1: data source ${ds.name} would load into the table of data source ${sameTable}, deployed earlier ` +
            '(table names are case-insensitive, and a removed data source keeps its table). Choose a name that differs in more than case.',
        );
        continue;
      }
      // A removed data source keeps its sample table too: `x__sample` must not load into x's.
      const sampleOf = checkSampleNameFree(ds.name, Object.keys(previous.dataSources));
      if (!sampleOf.ok) {
        plan.errors.push(`${ds.path}:1: ${sampleOf.problem.what}: found ${sampleOf.problem.found}, expected ${sampleOf.problem.expected} (deployed earlier)`);
        continue;
      }
      plan.changes.push({ action: 'create', kind: 'datasource', name: ds.name, detail: describe(ds, written), ...(ds.import ? { workflow: 'start' as const } : {}) });
      continue;
    }
    if (same) {
      plan.changes.push({ action: 'unchanged', kind: 'datasource', name: ds.name, detail: describe(ds, written), ...(ds.import ? { workflow: 'ensure' as const } : {}) });
      continue;
    }
    const wasSecret = new Set(deployed!.secretKeywords ?? []);
    const problems: string[] = [];
    const a = before.import;
    const b = ds.import;
    if (a && b) {
      const firstImportLine = Math.min(...IMPORT_KEYWORDS.map(([, k]) => written.get(k)?.line ?? Infinity));
      for (const [field, keyword] of IMPORT_KEYWORDS) {
        const old = importValue(a, field);
        const value = importValue(b, field);
        if (old === value) continue;
        // @on-demand is as manual as @once (the reference treats them alike): both may start following the bucket.
        if (field === 'schedule' && (a.schedule.kind === 'once' || a.schedule.kind === 'on-demand') && b.schedule.kind === 'auto') continue;
        const w = written.get(keyword);
        problems.push(
          `${ds.path}:${w?.line ?? firstImportLine}: ${keyword} of data source ${ds.name} cannot change in place ` +
            `(deployed: ${wasSecret.has(keyword) ? 'a secret, not shown' : old}; now: ${show(value, w)}); ` +
            `the only change allowed in place is IMPORT_SCHEDULE from @once or @on-demand to @auto. ${DATASOURCE_REMEDY}`,
        );
      }
    }
    // The table was created from SCHEMA and ENGINE settings: they stay.
    const tableChanges: [string, string, string, string | undefined][] = [];
    if (stableJson(before.schema.map(columnKey)) !== stableJson(ds.schema.map(columnKey))) {
      tableChanges.push(['SCHEMA', schemaDiff(before.schema, ds.schema), '', undefined]);
    }
    const settings: [string, string | undefined, string | undefined][] = [
      ['ENGINE', before.engine, ds.engine],
      ['ENGINE_PARTITION_KEY', before.partitionKey, ds.partitionKey],
      ['ENGINE_SORTING_KEY', before.sortingKey, ds.sortingKey],
    ];
    for (const [keyword, old, value] of settings) {
      if (old !== value) tableChanges.push([keyword, old ?? 'not set', value ?? 'not set', keyword === 'ENGINE_SORTING_KEY' ? 'SCHEMA' : undefined]);
    }
    for (const [keyword, old, value, fallback] of tableChanges) {
      const change = keyword === 'SCHEMA' ? old : `deployed: ${wasSecret.has(keyword) ? 'a secret, not shown' : old}; now: ${show(value, written.get(keyword))}`;
      problems.push(`${ds.path}:${lineOf(keyword, fallback)}: ${keyword} of data source ${ds.name} cannot change once its table exists (${change}). ${TABLE_REMEDY}`);
    }
    if (problems.length > 0) {
      plan.errors.push(...problems);
      continue;
    }
    let detail: string;
    let workflow: DeployChange['workflow'];
    const ttlChange = before.ttl !== ds.ttl ? `ENGINE_TTL ${ds.ttl === undefined ? 'removed' : `now ${show(ds.ttl, written.get('ENGINE_TTL'))}`}` : undefined;
    if (a && b) {
      workflow = 'signal';
      detail = a.schedule.kind !== b.schedule.kind
        ? `${describe(ds, written)}; IMPORT_SCHEDULE ${scheduleText(before)} → @auto: loads every matching file since the last sync, then follows the bucket`
        : `${describe(ds, written)}; ${ttlChange ?? 'description changed'}`;
    } else if (a) {
      workflow = 'stop';
      detail = 'IMPORT_* settings removed: its workflow stops; its table is kept';
    } else if (b) {
      workflow = 'start';
      detail = `IMPORT_* settings added: ${describe(ds, written)}; its workflow starts`;
    } else {
      detail = `${describe(ds, written)}; ${ttlChange ?? 'description changed'}`;
    }
    plan.changes.push({ action: 'update', kind: 'datasource', name: ds.name, detail, ...(workflow ? { workflow } : {}) });
  }
  for (const [name, deployed] of Object.entries(previous.dataSources)) {
    if (!current.has(name)) {
      plan.changes.push({
        action: 'remove',
        kind: 'datasource',
        name,
        detail: deployed.def.import ? 'its workflow stops; its table is kept' : 'its table is kept',
        ...(deployed.def.import ? { workflow: 'stop' as const } : {}),
      });
    }
  }
  for (const name of Object.keys(previous.connections)) {
    if (!next.connections[name]) plan.changes.push({ action: 'remove', kind: 'connection', name, detail: '' });
  }

  // Collisions between @auto data sources on one bucket (R3.5). The one that
  // was deployed first (as @auto, then at all, then by name) keeps its pattern.
  const rank = (ds: DataSourceDef): [number, string, string] => {
    const deployed = previous.dataSources[ds.name];
    const wasAuto = deployed?.def.import?.schedule.kind === 'auto';
    return [wasAuto ? 0 : deployed ? 1 : 2, deployed?.deployedAt ?? '', ds.name];
  };
  const autos = project.dataSources
    .filter((d) => d.import?.schedule.kind === 'auto')
    .sort((x, y) => {
      const [rx, ry] = [rank(x), rank(y)];
      return rx[0] - ry[0] || (rx[1] < ry[1] ? -1 : rx[1] > ry[1] ? 1 : 0) || (rx[2] < ry[2] ? -1 : rx[2] > ry[2] ? 1 : 0);
    });
  for (let i = 1; i < autos.length; i++) {
    const second = autos[i]!;
    for (let j = 0; j < i; j++) {
      const first = autos[j]!;
      const example = collisionExample(first.import!.bucketUri, second.import!.bucketUri);
      if (example === undefined) continue;
      const w2 = dsWritten.get(second.name)!.get('IMPORT_BUCKET_URI');
      const w1 = dsWritten.get(first.name)!.get('IMPORT_BUCKET_URI');
      const anySecret = (w1?.secret ?? false) || (w2?.secret ?? false);
      const deployedFirst = previous.dataSources[first.name]?.def.import?.schedule.kind === 'auto';
      plan.errors.push(
        `${second.path}:${w2?.line ?? 1}: IMPORT_BUCKET_URI ${show(second.import!.bucketUri, w2)} of @auto data source ${second.name} ` +
          `collides with ${show(first.import!.bucketUri, w1)} of ${deployedFirst ? 'the deployed ' : ''}@auto data source ${first.name}` +
          `${anySecret ? '' : ` (both match the key '${example}')`}: only one @auto data source may follow a bucket pattern. ` +
          'Narrow one pattern so that they match no common key, or make one @once or @on-demand',
      );
    }
  }

  if (plan.errors.length === 0 && !options.skipAccessChecks) {
    const connections = new Map(project.connections.map((c) => [c.name, c]));
    for (const ds of project.dataSources) {
      const conn = ds.import ? connections.get(ds.import.connectionName) : undefined;
      if (!conn) continue;
      try {
        const access = { conn, connWritten: connWritten.get(conn.name)!, ds, dsWritten: dsWritten.get(ds.name)! };
        plan.checks.push(await checkAccess(access, options.s3));
        plan.warnings.push(...(await probePermissions(access, options.s3, options.workspace.pollIntervalSeconds)).map(scrubber(conn, access.connWritten)));
      } catch (err) {
        const message = scrubber(conn, connWritten.get(conn.name)!)(err instanceof Error ? err.message : String(err));
        plan.errors.push(locatedAccessError(message, ds, conn, dsWritten.get(ds.name)!));
      }
    }
  }
  if (plan.errors.length === 0) plan.next = next;
  return plan;
}

/**
 * The fingerprint of the external id `conn`'s role is assumed with; the
 * deployed one when deploy is not told the id (so it is not lost); none for
 * static keys, which use no external id.
 */
function externalIdFingerprintOf(conn: ConnectionDef, before: DeployedConnection | undefined, options: DeployOptions): string | undefined {
  if (!conn.roleArn) return undefined;
  return options.externalId ? externalIdFingerprint(options.externalId(conn.name)) : before?.externalIdFingerprint;
}

/**
 * An access-check message as `file:line: ...`: checkAccess places the ones it
 * words itself; anything else (an SDK or network error on the way) is put on
 * the data source's IMPORT_BUCKET_URI line, so every message says where.
 */
function locatedAccessError(message: string, ds: DataSourceDef, conn: ConnectionDef, written: Map<string, Written>): string {
  if (message.startsWith(`${ds.path}:`) || message.startsWith(`${conn.path}:`)) return message;
  const line = written.get('IMPORT_BUCKET_URI')?.line ?? 1;
  return `${ds.path}:${line}: cannot check the bucket of data source ${ds.name} with connection ${conn.name}: ${message.replace(/\s+/g, ' ')}`;
}

/** Why an ENGINE setting does nothing on DuckDB, by setting (ENGINE by engine name). */
const NOT_ON_DUCKDB: Record<string, string> = {
  ReplacingMergeTree: 'rows with the same sorting key are not de-duplicated: every loaded row is kept',
  SummingMergeTree: 'rows with the same sorting key are not summed: every loaded row is kept',
  AggregatingMergeTree: 'rows with the same sorting key are not aggregated: every loaded row is kept',
  ENGINE_PARTITION_KEY: 'DuckDB tables have no partitions',
  ENGINE_SORTING_KEY: 'rows are stored in load order, not sorted by the key (sort with ORDER BY when querying)',
};

/**
 * A warning for each ENGINE setting written in the file that the DuckDB
 * destination cannot honour (ENGINE "MergeTree" is a plain table, and
 * ENGINE_TTL is applied by a schedule): silently ignoring them would let a
 * user believe rows are de-duplicated or expired.
 */
function engineWarnings(ds: DataSourceDef, written: Map<string, Written>): string[] {
  const warnings: string[] = [];
  const warn = (keyword: string, value: string, why: string): void => {
    const w = written.get(keyword);
    warnings.push(`${ds.path}:${w?.line ?? 1}: ${keyword} ${show(JSON.stringify(value), w)} of data source ${ds.name} is not applied by the DuckDB destination: ${why}`);
  };
  const engineWhy = NOT_ON_DUCKDB[ds.engine];
  if (written.has('ENGINE') && engineWhy) warn('ENGINE', ds.engine, engineWhy);
  if (written.has('ENGINE_PARTITION_KEY') && ds.partitionKey !== undefined) warn('ENGINE_PARTITION_KEY', ds.partitionKey, NOT_ON_DUCKDB.ENGINE_PARTITION_KEY!);
  if (written.has('ENGINE_SORTING_KEY') && ds.sortingKey !== undefined) warn('ENGINE_SORTING_KEY', ds.sortingKey, NOT_ON_DUCKDB.ENGINE_SORTING_KEY!);
  return warnings;
}

function describe(ds: DataSourceDef, written: Map<string, Written>): string {
  if (!ds.import) return `${ds.schema.length} columns, no import`;
  return `${show(ds.import.bucketUri, written.get('IMPORT_BUCKET_URI'))} ${scheduleText(ds)}, ${ds.schema.length} columns`;
}

/** Input of a data source's workflow, as deploy starts it. */
export function workflowInput(ds: DataSourceDef, options: { workspace: WorkspaceConfig; temporal: TemporalConfig }): DataSourceWorkflowInput {
  return {
    workspace: options.workspace.workspace,
    dataSource: ds,
    pollIntervalSeconds: options.workspace.pollIntervalSeconds,
    ingestTaskQueue: options.temporal.taskQueues.ingest,
    rateLimited: options.workspace.filesPerMinute > 0,
    maxHistoryEvents: options.workspace.maxHistoryEvents,
  };
}

/**
 * Sends the workspace settings to a running data source workflow: one
 * deployed earlier keeps its input, so a changed s3c.yaml (filesPerMinute
 * raised from 0, another poll interval) reaches it only so (issue #18 item 10).
 */
async function sendSettings(client: Client, workflowId: string, input: DataSourceWorkflowInput): Promise<void> {
  const { pollIntervalSeconds, rateLimited, maxHistoryEvents } = input;
  try {
    await client.workflow.getHandle(workflowId).signal(settingsSignal, { pollIntervalSeconds, rateLimited, maxHistoryEvents });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

/**
 * Applies a plan: writes the snapshot (workers read connections from it), then
 * starts, updates and stops workflows.
 */
export async function applyDeploy(plan: DeployPlan, client: Client, options: DeployOptions): Promise<string[]> {
  const next = plan.next;
  if (!next) throw new Error('the deploy plan has errors; nothing was changed');
  const done: string[] = [];
  const previous = readDeployment(options.projectDir, options.workspace.workspace, options.workspace.environment);
  writeDeployment(options.projectDir, next, options.workspace.environment);
  const workspace = options.workspace.workspace;
  const connections = new Map(loadProject(options.projectDir, options.lookup).connections.map((c) => [c.name, c]));
  const wiring = { workspace: options.workspace, s3: options.s3, apiToken: options.apiToken };
  const wire = async (deployed: DeployedDataSource | undefined, on: boolean): Promise<void> => {
    const def = deployed?.def;
    const conn = def?.import ? connections.get(def.import.connectionName) : undefined;
    if (!deployed || !def || !conn) return;
    const shown = deployed.bucketUriAsWritten;
    const line = on ? await wireDataSource(def, conn, wiring, shown) : await unwireDataSource(def, conn, wiring, shown);
    if (line) done.push(line);
  };
  // The workspace's rate limiter serves every data source; start it first.
  await ensureLimiter(client, limiterConfig(options.workspace), options.temporal.taskQueues.control, workspace);
  const scheduleOptions = { workspace, controlTaskQueue: options.temporal.taskQueues.control };

  // Payloads carry a bucket URI from a secret as its reference; the snapshot above keeps the value.
  const payloadDef = (name: string): DataSourceDef => payloadDefinition(next.dataSources[name]!);
  const start = async (def: DataSourceDef, workflowId: string): Promise<boolean> => {
    const shown = payloadDef(def.name);
    const uri = shown.import!.bucketUri;
    const secretUri = uri !== def.import!.bucketUri;
    try {
      await client.workflow.start('dataSourceWorkflow', {
        workflowId,
        taskQueue: options.temporal.taskQueues.control,
        args: [workflowInput(shown, options)],
        typedSearchAttributes: [
          { key: SA_DATA_SOURCE, value: def.name },
          ...(secretUri ? [] : [{ key: SA_BUCKET, value: listPrefix(uri).bucket }]),
          { key: SA_SCHEDULE, value: scheduleText(def) },
        ],
        memo: { bucketUri: uri, schedule: scheduleText(def), path: relative(options.projectDir, def.path) },
        staticSummary: `${def.name}: ${uri} ${scheduleText(def)}`,
      });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw err;
    }
  };

  const ttlOptions = { ...scheduleOptions, ingestTaskQueue: options.temporal.taskQueues.ingest };
  for (const change of plan.changes) {
    if (change.kind !== 'datasource') continue;
    // ENGINE_TTL does not need an import: every data source with one gets its schedule, and loses it with the setting.
    const def = next.dataSources[change.name]?.def;
    const ttl = def ? await syncTtlSchedule(client, def, ttlOptions) : await removeTtlSchedule(client, workspace, change.name);
    if (ttl) done.push(ttl);
  }

  for (const change of plan.changes) {
    if (change.kind !== 'datasource' || !change.workflow) continue;
    const workflowId = dataSourceWorkflowId(workspace, change.name);
    const def = next.dataSources[change.name]?.def;
    switch (change.workflow) {
      case 'start':
      case 'ensure':
        if (!def?.import) break;
        if (await start(def, workflowId)) done.push(`started workflow ${workflowId}`);
        else {
          if (change.workflow === 'start') done.push(`workflow ${workflowId} was already running`);
          await sendSettings(client, workflowId, workflowInput(def, options));
        }
        {
          const scheduled = await ensureSchedule(client, def, scheduleOptions);
          if (scheduled) done.push(scheduled);
        }
        if (change.workflow === 'start' || change.action !== 'unchanged') await wire(next.dataSources[change.name], true);
        break;
      case 'signal':
        if (!def?.import) break;
        try {
          await sendSettings(client, workflowId, workflowInput(def, options));
          await client.workflow.getHandle(workflowId).signal(redeploySignal, payloadDef(def.name));
          done.push(`updated workflow ${workflowId} (${scheduleText(def)})`);
          await wire(next.dataSources[change.name], true);
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          // Not running (stopped outside deploy): start it with the new definition.
          if (await start(def, workflowId)) done.push(`started workflow ${workflowId}`);
        }
        break;
      case 'stop':
        {
          const removed = await removeSchedule(client, workspace, change.name);
          if (removed) done.push(removed);
          // Planned syncs (`datasource sync --at/--every`) would ask a workflow that no longer runs.
          for (const id of await unschedulePlannedSyncs(client, workspace, change.name)) done.push(`deleted schedule ${id}`);
          await wire(previous.dataSources[change.name], false);
        }
        try {
          await client.workflow.getHandle(workflowId).terminate(change.action === 'remove' ? 'data source removed by deploy' : 'IMPORT_* settings removed by deploy');
          done.push(`stopped workflow ${workflowId}`);
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
        break;
    }
  }
  return done;
}
