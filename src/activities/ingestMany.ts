/**
 * The ingest of several small object versions at once: downloaded in
 * parallel, then loaded by one sink call in one transaction, with a ledger
 * entry each. A file that cannot be loaded fails alone (its slot says why); a
 * failure retrying can fix (network) retries the batch, and what was
 * committed returns as already loaded.
 */
import { setMaxListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { versionKey, type ObjectVersion } from '../contract';
import type { DataSourceDef } from '../datafiles/types';
import { isTerminal } from '../util/errors';
import { resolveDefinition, selects, uriFromSecret } from './definition';
import { download } from './download';
import { heartbeater, whileHeartbeating } from './heartbeat';
import { outcomeOf, overSizeLimit, sinkInput, type IngestOutcome } from './load';
import { NOT_SELECTED, WORKER_DOWNLOADS, type ActivityScope } from './scope';

/** Input of the batch ingest: several small object versions loaded in one sink transaction. */
export interface IngestBatchInput {
  dataSource: DataSourceDef;
  objects: ObjectVersion[];
  jobId: string;
  sample?: boolean;
}

/** One object's outcome in a batch: loaded, or failed alone with the reason. */
export type BatchOutcome =
  ({ ok: true } & IngestOutcome) | { ok: false; key: string; etag: string; error: string; permanent: boolean };

/** The outcomes of a batch so far, by version key. */
type Outcomes = Map<string, BatchOutcome>;

/** A downloaded object version and where it is. */
interface Downloaded {
  object: ObjectVersion;
  localPath: string;
}

/** The `ingestObjects` activity: see the module's comment. Outcomes are index-aligned with `input.objects`. */
export async function ingestObjects(scope: ActivityScope, input: IngestBatchInput): Promise<BatchOutcome[]> {
  const dataSource = resolveDefinition(input.dataSource, scope.deps.secrets);
  const outcomes: Outcomes = new Map();
  const todo = await toLoad(scope, input, dataSource, outcomes);
  const { client } = scope.clientFor(dataSource);
  // Each download in flight listens on the activity's cancellation signal
  // (up to the gate's width at once): not a leak, so no leak warning.
  setMaxListeners(WORKER_DOWNLOADS + 8, Context.current().cancellationSignal);
  const dir = await mkdtemp(join(scope.deps.sink.scratchDir, 's3c-batch-'));
  try {
    const downloaded = await downloadAll(scope, client, todo, dir, outcomes);
    await loadAll(scope, dataSource, input, downloaded, outcomes);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return input.objects.map((o) => outcomes.get(versionKey(o))!);
}

/** A failed slot: the version is not loaded, for the reason given. */
function failed(object: ObjectVersion, error: string): BatchOutcome {
  return { ok: false, key: object.key, etag: object.etag, error, permanent: true };
}

/**
 * The versions to download and load. The others get their outcome now: not
 * selected (a URI from a secret), already in the ledger, or over the size limit.
 */
async function toLoad(
  scope: ActivityScope,
  input: IngestBatchInput,
  dataSource: DataSourceDef,
  outcomes: Outcomes,
): Promise<ObjectVersion[]> {
  const objects = input.objects.filter((o) => {
    if (!uriFromSecret(input.dataSource) || selects(dataSource, o)) return true;
    outcomes.set(versionKey(o), failed(o, `s3://${o.bucket}/${o.key}: ${NOT_SELECTED}`));
    return false;
  });
  const { deps } = scope;
  const loaded = input.sample
    ? new Map()
    : await deps.sink.findLoadedMany(dataSource.name, objects[0]?.bucket ?? '', objects);
  const todo: ObjectVersion[] = [];
  for (const object of objects) {
    const earlier = loaded.get(versionKey(object));
    const tooLarge = overSizeLimit(deps, object);
    if (earlier)
      outcomes.set(versionKey(object), { ok: true, ...outcomeOf(object, earlier, input.jobId, true, earlier.size) });
    else if (tooLarge) outcomes.set(versionKey(object), failed(object, tooLarge));
    else todo.push(object);
  }
  return todo;
}

/**
 * Downloads `todo` into `dir` through the worker's gate, at this activity's
 * rank. A version that is gone or overwritten (terminal) fails alone;
 * anything else fails the batch, which is retried.
 */
async function downloadAll(
  scope: ActivityScope,
  client: S3Client,
  todo: ObjectVersion[],
  dir: string,
  outcomes: Outcomes,
): Promise<Downloaded[]> {
  const downloaded: Downloaded[] = [];
  const rank = scope.nextRank();
  const beat = heartbeater();
  let done = 0;
  let failure: { err: unknown } | undefined;
  await Promise.all(
    todo.map((object, index) =>
      scope.downloads.run([rank, index], async () => {
        if (failure) return; // the batch retries anyway: free the slot
        const localPath = join(dir, String(index));
        try {
          await download(client, object, localPath, () => beat({ downloaded: done, of: todo.length }));
          downloaded.push({ object, localPath });
        } catch (err) {
          if (isTerminal(err)) outcomes.set(versionKey(object), failed(object, (err as Error).message));
          else failure ??= { err };
        }
        beat({ downloaded: ++done, of: todo.length });
      }),
    ),
  );
  if (failure) throw failure.err;
  return downloaded;
}

/** Loads the downloaded versions in one sink call; a file the sink cannot read fails alone. */
async function loadAll(
  scope: ActivityScope,
  dataSource: DataSourceDef,
  input: IngestBatchInput,
  downloaded: Downloaded[],
  outcomes: Outcomes,
): Promise<void> {
  const { jobId } = input;
  const results = await whileHeartbeating(() =>
    scope.deps.sink.ingestFiles(
      downloaded.map(({ object, localPath }) => sinkInput(dataSource, object, localPath, jobId, input.sample)),
    ),
  );
  results.forEach((r, i) => {
    const object = downloaded[i]!.object;
    outcomes.set(
      versionKey(object),
      r.ok
        ? { ok: true, ...outcomeOf(object, r.result, jobId, r.result.alreadyLoaded) }
        : failed(object, r.error.message),
    );
  });
}
