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
    const bytes = await scope.downloads.run([scope.nextRank(), 0], async () => {
      // Gzip NDJSON: the gzip check follows the download instead of competing with the load.
      // (A gzip CSV load inflates once, for the check and for DuckDB: see the sink.)
      if (object.compression === 'gzip' && object.format === 'ndjson' && object.size > 0) {
        await writeFile(localPath, '');
        check = checkGzipWhileWritten(localPath, 'ndjson');
      }
      return download(client, object, localPath, (b) => beat({ bytes: b }));
    });
    check?.complete(bytes);
    const load = {
      ...sinkInput(dataSource, object, localPath, jobId, input.sample),
      ...(check ? { gzipCheck: check.result, gzipCheckCounts: 'ndjson' as const } : {}),
    };
    // A file the sink cannot read (FileUnreadableError) is terminal: the activity fails for good.
    const result = await whileHeartbeating(() => deps.sink.ingestFile(load));
    return outcomeOf(object, result, jobId, result.alreadyLoaded);
  } finally {
    check?.cancel();
    await rm(dir, { recursive: true, force: true });
  }
}
