/**
 * Steps 6 to 8 of the guided `datasource create`: list the bucket with the
 * connection, pick the sample file, download it and infer its schema. Every
 * failure ends in a reason for the SCHEMA template, never in an error.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { describeS3Error } from '../../aws/s3Errors';
import { formatBytes } from '../../contract';
import type { ConnectionDef, FileFormat } from '../../datafiles';
import { compileBucketUri } from '../../s3uri';
import { InferenceError, type InferredColumn, inferSchema } from '../schemaInference';
import { downloadSample } from './download';
import { type Listing, type MatchingObject, listMatching, listingSummary } from './listing';
import type { DatasourceCreateOptions, DatasourcePrompts, SampleLimits } from './options';

/** What the bucket gave: the columns inferred, or why there are none; the sample's key when there was one. */
export interface BucketSchema {
  columns?: InferredColumn[];
  templateReason?: string;
  sampleKey?: string;
}

/** What steps 6 to 8 need of the flow. */
export interface BucketSampleInput {
  options: Pick<DatasourceCreateOptions, 's3' | 'prompts' | 'out'>;
  connection: ConnectionDef;
  uri: string;
  fromTimestamp: string | undefined;
  interactive: boolean;
  limits: SampleLimits;
}

/** (6) Lists the bucket, then (7) picks the sample and (8) infers its schema. */
export async function schemaFromBucket(input: BucketSampleInput): Promise<BucketSchema> {
  const { options, connection, uri, limits } = input;
  const { out } = options;
  const client = options.s3.clientFor(connection);
  const { bucket, listPrefix: prefix } = compileBucketUri(uri);
  out(`Listing s3://${bucket}/${prefix} with the connection ${connection.name}...`);
  let listing: Listing;
  try {
    listing = await listMatching(client, uri, limits.maxListed);
  } catch (err) {
    out(`✗ Cannot list s3://${bucket}/${prefix}: ${describeS3Error(err).text}`);
    return { templateReason: `the bucket could not be listed: ${describeS3Error(err).text}` };
  }
  for (const line of listingSummary(listing, input.fromTimestamp)) out(line);
  const candidates = listing.matches.filter((m) => m.size > 0);
  if (listing.matches.length === 0) return { templateReason: `no file matched ${uri}` };
  if (candidates.length === 0) return { templateReason: `every matching file is empty` };
  const sample = await chooseSample(candidates, input.interactive, options.prompts);
  return { sampleKey: sample.key, ...(await schemaOfSample(client, bucket, sample, limits, out)) };
}

/** (7) The sample: the first candidate, or in an interactive run one of the first ten. */
async function chooseSample(
  candidates: readonly MatchingObject[],
  interactive: boolean,
  prompts: DatasourcePrompts,
): Promise<MatchingObject> {
  const first = candidates[0] as MatchingObject;
  if (!interactive || candidates.length === 1) return first;
  const firstTen = candidates.slice(0, 10);
  const key = await prompts.select<string>({
    message: 'File to infer the schema from:',
    choices: firstTen.map((m) => ({ value: m.key, name: m.key, description: formatBytes(m.size) })),
    default: first.key,
  });
  return firstTen.find((m) => m.key === key) ?? first;
}

/** (8) Downloads the sample into a folder of its own (removed after) and infers its schema. */
async function schemaOfSample(
  client: S3Client,
  bucket: string,
  sample: MatchingObject,
  limits: SampleLimits,
  out: (line: string) => void,
): Promise<Omit<BucketSchema, 'sampleKey'>> {
  const partial =
    sample.format.format !== 'parquet' && sample.size > limits.sampleBytes
      ? `, its first ${formatBytes(limits.sampleBytes)}`
      : '';
  out(`Downloading ${sample.key} (${formatBytes(sample.size)}${partial})...`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3c-sample-'));
  try {
    const downloaded = await downloadSample(client, bucket, sample, limits, tmp).catch((err: unknown) => ({
      reason: `${sample.key} could not be downloaded: ${describeS3Error(err).text}`,
    }));
    if ('reason' in downloaded) return { templateReason: downloaded.reason };
    out(`Inferring the schema of the ${formatName(sample.format.format)} sample with DuckDB...`);
    return await inferColumns(downloaded.path, sample, out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The columns of the downloaded sample and the notes of inference, or why there are none. */
async function inferColumns(
  file: string,
  sample: MatchingObject,
  out: (line: string) => void,
): Promise<Omit<BucketSchema, 'sampleKey'>> {
  const format = sample.format.format;
  try {
    const inferred = await inferSchema(file, format, { key: sample.key });
    if (inferred.columns.length === 0) return { templateReason: `${sample.key} has no columns` };
    const n = inferred.columns.length;
    out(
      `✓ Inferred ${n} column${n === 1 ? '' : 's'} from ${inferred.rows} row${inferred.rows === 1 ? '' : 's'} of ${sample.key}.`,
    );
    for (const note of inferred.notes) out(`  Note: ${note}.`);
    return { columns: inferred.columns };
  } catch (err) {
    return {
      templateReason:
        err instanceof InferenceError
          ? `no ${formatName(format)} schema could be inferred: ${err.message}`
          : `${sample.key} could not be read as ${formatName(format)}: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

function formatName(format: FileFormat): string {
  return format === 'csv' ? 'CSV' : format === 'ndjson' ? 'NDJSON' : 'Parquet';
}
