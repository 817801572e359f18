/**
 * Finding the work: the listing of a data source's matching object versions
 * not yet loaded (with the multipart uploads in progress that hold its
 * watermark), and the check of what events announced (see verify.ts).
 */
import { ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client, type _Object } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { describeS3Error } from '../aws/s3Errors';
import { normalizeEtag, versionKey, type ObjectVersion, type SyncCursor } from '../contract';
import type { DataSourceDef } from '../datafiles/types';
import { listPrefix, matchKey, objectFormat } from '../s3uri';
import { resolveDefinition, selects, uriFromSecret } from './definition';
import { s3Failure } from './s3Failures';
import { importOf, NOT_SELECTED, WATERMARK_GRACE_MS, type ActivityScope } from './scope';
import { headObjects, type VerifiedObject } from './verify';

export interface DiscoverInput {
  dataSource: DataSourceDef;
  cursor: SyncCursor;
  /** Resume a listing where the previous call stopped. */
  continuationToken?: string;
  /** Stop after this many new objects (the rest is listed by the next call). */
  maxObjects: number;
  /** Sample imports ignore the ledger and the cursor. */
  ignoreLedger?: boolean;
}

export interface DiscoverResult {
  objects: ObjectVersion[];
  /** Keys listed under the prefix in this call. */
  listed: number;
  /** Matching keys without a supported extension (R3.3). */
  skippedUnsupported: number;
  /** Matching versions already in the ledger or failed for good. */
  alreadyKnown: number;
  nextToken?: string;
  /** When this listing started (worker clock), for the next watermark. */
  listedAt: string;
  /** Start of the oldest multipart upload in progress under the prefix, if any and if visible. */
  oldestUploadInProgress?: string;
  /**
   * Set when the uploads in progress could not be listed (never silently):
   * the warning the data source shows, e.g. "upload race unguarded:
   * s3:ListBucketMultipartUploads denied ...". The sync point then holds.
   */
  uploadGuardWarning?: string;
}

export interface VerifyInput {
  dataSource: DataSourceDef;
  objects: ObjectVersion[];
}

/** What a listing reads from: the resolved definition, its client and where it lists. */
interface Listing {
  input: DiscoverInput;
  dataSource: DataSourceDef;
  settings: NonNullable<DataSourceDef['import']>;
  client: S3Client;
  bucket: string;
  prefix: string;
  /** Listed objects modified before this instant (ms) were considered by an earlier sync. */
  since: number;
}

/**
 * The `discoverObjects` activity: lists matching object versions not yet
 * loaded, from the longest literal prefix of the pattern (R3.4), newer than
 * the cursor allows.
 */
export async function discoverObjects(scope: ActivityScope, input: DiscoverInput): Promise<DiscoverResult> {
  const dataSource = resolveDefinition(input.dataSource, scope.deps.secrets);
  const settings = importOf(dataSource);
  const { client, conn } = scope.clientFor(dataSource);
  const { bucket, prefix } = listPrefix(settings.bucketUri);
  // Errors go to the workflow's history: a URI from a secret is named by its reference.
  const what = uriFromSecret(input.dataSource)
    ? `listing ${input.dataSource.import!.bucketUri}`
    : `listing s3://${bucket}/${prefix}`;
  const listedAt = new Date().toISOString();
  const listing: Listing = {
    input,
    dataSource,
    settings,
    client,
    bucket,
    prefix,
    since: listedSince(scope, input, settings.fromTimestamp),
  };
  const result: DiscoverResult = { objects: [], listed: 0, skippedUnsupported: 0, alreadyKnown: 0, listedAt };
  let token = input.continuationToken;
  do {
    let page;
    try {
      page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 1000 }),
      );
    } catch (err) {
      throw s3Failure(err, what);
    }
    Context.current().heartbeat({ listed: result.listed });
    await addPage(scope, listing, page.Contents ?? [], result);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined && result.objects.length < input.maxObjects);
  result.nextToken = token;
  if (token === undefined && !input.ignoreLedger) {
    const uploads = await uploadsInProgress(client, bucket, conn.endpoint ? '' : prefix, settings.bucketUri);
    if (uploads.unseen) result.uploadGuardWarning = uploadGuardWarning(uploads.unseen, conn.name);
    else result.oldestUploadInProgress = uploads.oldest;
  }
  return result;
}

/**
 * The instant (ms) before which listed objects are skipped. Everything older
 * than the watermark (less a grace for clock skew) was considered by an
 * earlier sync; IMPORT_FROM_TIMESTAMP is a hard floor.
 */
function listedSince(scope: ActivityScope, input: DiscoverInput, fromTimestamp: string | undefined): number {
  const floor = fromTimestamp ? Date.parse(fromTimestamp) : Number.NEGATIVE_INFINITY;
  const watermark =
    input.cursor.watermark && !input.ignoreLedger
      ? Date.parse(input.cursor.watermark) - (scope.deps.lookBackMs ?? WATERMARK_GRACE_MS)
      : Number.NEGATIVE_INFINITY;
  return Math.max(floor, watermark);
}

