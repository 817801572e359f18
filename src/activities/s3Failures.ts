/**
 * What an S3 error means for an activity: a failure retrying cannot fix (a
 * missing bucket, denied access, a refused key, a version gone or
 * overwritten) is a {@link TerminalFailure}; the rest is retried, in words
 * that never name the endpoint (which may be a secret).
 */
import { AssumeRoleError } from '../aws/credentials';
import { describeS3Error } from '../aws/s3Errors';
import type { ObjectVersion } from '../contract';
import { TerminalFailure } from './failures';
import { isRefusedRequest } from './verify';

/** The error an activity throws for an S3 (or AssumeRole) error while `what` (e.g. "listing s3://b/p"). */
export function s3Failure(err: unknown, what: string): Error {
  // Terminal or not as the credentials cache decided (see AssumeRoleError).
  if (err instanceof AssumeRoleError) return err;
  const { name, status } = describeS3Error(err);
  if (name === 'NoSuchBucket') return new TerminalFailure(`${what}: the bucket does not exist`, 'NoSuchBucket');
  if (name === 'AccessDenied' || status === 403) {
    return new TerminalFailure(`${what}: access denied; check the role's access policy`, 'AccessDenied');
  }
  // A key the store refuses (`../`, a segment over 255 bytes) fails at once: retrying cannot fix it.
  if (isRefusedRequest(status, name)) {
    return new TerminalFailure(
      `${what}: the store refused the request (HTTP ${status} ${name}); not retried`,
      'RequestRefused',
    );
  }
  // The network error's code says what happened without naming the endpoint (which may be a secret).
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  const detail = code ?? (name === 'Error' ? 'network or server error' : name);
  return new Error(`${what}: ${detail}${status ? ` (HTTP ${status})` : ''}; will retry`);
}

/** The failure of a GET of `object`: gone and overwritten are final, the rest as {@link s3Failure}. */
export function getFailure(err: unknown, object: ObjectVersion): Error {
  const uri = `s3://${object.bucket}/${object.key}`;
  const { name, status } = describeS3Error(err);
  if (name === 'NoSuchKey' || status === 404) {
    return new TerminalFailure(`${uri}: object was deleted before it could be loaded`, 'ObjectGone');
  }
  if (name === 'PreconditionFailed' || status === 412) {
    return new TerminalFailure(
      `${uri}: object was overwritten (ETag ${object.etag} is gone); the new version is loaded on its own`,
      'ObjectOverwritten',
    );
  }
  return s3Failure(err, `reading ${uri}`);
}
