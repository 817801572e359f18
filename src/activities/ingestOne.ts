/**
 * The ingest of one object version: downloaded to a temp file (heartbeating
 * the bytes so far), then loaded with its quarantine rows and its ledger
 * entry in one transaction. A version already in the ledger loads nothing
 * and returns its earlier result.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectVersion } from '../contract';
import type { DataSourceDef } from '../datafiles/types';
import { checkGzipWhileWritten, type GzipCheckInProgress } from '../sinks/gzipCheck';
import { resolveDefinition, selects, uriFromSecret } from './definition';
import { download } from './download';
import { TerminalFailure } from './failures';
import { heartbeater, whileHeartbeating } from './heartbeat';
import { outcomeOf, overSizeLimit, sinkInput, type IngestOutcome } from './load';
import type { IngestFileResult } from '../sinks/destination';
import { streamsWhileDownloading } from '../sinks/duckdb/whileDownloading';
import { NOT_SELECTED, type ActivityScope } from './scope';

export interface IngestInput {
  dataSource: DataSourceDef;
  object: ObjectVersion;
  jobId: string;
  /** Sample import (R6.1): load the rows into the sample table, without reading or writing the ledger. */
  sample?: boolean;
}

/** The `ingestObject` activity: see the module's comment. */
export async function ingestObject(scope: ActivityScope, input: IngestInput): Promise<IngestOutcome> {
  const { object, jobId } = input;
  const { deps } = scope;
  const dataSource = resolveDefinition(input.dataSource, deps.secrets);
  const uri = `s3://${object.bucket}/${object.key}`;
  if (uriFromSecret(input.dataSource) && !selects(dataSource, object))
    throw new TerminalFailure(`${uri}: ${NOT_SELECTED}`, 'NotSelected');
  const earlier = input.sample ? undefined : await deps.sink.findLoaded(dataSource.name, object.key, object.etag);
  if (earlier) return outcomeOf(object, earlier, jobId, true, earlier.size);
  const tooLarge = overSizeLimit(deps, object);
  if (tooLarge) throw new TerminalFailure(tooLarge, 'FileTooLarge');
  const { client } = scope.clientFor(dataSource);
  const dir = await mkdtemp(join(deps.sink.scratchDir, 's3c-ingest-'));
  let check: GzipCheckInProgress | undefined;
  try {
    const localPath = join(dir, 'object');
    const beat = heartbeater();
    const toSink = sinkInput(dataSource, object, localPath, jobId, input.sample);
    const fetchTo = (): Promise<number> => download(client, object, localPath, (b) => beat({ bytes: b }));
    let loading: Promise<IngestFileResult> | undefined;
    const bytes = await scope.downloads.run([scope.nextRank(), 0], async () => {
      // Plain CSV: DuckDB reads it while it downloads (see IngestFileInput.downloaded).
      if (streamsWhileDownloading(object)) {
        const loaded = await loadWhileDownloading(localPath, fetchTo, (downloaded) =>
          whileHeartbeating(() => deps.sink.ingestFile({ ...toSink, downloaded })),
        );
        loading = loaded.loading;
        return loaded.bytes;
      }
      // Gzip NDJSON: the gzip check follows the download instead of competing with the load.
      // (A gzip CSV load inflates once, for the check and for DuckDB: see the sink.)
      if (object.compression === 'gzip' && object.format === 'ndjson' && object.size > 0) {
        await writeFile(localPath, '');
        check = checkGzipWhileWritten(localPath, 'ndjson');
      }
      return fetchTo();
    });
    check?.complete(bytes);
    const load = {
      ...toSink,
      ...(check ? { gzipCheck: check.result, gzipCheckCounts: 'ndjson' as const } : {}),
    };
    // A file the sink cannot read (FileUnreadableError) is terminal: the activity fails for good.
    const result = await (loading ?? whileHeartbeating(() => deps.sink.ingestFile(load)));
    return outcomeOf(object, result, jobId, result.alreadyLoaded);
  } finally {
    check?.cancel();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Starts the load of a file while `fetch` downloads it to `path`; resolves
 * with the download's bytes and the load under way. When the download fails,
 * its error is thrown (a cut download is retried, never a load error), once
 * the load has ended: it then commits nothing and its temporary files are gone.
 */
async function loadWhileDownloading(
  path: string,
  fetch: () => Promise<number>,
  load: (downloaded: Promise<number>) => Promise<IngestFileResult>,
): Promise<{ bytes: number; loading: Promise<IngestFileResult> }> {
  // The sink follows the file from its first byte: it must exist before the download opens it.
  await writeFile(path, '');
  let settle: { resolve: (bytes: number) => void; reject: (e: unknown) => void } | undefined;
  const downloaded = new Promise<number>((resolve, reject) => {
    settle = { resolve, reject };
  });
  downloaded.catch(() => undefined);
  const loading = load(downloaded);
  loading.catch(() => undefined);
  try {
    const bytes = await fetch();
    settle!.resolve(bytes);
    return { bytes, loading };
  } catch (e) {
    settle!.reject(e);
    await loading.catch(() => undefined);
    throw e;
  }
}
