/**
 * Activities: every side effect of a data source (R8.2). Each is retryable
 * and idempotent; errors that retrying cannot fix are non-retryable
 * `ApplicationFailure`s whose message says why.
 *
 * They are built by `createActivities(deps)` so a worker can give them the
 * destination sink and the credentials cache it owns.
 */
import { setMaxListeners } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Context, ApplicationFailure } from '@temporalio/activity';
import type { SecretLookup } from '../datafiles/secrets';
import type { ConnectionDef, DataSourceDef, TtlRule } from '../datafiles/types';
import { listPrefix, matchKey, objectFormat } from '../s3uri';
import { AssumeRoleError, SESSION_TOKEN_ERRORS, type S3ClientCache } from '../aws/credentials';
import { describeS3Error } from '../aws/s3Errors';
import { FileUnreadableError, sampleDataSource, type DuckDbSink, type IngestFileInput } from '../sinks/duckdb';
import { checkGzipWhileWritten, type GzipCheckInProgress } from '../sinks/gzipCheck';
import { normalizeEtag, versionKey, type ObjectVersion, type SyncCursor } from '../contract';
import { resolveDefinition, selects, uriFromSecret } from './definition';
import { DownloadPool, downloadInThread } from './downloadPool';
import { heartbeater } from './heartbeat';
import { PriorityGate } from './priorityGate';
import { headObjects, isRefusedRequest, type VerifiedObject } from './verify';
import { THREAD_DOWNLOAD_BYTES } from '../contract/limits';

/**
 * Downloads at once in one worker, across all its activities (a worker-wide
 * gate, earlier activities first). The benchmark's baseline downloads 16 at once.
 */
const WORKER_DOWNLOADS = 16;

/** How far behind the watermark a listing looks again (clock skew, late listings), unless configured. */
export const WATERMARK_GRACE_MS = 15 * 60 * 1000;

export interface ActivityDeps {
  sink: DuckDbSink;
  s3: S3ClientCache;
  /** Resolves a deployed connection by name, secrets resolved. Throws when unknown. */
  connection: (name: string) => ConnectionDef;
  /** Size limit in bytes for a format (R5.6). */
  maxFileBytes: (format: ObjectVersion['format']) => number;
  /** The look-back window behind the watermark (`lookBackSeconds`); default {@link WATERMARK_GRACE_MS}. */
  lookBackMs?: number;
  /** Secret values, for a bucket URI that workflows carry as a reference (see ./definition.ts). */
  secrets?: SecretLookup;
}

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

export interface IngestInput {
  dataSource: DataSourceDef;
  object: ObjectVersion;
  jobId: string;
  /** Sample import (R6.1): load the rows into the sample table, without reading or writing the ledger. */
  sample?: boolean;
}

/** Input of the batch ingest: several small object versions loaded in one sink transaction. */
export interface IngestBatchInput {
  dataSource: DataSourceDef;
  objects: ObjectVersion[];
  jobId: string;
  sample?: boolean;
}

/** One object's outcome in a batch: loaded, or failed alone with the reason. */
export type BatchOutcome = ({ ok: true } & IngestOutcome) | { ok: false; key: string; etag: string; error: string; permanent: boolean };

export interface IngestOutcome {
  key: string;
  etag: string;
  rows: number;
  quarantined: number;
  bytes: number;
  /**
   * True when an earlier job loaded this version (nothing was loaded now). A
   * version this same job committed before a retry (worker died after the
   * commit) counts as loaded by this job.
   */
  alreadyLoaded: boolean;
}

/** Input of `expireRows`: a data source's table and its parsed ENGINE_TTL. */
export interface ExpireRowsInput {
  dataSource: string;
  ttl: TtlRule;
}

/** What one TTL run deleted, and when (worker clock). */
export interface ExpireRowsResult {
  dataSource: string;
  deleted: number;
  at: string;
}

function importOf(ds: DataSourceDef): NonNullable<DataSourceDef['import']> {
  if (!ds.import) throw ApplicationFailure.nonRetryable(`data source ${ds.name} has no IMPORT_* settings`, 'NotAnImport');
  return ds.import;
}

