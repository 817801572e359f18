import { TerminalError } from '../util/errors';

/** What was wrong with a bucket URI; stable, for callers and `ApplicationFailure` types. */
export type BucketUriErrorType =
  /** The URI does not start with `s3://`. */
  | 'missing-scheme'
  /** The bucket part is empty or breaks the S3 bucket naming rules. */
  | 'invalid-bucket'
  /** The pattern part cannot be read (e.g. a run of three or more `*`). */
  | 'invalid-pattern';

/** The shape every message ends with, so the user sees what we expected. */
export const EXPECTED_URI_SHAPE = 'expected s3://<bucket>/<pattern>, for example s3://my-bucket/data/*.csv';

/**
 * Thrown by {@link parseBucketUri} (and everything that parses a URI first)
 * when a bucket URI cannot be used. The message names the URI, what is wrong
 * with it and the shape that was expected.
 */
export class BucketUriError extends TerminalError {
  override readonly name = 'BucketUriError';
  /** What kind of problem it is. */
  readonly type: BucketUriErrorType;
  /** The URI exactly as given. */
  readonly uri: string;

  constructor(type: BucketUriErrorType, uri: string, reason: string) {
    super(`Invalid bucket URI ${JSON.stringify(uri)}: ${reason}; ${EXPECTED_URI_SHAPE}`);
    this.type = type;
    this.uri = uri;
  }
}
