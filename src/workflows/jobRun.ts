/**
 * The run state of a job workflow (workflows/job.ts): its report, every file
 * error, the failed versions and what its listings learned for the cursor.
 * The workflow wires handlers and activities; this class keeps the counts.
 *
 * Deterministic and I/O-free: imported by workflow code.
 */
import type { DiscoverResult, IngestOutcome } from '../activities';
import { boundFailedBytes, errorsPage, keepError } from './bounds';
import { cursorAfterSync } from './cursor';
import { SignalLog } from './payloads';
import {
  newJobReport,
  type FileError,
  type JobErrorsPage,
  type JobInput,
  type JobReport,
  type SyncCursor,
} from '../contract';

/** State carried across a job's continue-as-new. */
export interface JobResume {
  report: JobReport;
  continuationToken?: string;
  listedAt?: string;
  oldestUploadInProgress?: string;
  /** The uploads in progress could not be seen: the watermark holds. */
  uploadsUnseen?: boolean;
}

export class JobRun {
  readonly report: JobReport;
  /** Every file error of this run; the report keeps the first ones (see bounds.ts). */
  private readonly allErrors: FileError[] = [];
  /** A payload that does not fit is ignored and recorded, never thrown (see payloads.ts). */
  private readonly signals: SignalLog;
  /** Versions that failed for good (key → ETag): not retried by every poll. */
  private readonly failed: Record<string, string>;
  private listedAt: string | undefined;
  private oldestUpload: string | undefined;
  private uploadsUnseen: boolean;

  constructor(
    private readonly input: JobInput,
    workflowId: string,
    resume: JobResume | undefined,
  ) {
    this.report =
      resume?.report ??
      newJobReport({
        id: workflowId,
        kind: input.kind,
        status: 'working',
        datasource: input.dataSource.name,
        created_at: now(),
        cursor: input.cursor,
      });
    this.signals = new SignalLog(resume?.report.rejectedSignals);
    this.failed = { ...input.cursor.failed };
    this.listedAt = resume?.listedAt;
    this.oldestUpload = resume?.oldestUploadInProgress;
    this.uploadsUnseen = resume?.uploadsUnseen ?? false;
  }

  /** The cursor a listing starts from: the data source's, with this run's failed versions. */
  listingCursor(): SyncCursor {
    return { ...this.input.cursor, failed: this.failed };
  }

  errorsPage(offset: unknown, limit: unknown): JobErrorsPage {
    return errorsPage(this.allErrors, offset, limit);
  }

  rejectSignal(signal: string, reason: string): void {
    this.signals.reject(signal, reason);
    this.report.rejectedSignals = this.signals.snapshot();
  }

  /** Shows the rate-limit tokens; true when waiting for tokens started or ended. */
  showTokens(held: number, waiting: boolean): boolean {
    const changed = this.report.tokens.waiting !== waiting;
    this.report.tokens = { held, waiting };
    if (waiting) this.report.status = 'waiting';
    else if (this.report.status === 'waiting') this.report.status = 'working';
    return changed;
  }

  touch(): void {
    this.report.updated_at = now();
  }

  recordOk(outcome: IngestOutcome): void {
    const s = this.report.statistics;
    // A version an earlier job loaded (a duplicate event, a listing that raced it) loads nothing.
    if (outcome.alreadyLoaded) {
      s.files_already_loaded = (s.files_already_loaded ?? 0) + 1;
      return;
    }
    s.files_done++;
    s.row_count += outcome.rows;
    s.quarantined_rows += outcome.quarantined;
    s.bytes += outcome.bytes;
  }

  recordFailure(object: { key: string; etag: string }, message: string, permanent: boolean): void {
    this.report.statistics.files_failed++;
    // The first errors and a count of the rest: a report is a payload (see bounds.ts).
    keepError(this.report, this.allErrors, { key: object.key, etag: object.etag, error: message });
    // A version that cannot be loaded is not retried by every poll; an
    // overwrite (new ETag) is a new version and is tried again.
    if (permanent) this.failed[object.key] = object.etag;
  }

  /** Counts what one listing page found and keeps what the cursor needs from it. */
  recordListing(page: DiscoverResult, found: number): void {
    this.listedAt ??= page.listedAt;
    if (page.oldestUploadInProgress) this.oldestUpload = page.oldestUploadInProgress;
    if (page.nextToken === undefined && this.input.kind === 'sync') this.noteGuard(page);
    this.report.statistics.found_files += found;
    this.report.statistics.files_skipped += page.skippedUnsupported;
    this.touch();
  }

  /** Records what a listing could not guard; never thrown, so the job goes on and says so. */
  private noteGuard(page: DiscoverResult): void {
    this.report.warnings ??= [];
    if (page.uploadGuardWarning === undefined) return;
    this.uploadsUnseen = true;
    if (!this.report.warnings.includes(page.uploadGuardWarning)) this.report.warnings.push(page.uploadGuardWarning);
  }

  /** What the next run of a job that continues as new at `continuationToken` carries. */
  carry(continuationToken: string): JobResume {
    return {
      report: this.report,
      continuationToken,
      listedAt: this.listedAt,
      oldestUploadInProgress: this.oldestUpload,
      uploadsUnseen: this.uploadsUnseen,
    };
  }

  /** Ends with every file tried: an error only when files failed and none loaded. */
  succeed(): void {
    const s = this.report.statistics;
    this.report.status = s.files_failed > 0 && s.files_done === 0 ? 'error' : 'done';
  }

  /** Cancelled: the reason stays in the data source's last error (a state change only: replay-safe). */
  cancel(): void {
    this.report.status = 'cancelled';
    const s = this.report.statistics;
    this.report.errors.push({
      key: '',
      etag: '',
      error: `job cancelled before it finished (${s.files_done} of ${s.found_files} files done, ${s.files_failed} failed)`,
    });
  }

  fail(message: string): void {
    this.report.status = 'error';
    this.report.errors.push({ key: '', etag: '', error: message });
  }

  /**
   * The report with the cursor the data source continues from. The watermark
   * moves to the start of this listing, but never past the start of an upload
   * still in progress (R5.4): such a file, once complete, is newer than the watermark.
   */
  finish(): JobReport {
    const { input, report } = this;
    // The failed map travels in every job's input and the data source's state: bounded in bytes too.
    const failedKept = boundFailedBytes(this.failed);
    const cursor: SyncCursor =
      input.kind === 'sync'
        ? cursorAfterSync(input.cursor, failedKept, {
            complete: input.list && report.status === 'done',
            listedAt: this.listedAt,
            oldestUploadInProgress: this.oldestUpload,
            uploadsUnseen: this.uploadsUnseen,
          })
        : input.cursor;
    report.cursor = cursor;
    report.updated_at = now();
    return report;
  }
}

/** The workflow's clock (the SDK's deterministic Date). */
function now(): string {
  return new Date().toISOString();
}
