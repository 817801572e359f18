/**
 * The `@auto` poll's listing (issue #18 item 13): a poll lists first, in the
 * data source workflow, and starts a job only when the listing found work, so
 * that an idle data source does not fill the Web UI with empty jobs. The job
 * lists again itself: the probe only decides whether to start one.
 *
 * Deterministic workflow code: the listing is an activity.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DataSourceDef } from '../datafiles/types';
import { cursorAfterSync } from './cursor';
import type { SyncCursor } from '../contract';

/** What a poll's listing found: whether a job has work, and the cursor when it has none. */
export interface PollProbe {
  work: boolean;
  cursor: SyncCursor;
  /** The listing could not see the uploads in progress (see uploadGuardWarning): why. */
  uploadGuardWarning?: string;
}

/**
 * Lists until the first version a job would load (new, overwritten, or
 * failed but retryable: neither in the ledger nor failed for good), or to the
 * end. A complete listing that found nothing leaves the cursor a job finding
 * nothing would have left (see {@link cursorAfterSync}).
 */
export async function probeForWork(
  dataSource: DataSourceDef,
  cursor: SyncCursor,
  ingestTaskQueue: string,
): Promise<PollProbe> {
  const { discoverObjects } = proxyActivities<Activities>({
    taskQueue: ingestTaskQueue,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '1 minute',
    // A poll that cannot list is retried by the next poll, not held up here.
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 },
  });
  const page = await discoverObjects.executeWithOptions({ summary: `poll ${dataSource.import?.bucketUri ?? ''}` }, [
    { dataSource, cursor, maxObjects: 1 },
  ]);
  if (page.objects.length > 0 || page.nextToken !== undefined) return { work: true, cursor };
  // Uploads it could not see may complete older than the listing: the sync point then stays, as a job's would.
  const next = cursorAfterSync(cursor, cursor.failed, {
    complete: true,
    listedAt: page.listedAt,
    oldestUploadInProgress: page.oldestUploadInProgress,
    uploadsUnseen: page.uploadGuardWarning !== undefined,
  });
  return {
    work: false,
    cursor: next,
    ...(page.uploadGuardWarning !== undefined ? { uploadGuardWarning: page.uploadGuardWarning } : {}),
  };
}
