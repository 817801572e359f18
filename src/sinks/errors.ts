/**
 * The errors of a destination's load: a file that cannot be loaded fails
 * alone (the activity reports it and the job goes on); every other error
 * is retried. Their messages are matched by tests and read by users: keep
 * the wording.
 */
import { TerminalError } from '../util/errors';

/**
 * A file that cannot be read at all (R4.4): not found, truncated or corrupt
 * gzip, not Parquet, unsupported Parquet codec. The message names the object
 * (`s3://bucket/key`) and the reason; row-level problems never raise it.
 */
export class FileUnreadableError extends TerminalError {
  readonly type: string = 'FileUnreadable';
  /** `s3://bucket/key` of the object. */
  readonly uri: string;
  /** The reason in plain words. */
  readonly reason: string;
  constructor(bucket: string, key: string, reason: string) {
    super(`cannot read s3://${bucket}/${key}: ${reason}`);
    this.name = 'FileUnreadableError';
    this.uri = `s3://${bucket}/${key}`;
    this.reason = reason;
  }
}

/**
 * The load invariant failed: the records seen in a file (counted apart from
 * DuckDB's reader) are not the rows loaded plus the rows quarantined. Nothing
 * of the file is committed.
 */
export class RecordCountMismatchError extends FileUnreadableError {
  override readonly type: string = 'RecordCountMismatch';
  constructor(bucket: string, key: string, seen: number, rows: number, quarantined: number) {
    super(
      bucket,
      key,
      `records seen (${seen}) do not add up to rows loaded (${rows}) + rows quarantined (${quarantined}); nothing was loaded from this file`,
    );
    this.name = 'RecordCountMismatchError';
  }
}

/** DuckDB ran out of memory loading the file: retrying it the same way cannot heal that. */
export class OutOfMemoryError extends FileUnreadableError {
  override readonly type: string = 'OutOfMemory';
}

/** Makes the error of a file that cannot be loaded (`outOfMemory`: an OutOfMemoryError). */
export type FileFailure = (reason: string, outOfMemory?: boolean) => FileUnreadableError;

/** The FileFailure of one object. */
export function fileFailure(input: { bucket: string; key: string }): FileFailure {
  return (reason, outOfMemory = false) =>
    outOfMemory
      ? new OutOfMemoryError(input.bucket, input.key, reason)
      : new FileUnreadableError(input.bucket, input.key, reason);
}
