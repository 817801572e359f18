/**
 * S3 access checks of deploy (R2.1): for each data source with an import, its
 * connection reaches the bucket in the right region, lists its prefix, may read
 * objects, and (a role on AWS) cannot be assumed without its external id. The
 * actions the listing does not need are probed, and their absence is a warning.
 *
 * Every message says `file:line` and never shows a value from a secret.
 */
import {
  GetBucketLocationCommand,
  GetBucketNotificationConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3ClientCache } from '../aws/credentials';
import { describeS3Error } from '../aws/s3Errors';
import type { ConnectionDef, DataSourceDef } from '../datafiles/types';
import { listPrefix } from '../s3uri';
import { mapConcurrently } from '../util/concurrency';
import type { PlanContext } from './types';
import { show, type WrittenFile } from './written';

interface AccessContext {
  conn: ConnectionDef;
  connWritten: WrittenFile;
  ds: DataSourceDef;
  dsWritten: WrittenFile;
}

/** One data source's bucket as the checks call it and as their messages name it. */
interface Target extends AccessContext {
  client: S3Client;
  bucket: string;
  prefix: string;
  /** The bucket for messages: its name, or `of IMPORT_BUCKET_URI <reference>` when the URI is a secret. */
  bucketName: string;
  /** The listed prefix for messages, named the same way. */
  shownPrefix: string;
  /** `file:line` of the data source's IMPORT_BUCKET_URI. */
  at: string;
  /** What failed, for credential errors: `cannot access bucket … for data source …`. */
  doing: string;
  scrub: (message: string) => string;
}

/** Replaces every value of the connection that is a secret with a placeholder. */
function scrubber(conn: ConnectionDef, written: WrittenFile): (message: string) => string {
  const values: [string, string][] = [];
  const add = (value: string | undefined, keyword: string, always: boolean): void => {
    if (value && value.length >= 3 && (always || written.get(keyword)?.secret))
      values.push([value, `<${keyword} of connection ${conn.name}>`]);
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

function targetOf(access: AccessContext, s3: S3ClientCache): Target {
  const { conn, ds, dsWritten } = access;
  const { bucket, prefix } = listPrefix(ds.import!.bucketUri);
  const uri = dsWritten.get('IMPORT_BUCKET_URI');
  const bucketName = uri?.secret ? `of IMPORT_BUCKET_URI ${uri.value}` : bucket;
  return {
    ...access,
    client: s3.clientFor(conn),
    bucket,
    prefix,
    bucketName,
    shownPrefix: uri?.secret ? `the prefix of IMPORT_BUCKET_URI ${uri.value}` : `s3://${bucket}/${prefix}`,
    at: `${ds.path}:${uri?.line ?? 1}`,
    doing: `cannot access bucket ${bucketName} for data source ${ds.name}`,
    scrub: scrubber(conn, access.connWritten),
  };
}

/** `file:line` of a connection keyword. */
function connAt(t: Target, keyword: string): string {
  return `${t.conn.path}:${t.connWritten.get(keyword)?.line ?? 1}`;
}

/** An error of the credentials, reported on the connection; undefined when it is not one. */
function credentialError(t: Target, err: unknown): string | undefined {
  const { conn, doing } = t;
  const name = describeS3Error(err).code;
  if ((err as { type?: string }).type === 'AssumeRoleError') {
    return `${connAt(t, 'S3_ARN')}: connection ${conn.name} ${doing}: ${t.scrub(err instanceof Error ? err.message : String(err))}`;
  }
  if (name === 'InvalidAccessKeyId') {
    return `${connAt(t, 'S3_ACCESS_KEY')}: connection ${conn.name} ${doing}: the store does not know its S3_ACCESS_KEY (InvalidAccessKeyId). Check S3_ACCESS_KEY and S3_SECRET (values not shown)`;
  }
  if (name === 'SignatureDoesNotMatch') {
    return `${connAt(t, 'S3_SECRET')}: connection ${conn.name} ${doing}: its S3_SECRET does not match its S3_ACCESS_KEY (SignatureDoesNotMatch). Check S3_SECRET (value not shown)`;
  }
  if (name === 'InvalidClientTokenId' || name === 'ExpiredToken' || name === 'CredentialsProviderError') {
    return `${connAt(t, conn.roleArn ? 'S3_ARN' : 'S3_ACCESS_KEY')}: connection ${conn.name} ${doing}: its credentials were refused (${name})`;
  }
  return undefined;
}

/** Throws the credential error `err` is, if it is one. */
function throwIfCredentials(t: Target, err: unknown): void {
  const credentials = credentialError(t, err);
  if (credentials) throw new Error(credentials);
}

function wrongRegion(t: Target, actual: string | undefined, remedy: string): Error {
  const { conn, ds } = t;
  return new Error(
    `${connAt(t, 'S3_REGION')}: S3_REGION ${show(conn.region, t.connWritten.get('S3_REGION'))} of connection ${conn.name} is not the region of bucket ${t.bucketName}` +
      `${actual ? ` (${actual})` : ''} of data source ${ds.name}. ${remedy}`,
  );
}

/** The bucket exists, in the connection's region, and answers to its credentials. */
async function checkBucket(t: Target): Promise<void> {
  const { conn, ds } = t;
  try {
    await t.client.send(new HeadBucketCommand({ Bucket: t.bucket }));
  } catch (err) {
    const { code: name, status } = describeS3Error(err);
    throwIfCredentials(t, err);
    if (name === 'NotFound' || name === 'NoSuchBucket' || status === 404) {
      throw new Error(
        `${t.at}: bucket ${t.bucketName} does not exist (data source ${ds.name}, connection ${conn.name}, region ${show(conn.region, t.connWritten.get('S3_REGION'))}). ` +
          'Create the bucket or fix IMPORT_BUCKET_URI',
      );
    }
    if (status === 301) {
      const actual = (err as { $response?: { headers?: Record<string, string> } }).$response?.headers?.[
        'x-amz-bucket-region'
      ];
      throw wrongRegion(t, actual, "Set S3_REGION to the bucket's region");
    }
    if (status === 403) throw await whyDenied(t);
    throw new Error(
      `${t.at}: ${t.doing} with connection ${conn.name}: ${t.scrub(err instanceof Error && err.message ? `${name}: ${err.message}` : name)}`,
    );
  }
}

/** HEAD answers a refusal without a body: ask again with a listing to learn why. */
async function whyDenied(t: Target): Promise<Error> {
  try {
    await t.client.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: t.prefix, MaxKeys: 1 }));
  } catch (listErr) {
    const why = credentialError(t, listErr);
    if (why) return new Error(why);
  }
  return new Error(
    `${t.at}: access to bucket ${t.bucketName} is denied to connection ${t.conn.name} (data source ${t.ds.name}). ` +
      "Check that the role's access policy allows s3:ListBucket and s3:GetObject on the bucket and its objects (`s3c connection create s3` prints it)",
  );
}

