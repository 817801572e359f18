/** Step 6 of the guided `datasource create`: the objects of the bucket that the URI selects. */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { compileBucketUri, formatOfKey, type ObjectFormat } from '../../s3uri';

/** One object of the listing that the URI selects and whose format is supported. */
export interface MatchingObject {
  key: string;
  size: number;
  lastModified?: Date;
  format: ObjectFormat;
}

/** What a listing found: matches, objects skipped for their extension, objects listed. */
export interface Listing {
  matches: MatchingObject[];
  skipped: number;
  listed: number;
  /** True when the listing stopped at the limit. */
  truncated: boolean;
}

/** Lists the objects `uri` selects, at most about `maxListed` objects (whole pages of 1000). */
export async function listMatching(client: S3Client, uri: string, maxListed: number): Promise<Listing> {
  const compiled = compileBucketUri(uri);
  const result: Listing = { matches: [], skipped: 0, listed: 0, truncated: false };
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: compiled.bucket,
        Prefix: compiled.listPrefix,
        ContinuationToken: token,
        MaxKeys: 1000,
      }),
    );
    for (const item of page.Contents ?? []) {
      if (item.Key === undefined) continue;
      result.listed++;
      if (!compiled.matches(item.Key)) continue;
      const format = formatOfKey(item.Key);
      if (!format) {
        result.skipped++;
        continue;
      }
      result.matches.push({
        key: item.Key,
        size: item.Size ?? 0,
        ...(item.LastModified ? { lastModified: item.LastModified } : {}),
        format,
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (token !== undefined && result.listed >= maxListed) {
      result.truncated = true;
      break;
    }
  } while (token !== undefined);
  return result;
}

/** The line that says what the listing found, and how many were modified since IMPORT_FROM_TIMESTAMP. */
export function listingSummary(listing: Listing, fromTimestamp: string | undefined): string[] {
  const atLeast = listing.truncated ? 'at least ' : '';
  const n = listing.matches.length;
  const lines = [
    `Found ${atLeast}${n} matching file${n === 1 ? '' : 's'}` +
      (listing.skipped > 0 ? ` (${listing.skipped} more skipped: no supported extension)` : '') +
      (listing.truncated ? ` in the first ${listing.listed} objects listed` : '') +
      '.',
  ];
  if (fromTimestamp !== undefined && n > 0) {
    const since = Date.parse(fromTimestamp);
    const recent = listing.matches.filter((m) => (m.lastModified?.getTime() ?? 0) >= since).length;
    lines.push(`${recent} of them were modified at or after ${fromTimestamp}.`);
  }
  return lines;
}
