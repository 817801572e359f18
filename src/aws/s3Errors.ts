/**
 * The one reading of an S3 error (AWS SDK v3): its name, code, HTTP status
 * and message. Callers decide what each means for them; this only reads.
 */

/** What an S3 error says. */
export interface S3ErrorFacts {
  /** The SDK's error name (`NoSuchKey`, `AccessDenied`, `NotFound`...); `Error` when it has none. */
  name: string;
  /** S3's error code from the response body when there is one, else {@link S3ErrorFacts.name}. */
  code: string;
  /** HTTP status of the response; undefined when none came (a network error). */
  status?: number;
  /** First line of the message, trimmed; '' when there is none. */
  message: string;
  /** `name: message`, or the name alone when the message adds nothing. Secret-free. */
  text: string;
}

/**
 * Reads an error thrown by an S3 call.
 *
 * @example describeS3Error(err) // { name: 'NoSuchKey', code: 'NoSuchKey', status: 404, message: 'The specified key does not exist.', text: 'NoSuchKey: The specified key does not exist.' }
 */
export function describeS3Error(err: unknown): S3ErrorFacts {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: string;
    Code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = e.name ?? 'Error';
  const message = (e.message ?? '').split('\n')[0]?.trim() ?? '';
  return {
    name,
    code: e.Code ?? name,
    status: e.$metadata?.httpStatusCode,
    message,
    text: message !== '' && message !== name ? `${name}: ${message}` : name,
  };
}
