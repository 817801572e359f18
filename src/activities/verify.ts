/**
 * Event metadata is a hint (issue 18, item 5): before a job loads an object
 * an event announced, S3 says whether it exists, its ETag and its size. A
 * forged or wrong event (a real key and ETag with a size of 20 TB) then
 * decides nothing: the size limit, the batching and the ledger see S3's data.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SESSION_TOKEN_ERRORS } from '../aws/credentials';
import { describeS3Error } from '../aws/s3Errors';
import { normalizeEtag, type ObjectVersion } from '../contract';

/** What S3 says of one announced object, index-aligned with the input (no keys: bounded payloads). */
export type VerifiedObject =
  { ok: true; etag: string; size: number; lastModified: string } | { ok: false; error: string; permanent: boolean };

/** HEADs at once per verification (the store's request rate, not bandwidth, bounds them). */
const HEADS_AT_ONCE = 16;

/**
 * True for an HTTP status the store gives a request that retrying cannot fix
 * (issue 18, item 6): a 4xx other than throttling (429), a request timeout
 * (408) and a refused session token (renewed, then retried).
 */
export function isRefusedRequest(status: number | undefined, name: string | undefined): boolean {
  if (status === undefined || status < 400 || status > 499) return false;
  if (status === 408 || status === 429) return false;
  return !SESSION_TOKEN_ERRORS.has(name ?? '');
}

/** The failure of one HEAD: an outcome when S3's answer is final, else a throw (the activity retries). */
function headOutcome(err: unknown, retry: (err: unknown) => Error): VerifiedObject {
  const { name, status } = describeS3Error(err);
  if (status === 404 || name === 'NotFound' || name === 'NoSuchKey') {
    // Not permanent: the version is the event's word only. Marked failed, it would hide a later upload
    // with that ETag (content a forged event guessed) from every listing.
    return { ok: false, error: 'object was deleted before it could be loaded', permanent: false };
  }
  // 403 is access denied or a refused session token: the caller's rules decide (see s3Failures.ts).
  if (status !== 403 && isRefusedRequest(status, name)) {
    return { ok: false, error: `the store refused the key (HTTP ${status}); not retried`, permanent: true };
  }
  throw retry(err);
}

/**
 * HEADs every object (the current version of its key) and answers what S3
 * says: existence, ETag, size, last modified. A final answer (gone, a key the
 * store refuses) is that object's outcome; anything else throws `retry(err)`.
 */
export async function headObjects(
  client: S3Client,
  objects: ObjectVersion[],
  retry: (err: unknown, object: ObjectVersion) => Error,
  signal?: AbortSignal,
): Promise<VerifiedObject[]> {
  const out: VerifiedObject[] = new Array<VerifiedObject>(objects.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < objects.length) {
      const index = next++;
      const object = objects[index]!;
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: object.bucket, Key: object.key }), {
          abortSignal: signal,
        });
        out[index] = {
          ok: true,
          etag: normalizeEtag(head.ETag ?? ''),
          size: head.ContentLength ?? 0,
          lastModified: (head.LastModified ?? new Date(0)).toISOString(),
        };
      } catch (err) {
        out[index] = headOutcome(err, (e) => retry(e, object));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(HEADS_AT_ONCE, objects.length) }, lane));
  return out;
}