/** Counts one page of the listing into `result`, and adds its versions that are new. */
async function addPage(
  scope: ActivityScope,
  listing: Listing,
  items: _Object[],
  result: DiscoverResult,
): Promise<void> {
  const { input, bucket, settings } = listing;
  const candidates: ObjectVersion[] = [];
  for (const item of items) {
    const key = item.Key;
    if (key === undefined) continue;
    result.listed++;
    if (!matchKey(settings.bucketUri, key)) continue;
    const detected = objectFormat(key, settings.format);
    if (!detected) {
      result.skippedUnsupported++;
      continue;
    }
    if ((item.LastModified?.getTime() ?? 0) < listing.since) continue;
    const etag = normalizeEtag(item.ETag ?? '');
    if (!input.ignoreLedger && input.cursor.failed[key] === etag) {
      result.alreadyKnown++;
      continue;
    }
    const lastModified = (item.LastModified ?? new Date(0)).toISOString();
    candidates.push({
      bucket,
      key,
      etag,
      size: item.Size ?? 0,
      lastModified,
      format: detected.format,
      compression: detected.compression,
    });
  }
  // One ledger query per page, not one per key.
  const loaded = input.ignoreLedger
    ? new Map()
    : await scope.deps.sink.findLoadedMany(listing.dataSource.name, bucket, candidates);
  for (const candidate of candidates) {
    if (loaded.has(versionKey(candidate))) result.alreadyKnown++;
    else result.objects.push(candidate);
  }
}

/**
 * The `verifyObjects` activity: what S3 says of objects that events
 * announced (existence, ETag, size), index-aligned: event metadata is only a
 * hint (see verify.ts).
 */
export async function verifyObjects(scope: ActivityScope, input: VerifyInput): Promise<VerifiedObject[]> {
  const { client } = scope.clientFor(input.dataSource);
  // A URI from a secret: the workflow could not check what the event names; nothing outside it is asked about.
  const dataSource = resolveDefinition(input.dataSource, scope.deps.secrets);
  const outside = (o: ObjectVersion): boolean => uriFromSecret(input.dataSource) && !selects(dataSource, o);
  const asked = input.objects.filter((o) => !outside(o));
  const heads = await headObjects(
    client,
    asked,
    (err, o) => s3Failure(err, `reading s3://${o.bucket}/${o.key}`),
    Context.current().cancellationSignal,
  );
  let next = 0;
  return input.objects.map((o): VerifiedObject =>
    outside(o) ? { ok: false, error: NOT_SELECTED, permanent: true } : heads[next++]!,
  );
}

/** What listing the multipart uploads in progress found: the oldest start, or why they could not be seen. */
interface UploadsInProgress {
  oldest?: string;
  /** Why the uploads are unseen: `s3:ListBucketMultipartUploads denied (AccessDenied)`, ... */
  unseen?: string;
}

/** The warning a data source shows while the uploads in progress are unseen (datasource ls, job, memo). */
export function uploadGuardWarning(unseen: string, connection: string): string {
  return (
    `upload race unguarded: ${unseen} (connection ${connection}); the sync point stays where it was, ` +
    'so every sync lists again from there until the access policy allows s3:ListBucketMultipartUploads (`s3c connection create s3` prints it)'
  );
}

/**
 * The start of the oldest multipart upload in progress whose key matches the
 * pattern: the watermark must not pass it (R5.4). An AccessDenied is never
 * swallowed: it comes back as `unseen`, and the caller holds the watermark.
 * `prefix` is '' on S3-compatible stores: MinIO reads a non-empty prefix as
 * one exact key and would list no upload under a folder.
 */
async function uploadsInProgress(
  client: S3Client,
  bucket: string,
  prefix: string,
  uri: string,
): Promise<UploadsInProgress> {
  let oldest: number | undefined;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    let page;
    try {
      page = await client.send(
        new ListMultipartUploadsCommand({
          Bucket: bucket,
          Prefix: prefix || undefined,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
    } catch (err) {
      const unseen = uploadsUnseen(err);
      if (unseen) return { unseen };
      throw s3Failure(err, `listing the uploads in progress in s3://${bucket}/${prefix}`);
    }
    for (const upload of page.Uploads ?? []) {
      if (!upload.Key || !upload.Initiated || !matchKey(uri, upload.Key)) continue;
      const t = upload.Initiated.getTime();
      if (oldest === undefined || t < oldest) oldest = t;
    }
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
  return { oldest: oldest === undefined ? undefined : new Date(oldest).toISOString() };
}

/** Why an error of ListMultipartUploads means "cannot see the uploads" (not a fault to retry); undefined for one to retry (5xx, network). */
function uploadsUnseen(err: unknown): string | undefined {
  const { name, status } = describeS3Error(err);
  if (name === 'AccessDenied' || status === 403) return `s3:ListBucketMultipartUploads denied (${name})`;
  if (name === 'NotImplemented' || status === 501) return 'the store does not list multipart uploads (NotImplemented)';
  // Another refusal would refuse every retry too: say so rather than fail every sync.
  if (status !== undefined && status >= 400 && status < 500)
    return `listing multipart uploads refused (${name}, HTTP ${status})`;
  return undefined;
}