/** Maps AWS SDK errors to retryable or non-retryable failures with a clear message. */
function s3Failure(err: unknown, what: string): Error {
  if (err instanceof AssumeRoleError) {
    return err.retryable ? err : ApplicationFailure.nonRetryable(err.message, err.type);
  }
  const { name, status } = describeS3Error(err);
  if (name === 'NoSuchBucket') return ApplicationFailure.nonRetryable(`${what}: the bucket does not exist`, 'NoSuchBucket');
  if (name === 'AccessDenied' || status === 403) {
    return ApplicationFailure.nonRetryable(`${what}: access denied; check the role's access policy`, 'AccessDenied');
  }
  // A key the store refuses (`../`, a segment over 255 bytes) fails at once: retrying cannot fix it.
  if (isRefusedRequest(status, name)) {
    return ApplicationFailure.nonRetryable(`${what}: the store refused the request (HTTP ${status} ${name}); not retried`, 'RequestRefused');
  }
  // The network error's code says what happened without naming the endpoint (which may be a secret).
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  const detail = code ?? (name === 'Error' ? 'network or server error' : name);
  return new Error(`${what}: ${detail}${status ? ` (HTTP ${status})` : ''}; will retry`);
}

/** The activities, bound to a worker's sink and credentials. */
export function createActivities(deps: ActivityDeps) {
  const downloads = new PriorityGate(WORKER_DOWNLOADS);
  /** Start order of the load activities: the rank of their downloads at the gate. */
  let started = 0;

  function clientFor(ds: DataSourceDef): { client: S3Client; conn: ConnectionDef } {
    const conn = deps.connection(importOf(ds).connectionName);
    return { client: deps.s3.clientFor(conn), conn };
  }

  return {
    /**
     * Deletes the rows of a data source's table whose ENGINE_TTL has passed
     * (DuckDB has no TTL of its own). A retry deletes what expired since: harmless.
     */
    async expireRows(input: ExpireRowsInput): Promise<ExpireRowsResult> {
      const at = new Date();
      const deleted = await deps.sink.expireRows(input.dataSource, input.ttl, at);
      return { dataSource: input.dataSource, deleted, at: at.toISOString() };
    },

    /** Creates the data source's table, quarantine table and the ledger (idempotent). */
    async prepareDestination(dataSource: DataSourceDef): Promise<void> {
      await deps.sink.ensureTables(dataSource);
    },

    /** Empties the data source's sample tables (created if missing) before a sample import loads into them. */
    async prepareSampleTables(dataSource: DataSourceDef): Promise<void> {
      await deps.sink.replaceSampleTables(dataSource);
    },

    /**
     * Lists matching object versions not yet loaded, from the longest literal
     * prefix of the pattern (R3.4), newer than the cursor allows.
     */
    async discoverObjects(input: DiscoverInput): Promise<DiscoverResult> {
      const dataSource = resolveDefinition(input.dataSource, deps.secrets);
      const settings = importOf(dataSource);
      const { client, conn } = clientFor(dataSource);
      const { bucket, prefix } = listPrefix(settings.bucketUri);
      // Errors go to the workflow's history: a URI from a secret is named by its reference.
      const listing = uriFromSecret(input.dataSource) ? `listing ${input.dataSource.import!.bucketUri}` : `listing s3://${bucket}/${prefix}`;
      const listedAt = new Date().toISOString();
      // Everything older than the watermark (less a grace for clock skew) was
      // considered by an earlier sync; IMPORT_FROM_TIMESTAMP is a hard floor.
      const fromTimestamp = settings.fromTimestamp ? Date.parse(settings.fromTimestamp) : Number.NEGATIVE_INFINITY;
      const watermark =
        input.cursor.watermark && !input.ignoreLedger
          ? Date.parse(input.cursor.watermark) - (deps.lookBackMs ?? WATERMARK_GRACE_MS)
          : Number.NEGATIVE_INFINITY;
      const since = Math.max(fromTimestamp, watermark);
      const result: DiscoverResult = { objects: [], listed: 0, skippedUnsupported: 0, alreadyKnown: 0, listedAt };
      let token = input.continuationToken;
      do {
        let page;
        try {
          page = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 1000 }),
          );
        } catch (err) {
          throw s3Failure(err, listing);
        }
        Context.current().heartbeat({ listed: result.listed });
        const candidates: ObjectVersion[] = [];
        for (const item of page.Contents ?? []) {
          const key = item.Key;
          if (key === undefined) continue;
          result.listed++;
          if (!matchKey(settings.bucketUri, key)) continue;
          const detected = objectFormat(key, settings.format);
          if (!detected) {
            result.skippedUnsupported++;
            continue;
          }
          const modified = item.LastModified?.getTime() ?? 0;
          if (modified < since) continue;
          const etag = normalizeEtag(item.ETag ?? '');
          if (!input.ignoreLedger && input.cursor.failed[key] === etag) {
            result.alreadyKnown++;
            continue;
          }
          candidates.push({
            bucket,
            key,
            etag,
            size: item.Size ?? 0,
            lastModified: (item.LastModified ?? new Date(0)).toISOString(),
            format: detected.format,
            compression: detected.compression,
          });
        }
        // One ledger query per page, not one per key.
        const loaded = input.ignoreLedger ? new Map() : await deps.sink.findLoadedMany(dataSource.name, bucket, candidates);
        for (const candidate of candidates) {
          if (loaded.has(versionKey(candidate))) result.alreadyKnown++;
          else result.objects.push(candidate);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined && result.objects.length < input.maxObjects);
      result.nextToken = token;
      if (token === undefined && !input.ignoreLedger) {
        const uploads = await uploadsInProgress(client, bucket, conn.endpoint ? '' : prefix, settings.bucketUri);
        if (uploads.unseen) result.uploadGuardWarning = uploadGuardWarning(uploads.unseen, conn.name);
        else result.oldestUploadInProgress = uploads.oldest;
      }
      return result;
    },

    /**
     * What S3 says of objects that events announced (existence, ETag, size),
     * index-aligned: event metadata is only a hint (see verify.ts).
     */
    async verifyObjects(input: VerifyInput): Promise<VerifiedObject[]> {
      const { client } = clientFor(input.dataSource);
      // A URI from a secret: the workflow could not check what the event names; nothing outside it is asked about.
      const dataSource = resolveDefinition(input.dataSource, deps.secrets);
      const outside = (o: ObjectVersion): boolean => uriFromSecret(input.dataSource) && !selects(dataSource, o);
      const asked = input.objects.filter((o) => !outside(o));
      const heads = await headObjects(client, asked, (err, o) => s3Failure(err, `reading s3://${o.bucket}/${o.key}`), Context.current().cancellationSignal);
      let next = 0;
      return input.objects.map((o): VerifiedObject => (outside(o) ? { ok: false, error: NOT_SELECTED, permanent: true } : heads[next++]!));
    },

    /**
     * Downloads one object version to a temp file (heartbeating bytes so far)
     * and loads it into the destination with its quarantine and ledger entry in
     * one transaction. A version already in the ledger loads nothing and
     * returns its earlier result.
     */
    async ingestObject(input: IngestInput): Promise<IngestOutcome> {
      const { object, jobId } = input;
      const dataSource = resolveDefinition(input.dataSource, deps.secrets);
      const uri = `s3://${object.bucket}/${object.key}`;
      if (uriFromSecret(input.dataSource) && !selects(dataSource, object)) throw ApplicationFailure.nonRetryable(`${uri}: ${NOT_SELECTED}`, 'NotSelected');
      const earlier = input.sample ? undefined : await deps.sink.findLoaded(dataSource.name, object.key, object.etag);
      if (earlier) {
        return { key: object.key, etag: object.etag, rows: earlier.rows, quarantined: earlier.quarantined, bytes: earlier.size, alreadyLoaded: earlier.jobId !== jobId };
      }
      const limit = deps.maxFileBytes(object.format);
      if (object.size > limit) {
        throw ApplicationFailure.nonRetryable(
          `${uri}: file is ${object.size} bytes, over the ${object.format} size limit of ${limit} bytes`,
          'FileTooLarge',
        );
      }
      const { client } = clientFor(dataSource);
      const dir = await mkdtemp(join(deps.sink.scratchDir, 's3c-ingest-'));
      let check: GzipCheckInProgress | undefined;
      try {
        const localPath = join(dir, 'object');
        const beat = heartbeater();
        const bytes = await downloads.run([++started, 0], async () => {
          // Gzip NDJSON: the gzip check follows the download instead of competing with the load.
          // (A gzip CSV load inflates once, for the check and for DuckDB: see the sink.)
          if (object.compression === 'gzip' && object.format === 'ndjson' && object.size > 0) {
            await writeFile(localPath, '');
            check = checkGzipWhileWritten(localPath, 'ndjson');
          }
          return download(client, object, localPath, (b) => beat({ bytes: b }));
        });
        check?.complete(bytes);
        try {
          const load = { ...sinkInput(dataSource, object, localPath, jobId, input.sample), ...(check ? { gzipCheck: check.result, gzipCheckCounts: 'ndjson' as const } : {}) };
          const result = await whileHeartbeating(() => deps.sink.ingestFile(load));
          return {
            key: object.key,
            etag: object.etag,
            rows: result.rows,
            quarantined: result.quarantined,
            bytes: object.size,
            alreadyLoaded: result.alreadyLoaded && result.jobId !== jobId,
          };
        } catch (err) {
          if (err instanceof FileUnreadableError) throw ApplicationFailure.nonRetryable(err.message, err.type);
          throw err;
        }
      } finally {
        check?.cancel();
        await rm(dir, { recursive: true, force: true });
      }
    },

    /**
     * Loads several small object versions at once: downloads them in
     * parallel, then one sink call loads them in one transaction with a
     * ledger entry each. A file that cannot be loaded fails alone (its slot
     * says why); a failure retrying can fix (network) retries the batch, and
     * what was committed returns as already loaded.
     */
    async ingestObjects(input: IngestBatchInput): Promise<BatchOutcome[]> {
      const { jobId } = input;
      const dataSource = resolveDefinition(input.dataSource, deps.secrets);
      const outcomes = new Map<string, BatchOutcome>();
            const objects = input.objects.filter((o) => {
        if (!uriFromSecret(input.dataSource) || selects(dataSource, o)) return true;
        outcomes.set(versionKey(o), { ok: false, key: o.key, etag: o.etag, error: `s3://${o.bucket}/${o.key}: ${NOT_SELECTED}`, permanent: true });
        return false;
      });
      const todo: ObjectVersion[] = [];
      const loaded = input.sample ? new Map() : await deps.sink.findLoadedMany(dataSource.name, objects[0]?.bucket ?? '', objects);
      for (const object of objects) {
        const earlier = loaded.get(versionKey(object));
        const limit = deps.maxFileBytes(object.format);
        if (earlier) {
          outcomes.set(versionKey(object), { ok: true, key: object.key, etag: object.etag, rows: earlier.rows, quarantined: earlier.quarantined, bytes: earlier.size, alreadyLoaded: earlier.jobId !== jobId });
        } else if (object.size > limit) {
          outcomes.set(versionKey(object), {
            ok: false,
            key: object.key,
            etag: object.etag,
            error: `s3://${object.bucket}/${object.key}: file is ${object.size} bytes, over the ${object.format} size limit of ${limit} bytes`,
            permanent: true,
          });
        } else todo.push(object);
      }
      const { client } = clientFor(dataSource);
      // Each download in flight listens on the activity's cancellation signal
      // (up to the gate's width at once): not a leak, so no leak warning.
      setMaxListeners(WORKER_DOWNLOADS + 8, Context.current().cancellationSignal);
      const dir = await mkdtemp(join(deps.sink.scratchDir, 's3c-batch-'));
      try {
        const downloaded: { object: ObjectVersion; localPath: string }[] = [];
        const rank = ++started;
        const beat = heartbeater();
        let done = 0;
        let failure: { err: unknown } | undefined;
        await Promise.all(
          todo.map((object, index) =>
            downloads.run([rank, index], async () => {
              if (failure) return; // the batch retries anyway: free the slot
              const localPath = join(dir, String(index));
              try {
                await download(client, object, localPath, () => beat({ downloaded: done, of: todo.length }));
                downloaded.push({ object, localPath });
              } catch (err) {
                // A version that is gone or overwritten fails alone; anything else retries the batch.
                if (err instanceof ApplicationFailure && err.nonRetryable) {
                  outcomes.set(versionKey(object), { ok: false, key: object.key, etag: object.etag, error: err.message, permanent: true });
                } else failure ??= { err };
              }
              beat({ downloaded: ++done, of: todo.length });
            }),
          ),
        );
        if (failure) throw failure.err;
        const results = await whileHeartbeating(() => deps.sink.ingestFiles(
          downloaded.map(({ object, localPath }) => sinkInput(dataSource, object, localPath, jobId, input.sample)),
        ));
        results.forEach((r, i) => {
          const object = downloaded[i]!.object;
          outcomes.set(
            versionKey(object),
            r.ok
              ? { ok: true, key: object.key, etag: object.etag, rows: r.result.rows, quarantined: r.result.quarantined, bytes: object.size, alreadyLoaded: r.result.alreadyLoaded && r.result.jobId !== jobId }
              : { ok: false, key: object.key, etag: object.etag, error: r.error.message, permanent: true },
          );
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return input.objects.map((o) => outcomes.get(versionKey(o))!);
    },
  };
}

/** Why an object an event named is not loaded into a data source whose URI comes from a secret. */
const NOT_SELECTED = 'not selected by IMPORT_BUCKET_URI (another bucket, or a key the pattern does not match)';

export type Activities = ReturnType<typeof createActivities>;
export type { VerifiedObject } from './verify';

/**
 * Runs a long sink call while heartbeating, so a short heartbeat timeout
 * finds a dead worker fast without killing a long load on a live one.
 */
async function whileHeartbeating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat({ loading: true }), 5000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/**
 * What the sink needs to load one downloaded object version. Samples load
 * into the data source's sample table and leave the ledger alone: a sync
 * loads the same files into production once, as if no sample had run.
 */
function sinkInput(dataSource: DataSourceDef, object: ObjectVersion, localPath: string, jobId: string, sample?: boolean): IngestFileInput {
  return {
    dataSource: sample ? sampleDataSource(dataSource) : dataSource,
    localPath,
    format: object.format,
    compression: object.compression,
    bucket: object.bucket,
    key: object.key,
    etag: object.etag,
    size: object.size,
    lastModified: object.lastModified,
    jobId,
    recordInLedger: !sample,
  };
}

/** Smaller objects are downloaded on this process's shared download thread (see downloadPool.ts). */
const smallDownloads = new DownloadPool();

/** The failure of a GET of `object`: gone and overwritten are final, the rest retries. */
function getFailure(err: unknown, object: ObjectVersion): Error {
  const uri = `s3://${object.bucket}/${object.key}`;
  const { name, status } = describeS3Error(err);
  if (name === 'NoSuchKey' || status === 404) {
    return ApplicationFailure.nonRetryable(`${uri}: object was deleted before it could be loaded`, 'ObjectGone');
  }
  if (name === 'PreconditionFailed' || status === 412) {
    return ApplicationFailure.nonRetryable(
      `${uri}: object was overwritten (ETag ${object.etag} is gone); the new version is loaded on its own`,
      'ObjectOverwritten',
    );
  }
  return s3Failure(err, `reading ${uri}`);
}

/**
 * Streams one object version to `path`, reporting the bytes so far to
 * `progress` (a throttled heartbeat): on a thread of its own from
 * THREAD_DOWNLOAD_BYTES on, else on the shared download thread. The main
 * thread downloads only when a thread's session token was refused.
 */
async function download(client: S3Client, object: ObjectVersion, path: string, progress: (bytes: number) => void): Promise<number> {
  const uri = `s3://${object.bucket}/${object.key}`;
  const ctx = Context.current();
  try {
    const target = { bucket: object.bucket, key: object.key, etag: object.etag, path };
    const options = { onProgress: progress, signal: ctx.cancellationSignal };
    const bytes =
      object.size >= THREAD_DOWNLOAD_BYTES
        ? await downloadInThread(client, target, options)
        : await smallDownloads.download(client, target, options);
    progress(bytes);
    return bytes;
  } catch (err) {
    if (ctx.cancellationSignal.aborted) throw err;
    // A refused session token: the main thread's client drops it and signs
    // again with fresh credentials (see S3ClientCache); let it do the download.
    if (!SESSION_TOKEN_ERRORS.has((err as { name?: string }).name ?? '')) throw getFailure(err, object);
  }
  let response;
  try {
    // IfMatch pins the version we decided to load: an overwrite in between is
    // a new version, discovered and loaded on its own.
    response = await client.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key, IfMatch: `"${object.etag}"` }));
  } catch (err) {
    throw getFailure(err, object);
  }
  const body = response.Body as Readable | undefined;
  if (!body) throw new Error(`reading ${uri}: empty response body`);
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      progress(bytes);
      done(null, chunk);
    },
  });
  await pipeline(body, counter, createWriteStream(path), { signal: ctx.cancellationSignal });
  progress(bytes);
  return bytes;
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
async function uploadsInProgress(client: S3Client, bucket: string, prefix: string, uri: string): Promise<UploadsInProgress> {
  let oldest: number | undefined;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    let page;
    try {
      page = await client.send(
        new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix || undefined, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
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
  if (status !== undefined && status >= 400 && status < 500) return `listing multipart uploads refused (${name}, HTTP ${status})`;
  return undefined;
}