/** On AWS, the bucket's region is the connection's (S3-compatible stores answer GetBucketLocation loosely). */
async function checkRegion(t: Target): Promise<void> {
  let location: { LocationConstraint?: string };
  try {
    location = await t.client.send(new GetBucketLocationCommand({ Bucket: t.bucket }));
  } catch (err) {
    // A refusal here used to reach the user as the SDK's bare message, without file:line (datafile fuzz test).
    throwIfCredentials(t, err);
    throw new Error(
      `${t.at}: connection ${t.conn.name} cannot read the region of bucket ${t.bucketName} for data source ${t.ds.name} (${describeS3Error(err).code}). ` +
        "Check that the role's access policy allows s3:GetBucketLocation on the bucket (`s3c connection create s3` prints it)",
    );
  }
  const region = location.LocationConstraint || 'us-east-1';
  if (region !== t.conn.region) throw wrongRegion(t, region, `Set S3_REGION "${region}"`);
}

async function checkListing(t: Target): Promise<void> {
  try {
    await t.client.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: t.prefix, MaxKeys: 1 }));
  } catch (err) {
    throwIfCredentials(t, err);
    throw new Error(
      `${t.at}: connection ${t.conn.name} cannot list ${t.shownPrefix} for data source ${t.ds.name} (${describeS3Error(err).code}). ` +
        "Check that the role's access policy allows s3:ListBucket on the bucket",
    );
  }
}

/**
 * On AWS, a role whose trust policy does not require the external id is refused (R7.2).
 * S3-compatible stores (S3_ENDPOINT) ignore external ids, so the check means nothing there.
 */
async function checkExternalIdRequired(t: Target, s3: S3ClientCache): Promise<void> {
  const { conn } = t;
  if (!conn.roleArn || conn.endpoint || !(await s3.roleAssumableWithoutExternalId(conn))) return;
  throw new Error(
    `${connAt(t, 'S3_ARN')}: the role of connection ${conn.name} can be assumed without its external id. ` +
      'Its trust policy must require sts:ExternalId (the Condition of the trust policy that `s3c connection create s3` prints), ' +
      'or anyone who learns the role ARN could read the bucket through this product',
  );
}

/** Checks the S3 side of one data source: role, bucket, region, prefix (R2.1); returns what it verified. */
async function checkAccess(t: Target, s3: S3ClientCache): Promise<string> {
  await checkBucket(t);
  if (!t.conn.endpoint) await checkRegion(t);
  await checkListing(t);
  await checkExternalIdRequired(t, s3);
  return `${t.ds.name}: ${t.shownPrefix} is listable with connection ${t.conn.name}`;
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

const POLICY_HINT = "to the role's access policy (`s3c connection create s3` prints it)";

/**
 * Probes, for one data source, each action of the access policy that the
 * listing check does not cover. s3:GetObject is required (an error);
 * s3:ListBucketMultipartUploads (the upload race) and, for @auto,
 * s3:GetBucketNotification (events) are warnings: the data source runs, and
 * says what it lacks. s3:PutBucketNotification is not probed (only a write
 * would tell): deploy's event wiring reports its refusal. Returns the warnings.
 */
async function probePermissions(t: Target, pollSeconds: number): Promise<string[]> {
  const { conn, ds } = t;
  const read = await probe(() =>
    t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: `${t.prefix}.s3c-permission-probe` })),
  );
  if (read === 'denied') {
    throw new Error(
      `${t.at}: connection ${conn.name} may not read objects of bucket ${t.bucketName} (s3:GetObject denied) for data source ${ds.name}. Add s3:GetObject ${POLICY_HINT}`,
    );
  }
  const warnings = [await probeUploads(t)];
  if (ds.import!.schedule.kind === 'auto') warnings.push(await probeNotifications(t, pollSeconds));
  return warnings.filter((w): w is string => w !== undefined);
}

