/**
 * A data source's definition as the activities use it. Workflow payloads carry
 * a bucket URI that comes from a secret as its reference (`{{ tb_secret("X") }}`,
 * see deploy/store.ts `payloadDefinition`), so that the value stays out of
 * Temporal's history and Web UI; an activity resolves it here, as it resolves
 * a connection's keys (issue #18, item 8).
 */
import { DatafileError } from '../datafiles/errors';
import { hasSecretReference, resolveSecrets, type SecretLookup } from '../datafiles/secrets';
import type { DataSourceDef } from '../datafiles/types';
import { matchKey, parseBucketUri } from '../s3uri';
import type { ObjectVersion } from '../contract';
import { TerminalFailure } from './failures';

/** Whether the definition's bucket URI is a secret reference (the workflow could not read it). */
export function uriFromSecret(ds: DataSourceDef): boolean {
  return ds.import !== undefined && hasSecretReference(ds.import.bucketUri);
}

/**
 * The definition with its bucket URI resolved. A secret that is not set is a
 * failure retrying cannot fix until someone sets it: terminal, naming the
 * secret, never a value.
 */
export function resolveDefinition(ds: DataSourceDef, secrets: SecretLookup | undefined): DataSourceDef {
  if (!ds.import || !uriFromSecret(ds)) return ds;
  const failure = (why: string): Error =>
    new TerminalFailure(
      `IMPORT_BUCKET_URI ${ds.import!.bucketUri} of ${ds.name} cannot be resolved: ${why}`,
      'SecretNotResolved',
    );
  if (!secrets) throw failure('this worker has no secret store');
  let bucketUri: string;
  try {
    bucketUri = resolveSecrets(ds.import.bucketUri, secrets, { file: ds.path, line: 1 });
  } catch (err) {
    // Its message names the secret, never a value.
    throw failure(err instanceof DatafileError ? err.what : 'a malformed reference');
  }
  try {
    parseBucketUri(bucketUri);
  } catch {
    // The parse error would quote the value.
    throw failure('its value is not an s3:// bucket URI (value not shown)');
  }
  return { ...ds, import: { ...ds.import, bucketUri } };
}

/**
 * Whether `object` is one the resolved definition selects. The workflow of a
 * URI from a secret cannot check the objects that events name (it only has the
 * reference), so the activity does, before any download.
 */
export function selects(resolved: DataSourceDef, object: ObjectVersion): boolean {
  const uri = resolved.import?.bucketUri;
  return uri !== undefined && object.bucket === parseBucketUri(uri).bucket && matchKey(uri, object.key);
}
