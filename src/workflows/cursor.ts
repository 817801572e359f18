/**
 * The sync cursor's rules (DESIGN "Cursor and the upload race"), pure so that
 * they are tested on their own and used by workflow code.
 */
import type { SyncCursor } from '../contract';
import { MAX_FAILED_VERSIONS } from '../contract/limits';

/**
 * The watermark after a complete listing that started at `listedAt`: the
 * start of the listing, but never past the start of an upload still in
 * progress under the prefix (R5.4). S3 stamps a multipart object with the
 * time its upload began, so a file whose upload began before a sync and ended
 * after it is older than that sync: it stays at or after the watermark, and
 * the next listing (which looks back a grace window further) finds it.
 */
export function nextWatermark(listedAt: string, oldestUploadInProgress: string | undefined): string {
  return oldestUploadInProgress !== undefined && Date.parse(oldestUploadInProgress) < Date.parse(listedAt)
    ? oldestUploadInProgress
    : listedAt;
}

/** Keeps the failed-version map bounded, forgetting the oldest entries first. */
export function boundFailed(failed: Record<string, string>, max = MAX_FAILED_VERSIONS): Record<string, string> {
  const entries = Object.entries(failed);
  return entries.length <= max ? failed : Object.fromEntries(entries.slice(entries.length - max));
}

/**
 * The cursor a sync run leaves: see {@link nextWatermark}; the previous one
 * when the listing did not complete, or when the uploads in progress could
 * not be seen (`uploadsUnseen`: any of them may complete older than the
 * listing, so the next listing starts where this one did).
 */
export function cursorAfterSync(
  previous: SyncCursor,
  failed: Record<string, string>,
  listing: { complete: boolean; listedAt?: string; oldestUploadInProgress?: string; uploadsUnseen?: boolean },
): SyncCursor {
  const watermark =
    listing.complete && listing.listedAt !== undefined && !listing.uploadsUnseen
      ? nextWatermark(listing.listedAt, listing.oldestUploadInProgress)
      : previous.watermark;
  return { watermark, failed: boundFailed(failed) };
}