async function probeUploads(t: Target): Promise<string | undefined> {
  // MinIO reads a non-empty prefix as one exact key: ask for the bucket's uploads there (as the listing does).
  const prefix = t.conn.endpoint ? undefined : t.prefix;
  const uploads = await probe(() =>
    t.client.send(new ListMultipartUploadsCommand({ Bucket: t.bucket, Prefix: prefix, MaxUploads: 1 })),
  );
  if (uploads === 'allowed') return undefined;
  const why = uploads === 'denied' ? 's3:ListBucketMultipartUploads denied' : `listing them failed: ${uploads}`;
  return (
    `${t.at}: connection ${t.conn.name} may not list multipart uploads (${why}) for data source ${t.ds.name}: upload race unguarded, ` +
    `so every sync lists bucket ${t.bucketName} again from its last guarded point. Add s3:ListBucketMultipartUploads ${POLICY_HINT}`
  );
}

async function probeNotifications(t: Target, pollSeconds: number): Promise<string | undefined> {
  const events = await probe(() => t.client.send(new GetBucketNotificationConfigurationCommand({ Bucket: t.bucket })));
  if (events !== 'denied') return undefined;
  return (
    `${t.at}: connection ${t.conn.name} may not read the notifications of bucket ${t.bucketName} (s3:GetBucketNotification denied): ` +
    `events cannot be turned on for @auto data source ${t.ds.name}, which polls every ${pollSeconds}s. Add s3:GetBucketNotification and s3:PutBucketNotification ${POLICY_HINT}`
  );
}

/**
 * An access-check message as `file:line: ...`: checkAccess places the ones it
 * words itself; anything else (an SDK or network error on the way) is put on
 * the data source's IMPORT_BUCKET_URI line, so every message says where.
 */
function locatedAccessError(message: string, ds: DataSourceDef, conn: ConnectionDef, written: WrittenFile): string {
  if (message.startsWith(`${ds.path}:`) || message.startsWith(`${conn.path}:`)) return message;
  const line = written.get('IMPORT_BUCKET_URI')?.line ?? 1;
  return `${ds.path}:${line}: cannot check the bucket of data source ${ds.name} with connection ${conn.name}: ${message.replace(/\s+/g, ' ')}`;
}

/** What the S3 checks found for one data source: its check line and warnings, or its error (located). */
interface AccessOutcome {
  check?: string;
  warnings: string[];
  error?: string;
}

/**
 * Data sources checked at once, this many at a time: each is a few S3 round
 * trips, and one after another they added up with every data source of the
 * project on every deploy (issue 23, goal 7).
 */
const ACCESS_WIDTH = 8;

async function accessOf(ctx: PlanContext, ds: DataSourceDef, conn: ConnectionDef): Promise<AccessOutcome> {
  const { options } = ctx;
  const access = { conn, connWritten: ctx.connWritten.get(conn.name)!, ds, dsWritten: ctx.dsWritten.get(ds.name)! };
  const scrub = scrubber(conn, access.connWritten);
  const outcome: AccessOutcome = { warnings: [] };
  try {
    const target = targetOf(access, options.s3);
    outcome.check = await checkAccess(target, options.s3);
    outcome.warnings = (await probePermissions(target, options.workspace.pollIntervalSeconds)).map(scrub);
  } catch (err) {
    const message = scrub(err instanceof Error ? err.message : String(err));
    outcome.error = locatedAccessError(message, ds, conn, access.dsWritten);
  }
  return outcome;
}

/** Checks and probes every data source with an import; adds what it verified, warnings and errors to the plan. */
export async function checkProjectAccess(ctx: PlanContext): Promise<void> {
  const { plan } = ctx;
  const connections = new Map(ctx.project.connections.map((c) => [c.name, c]));
  const checked = ctx.project.dataSources.flatMap((ds) => {
    const conn = ds.import ? connections.get(ds.import.connectionName) : undefined;
    return conn ? [{ ds, conn }] : [];
  });
  // In the project's order, whichever answered first.
  const outcomes = await mapConcurrently(checked, ACCESS_WIDTH, ({ ds, conn }) => accessOf(ctx, ds, conn));
  for (const outcome of outcomes) {
    if (outcome.check !== undefined) plan.checks.push(outcome.check);
    plan.warnings.push(...outcome.warnings);
    if (outcome.error !== undefined) plan.errors.push(outcome.error);
  }
}
