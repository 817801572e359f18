/**
 * What a download on a thread (downloadPool.ts) is given and reports.
 *
 * The thread gets the credentials the main thread's client resolved (in
 * memory only), signs its own requests with them, and reports errors as
 * name / code / HTTP status — never the request URL or the message of an
 * error that could hold it.
 */
import { createRequire } from 'node:module';
import type { S3Client } from '@aws-sdk/client-s3';
import { S3cError } from '../util/errors';

export interface ThreadDownload {
  bucket: string;
  key: string;
  /** ETag (without quotes) the response must match. */
  etag: string;
  path: string;
}

/** An S3 error as the thread reports it, shaped like the SDK's for the caller's mapping. */
export class ThreadDownloadError extends S3cError {
  readonly code?: string;
  readonly $metadata: { httpStatusCode?: number };
  constructor(e: { name?: string; code?: string; status?: number }) {
    super(e.name ?? e.code ?? 'download failed');
    this.name = e.name ?? 'Error';
    this.code = e.code;
    this.$metadata = { httpStatusCode: e.status };
  }
}

/** What a thread needs to sign its own requests like `client`: held in memory only, never logged. */
export interface ThreadClientConfig {
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Where a thread `require`s the AWS SDK from (it cannot import our modules). */
export const sdkPath = createRequire(import.meta.url).resolve('@aws-sdk/client-s3');

/** `client`'s region, endpoint and current credentials, for a thread to build its own client. */
export async function threadClientConfig(client: S3Client): Promise<ThreadClientConfig> {
  const credentials = await client.config.credentials();
  const region = await client.config.region();
  let endpoint: string | undefined;
  if (client.config.endpoint) {
    const ep = await client.config.endpoint();
    endpoint = `${ep.protocol}//${ep.hostname}${ep.port ? `:${ep.port}` : ''}${ep.path}`;
  }
  return {
    region,
    endpoint,
    forcePathStyle: client.config.forcePathStyle ?? false,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
  };
}
