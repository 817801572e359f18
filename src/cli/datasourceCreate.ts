/**
 * `s3c datasource create --s3` (SPEC R11, R1.2, R1.3, R3, R4.1): the guided
 * flow of the reference's "Create an S3 data source". It asks for the data
 * source's name, the connection, the bucket URI, the schedule and optionally
 * IMPORT_FROM_TIMESTAMP; lists the bucket with the connection, downloads the
 * start of one matching file, infers its schema with DuckDB
 * (./schemaInference) and writes `<name>.datasource`, parsed back to prove it
 * valid.
 *
 * Decisions:
 * - The sample is the first matching object in listing (key) order that is not
 *   empty; in an interactive run the user may pick one of the first ten.
 * - CSV and NDJSON: the first {@link DEFAULT_SAMPLE_BYTES} of the object
 *   (ranged GET), gzip inflated as far as those bytes go (at most
 *   {@link DEFAULT_INFLATED_BYTES}), cut after the last complete line.
 *   Parquet: the whole object when it is at most {@link DEFAULT_PARQUET_BYTES},
 *   else no inference.
 * - When nothing matches, the listing fails or the sample cannot be read, the
 *   file gets a commented SCHEMA template (one placeholder column, so that it
 *   parses) and the flow says so.
 * - ENGINE_SORTING_KEY is written out: the default rule of R1.3 applied to
 *   the inferred columns (omitted when no column qualifies).
 * - The file goes to `<project>/datasources/` when that folder exists, else to
 *   the project folder.
 * - Non-interactive: when name, connection, URI and schedule are all given,
 *   nothing is asked (IMPORT_FROM_TIMESTAMP only from `fromTimestamp`, the
 *   sample is the first file).
 *
 * Prompts are injected ({@link DatasourcePrompts}, the shapes of
 * `@inquirer/prompts` v7) so tests can script the answers. Secret values (the
 * connection's keys or role) are never written to `out` or to an error.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGunzip } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { S3ClientCache } from '../aws/credentials';
import { describeS3Error } from '../aws/s3Errors';
import {
  type ConnectionDef,
  DATAFILE_NAME_PATTERN,
  checkDataSourceNameFree,
  type FileFormat,
  type SecretLookup,
  checkBucketUri,
  checkFromTimestamp,
  checkSchedule,
  defaultSortingKey,
  findDatafiles,
  loadProject,
  parseDataSource,
  resolveSecrets,
} from '../datafiles';
import { compileBucketUri, describePattern, formatOfKey, parseBucketUri, type ObjectFormat } from '../s3uri';
import { formatBytes } from '../contract';
import type { ConnectionPrompts } from './prompting';
import { InferenceError, type InferredColumn, type InferredSchema, asColumns, columnLine, inferSchema } from './schemaInference';
import { ask, printBlock } from './prompting';

/** The prompt functions the flow needs; the shapes of `@inquirer/prompts` v7 (same as `s3c connection create`). */
export type DatasourcePrompts = ConnectionPrompts;

/** Bytes of a CSV or NDJSON object downloaded for the sample (a ranged GET). */
export const DEFAULT_SAMPLE_BYTES = 8 * 1024 * 1024;
/** Bytes a gzip CSV or NDJSON sample may inflate to. */
export const DEFAULT_INFLATED_BYTES = 32 * 1024 * 1024;
/** Largest Parquet object downloaded whole for inference. */
export const DEFAULT_PARQUET_BYTES = 64 * 1024 * 1024;
/** Objects listed at most while looking for matching files. */
export const DEFAULT_MAX_LISTED = 10_000;

/** Options of {@link datasourceCreateS3}. */
export interface DatasourceCreateOptions {
  /** The folder that holds the datafiles. */
  projectDir: string;
  /** Resolves secret references of the project's datafiles. */
  lookup: SecretLookup;
  /** S3 clients per connection. */
  s3: S3ClientCache;
  /** Prompt functions. */
  prompts: DatasourcePrompts;
  /** Receives every line of output. */
  out: (line: string) => void;
  /** The data source's name; not asked when given (a bad or taken name is refused). */
  name?: string;
  /** The connection's name; not asked when given. */
  connection?: string;
  /** The bucket URI; not asked when given. */
  uri?: string;
  /** `@auto`, `@once`, `@on-demand` or a cron expression; not asked when given. */
  schedule?: string;
  /** IMPORT_FROM_TIMESTAMP; when omitted it is asked for in interactive runs only. */
  fromTimestamp?: string;
  /**
   * Whether optional questions (IMPORT_FROM_TIMESTAMP, which file to sample)
   * are asked. Default: true unless name, connection, uri and schedule are all given.
   */
  interactive?: boolean;
  /** Sample limits (tests make them small). */
  limits?: Partial<SampleLimits>;
}

/** Download limits of the sample file. */
export interface SampleLimits {
  sampleBytes: number;
  inflatedBytes: number;
  parquetBytes: number;
  maxListed: number;
}

/** What {@link datasourceCreateS3} created. */
export interface DatasourceCreateResult {
  /** Path of the `.datasource` file written. */
  path: string;
  /** The file's text. */
  text: string;
  /** True when the columns were inferred from a sample; false for the template. */
  inferred: boolean;
  /** The object the schema was inferred from, when there was one. */
  sampleKey?: string;
}


/** Why `name` cannot be a new data source in `projectDir`, or undefined when it can. */
export function datasourceNameProblem(name: string, projectDir: string): string | undefined {
  if (!DATAFILE_NAME_PATTERN.test(name)) {
    return `Invalid data source name ${JSON.stringify(name)}: expected letters, digits and _, not starting with a digit (^[a-zA-Z_][a-zA-Z0-9_]*$)`;
  }
  const free = checkDataSourceNameFree(name);
  if (!free.ok) return `${free.problem.what} ${free.problem.found}: expected ${free.problem.expected}`;
  // Table names are case-insensitive: `Events` and `events` would share one.
  const existing = fs.existsSync(projectDir)
    ? findDatafiles(projectDir).find((f) => path.basename(f).toLowerCase() === `${name}.datasource`.toLowerCase())
    : undefined;
  if (existing !== undefined) {
    return `A data source named ${JSON.stringify(name)} already exists (${path.relative(projectDir, existing) || existing}); choose another name or edit that file`;
  }
  return undefined;
}

/** Why `uri` is not a usable IMPORT_BUCKET_URI, or undefined when it is. */
export function bucketUriProblem(uri: string): string | undefined {
  try {
    parseBucketUri(uri);
  } catch (err) {
    return `Invalid bucket URI: ${err instanceof Error ? err.message : String(err)}`;
  }
  const checked = checkBucketUri(uri);
  return checked.ok ? undefined : `${checked.problem.what}: found ${checked.problem.found}, expected ${checked.problem.expected}`;
}

function scheduleProblem(value: string): string | undefined {
  const checked = checkSchedule(value);
  return checked.ok ? undefined : `${checked.problem.what}: found ${checked.problem.found}, expected ${checked.problem.expected}`;
}

function fromTimestampProblem(value: string): string | undefined {
  const checked = checkFromTimestamp(value);
  return checked.ok ? undefined : `${checked.problem.what}: found ${checked.problem.found}, expected ${checked.problem.expected}`;
}

/** Settings of the `.datasource` file the flow writes. */
export interface DatasourceFileSpec {
  connection: string;
  uri: string;
  schedule: string;
  fromTimestamp?: string;
  /** Inferred columns; absent for the template. */
  columns?: readonly InferredColumn[];
  /** Key the columns were inferred from. */
  sampleKey?: string;
  /** Why there are no inferred columns (one line), for the template's comment. */
  templateReason?: string;
}

/**
 * The text of the `.datasource` file: DESCRIPTION, SCHEMA (the inferred
 * columns, or a commented template with one placeholder column), ENGINE
 * "MergeTree", ENGINE_SORTING_KEY (R1.3 default rule, when a column
 * qualifies), then the IMPORT_* settings.
 */
export function datasourceFileText(spec: DatasourceFileSpec): string {
  const lines: string[] = ['DESCRIPTION >'];
  lines.push(`    Files of ${spec.uri}, read with the connection ${spec.connection}.`);
  lines.push(
    spec.columns !== undefined && spec.sampleKey !== undefined
      ? `    Schema inferred from ${spec.sampleKey} by \`s3c datasource create --s3\`.`
      : '    Created by `s3c datasource create --s3`; the schema is still to be written.',
  );
  lines.push('', 'SCHEMA >');
  let sortingKey: string | undefined;
  if (spec.columns !== undefined && spec.columns.length > 0) {
    spec.columns.forEach((c, i) => lines.push(`    ${columnLine(c)}${i < (spec.columns?.length ?? 0) - 1 ? ',' : ''}`));
    sortingKey = defaultSortingKey(asColumns(spec.columns));
  } else {
    const reason = (spec.templateReason ?? 'no sample file').replace(/\s+/g, ' ').trim().slice(0, 200);
    lines.push(
      `    # TODO: no schema was inferred (${reason}).`,
      '    # Replace the placeholder column below with the fields of the files, one per line:',
      '    #   `name` Type `json:$.path`, ...',
      '    # The JSONPath finds NDJSON and Parquet values ($.a.b, $[\'key with spaces\'], $.a[:]);',
      '    # CSV columns are found by the header when it names them, else by position.',
      '    # Types: String, LowCardinality(String), Bool, Int8..Int64, UInt8..UInt64, Float32, Float64,',
      '    #   Decimal(P, S), Date, DateTime, DateTime64(3), UUID, Nullable(T), Array(T), Map(String, T).',
      '    `data` String `json:$`',
    );
  }
  lines.push('', 'ENGINE "MergeTree"');
  // The key is a double-quoted value: its \ and " are escaped (a column may be named `\intval = 1`).
  if (sortingKey !== undefined) lines.push(`ENGINE_SORTING_KEY "${sortingKey.replace(/[\\"]/g, (c) => `\\${c}`)}"`);
  lines.push('', `IMPORT_CONNECTION_NAME ${spec.connection}`, `IMPORT_BUCKET_URI ${spec.uri}`, `IMPORT_SCHEDULE ${spec.schedule}`);
  if (spec.fromTimestamp !== undefined) lines.push(`IMPORT_FROM_TIMESTAMP ${spec.fromTimestamp}`);
  lines.push('');
  return lines.join('\n');
}


/** One object of the listing that the URI selects and whose format is supported. */
interface MatchingObject {
  key: string;
  size: number;
  lastModified?: Date;
  format: ObjectFormat;
}

interface Listing {
  matches: MatchingObject[];
  skipped: number;
  listed: number;
  /** True when the listing stopped at the limit. */
  truncated: boolean;
}

async function listMatching(client: S3Client, uri: string, maxListed: number): Promise<Listing> {
  const compiled = compileBucketUri(uri);
  const result: Listing = { matches: [], skipped: 0, listed: 0, truncated: false };
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: compiled.bucket, Prefix: compiled.listPrefix, ContinuationToken: token, MaxKeys: 1000 }),
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
      result.matches.push({ key: item.Key, size: item.Size ?? 0, ...(item.LastModified ? { lastModified: item.LastModified } : {}), format });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (token !== undefined && result.listed >= maxListed) {
      result.truncated = true;
      break;
    }
  } while (token !== undefined);
  return result;
}

/** Inflates as much of a (possibly truncated) gzip stream as there is, up to `cap` bytes. */
function gunzipPrefix(data: Uint8Array, cap: number): Promise<{ data: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const gunzip = createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const finish = (complete: boolean): void => {
      if (done) return;
      done = true;
      resolve({ data: Buffer.concat(chunks).subarray(0, Math.min(total, cap)), complete });
    };
    gunzip.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= cap) {
        finish(false);
        gunzip.destroy();
      }
    });
    gunzip.on('end', () => finish(true));
    gunzip.on('error', (err) => {
      if (total > 0) finish(false);
      else if (!done) {
        done = true;
        reject(err);
      }
    });
    gunzip.end(data);
  });
}

/** Downloads the sample of an object to `dir` as a plain file; returns its path, or why there is none. */
async function downloadSample(
  client: S3Client,
  bucket: string,
  object: MatchingObject,
  limits: SampleLimits,
  dir: string,
): Promise<{ path: string } | { reason: string }> {
  const file = path.join(dir, `sample.${object.format.format === 'ndjson' ? 'ndjson' : object.format.format}`);
  if (object.format.format === 'parquet') {
    if (object.size > limits.parquetBytes) {
      return { reason: `the Parquet file ${object.key} is ${formatBytes(object.size)}, over the ${formatBytes(limits.parquetBytes)} sampled` };
    }
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.key }));
    if (!got.Body) return { reason: `${object.key} has no content` };
    const body = got.Body as Readable;
    if (object.format.compression === 'gzip') await pipeline(body, createGunzip(), fs.createWriteStream(file));
    else await pipeline(body, fs.createWriteStream(file));
    return { path: file };
  }
  const ranged = object.size > limits.sampleBytes;
  const got = await client.send(
    new GetObjectCommand({ Bucket: bucket, Key: object.key, ...(ranged ? { Range: `bytes=0-${limits.sampleBytes - 1}` } : {}) }),
  );
  if (!got.Body) return { reason: `${object.key} has no content` };
  let bytes: Buffer = Buffer.from(await got.Body.transformToByteArray());
  let complete = !ranged;
  if (object.format.compression === 'gzip') {
    const inflated = await gunzipPrefix(bytes, limits.inflatedBytes);
    bytes = inflated.data;
    complete = complete && inflated.complete;
  }
  if (!complete) {
    const lastNewline = bytes.lastIndexOf(0x0a);
    if (lastNewline < 0) return { reason: `the first ${formatBytes(bytes.length)} of ${object.key} hold no complete line` };
    bytes = bytes.subarray(0, lastNewline + 1);
  }
  fs.writeFileSync(file, bytes);
  return { path: file };
}

/**
 * Runs the guided flow and writes `<name>.datasource` (see the module doc).
 *
 * Steps: (1) name, (2) connection (a select; the only one is taken without
 * asking), (3) bucket URI, (4) schedule, (5) IMPORT_FROM_TIMESTAMP (optional,
 * interactive runs only), (6) listing with the connection, (7) the sample file,
 * (8) download and inference, (9) the file, parsed back, and next steps.
 *
 * @throws Error when a given option is invalid, the project has no S3
 *   connection (the message points to `s3c connection create s3`), a prompt
 *   keeps giving bad answers, or the written file does not parse (it is
 *   removed). Nothing is written before every answer is in.
 */
export async function datasourceCreateS3(options: DatasourceCreateOptions): Promise<DatasourceCreateResult> {
  const { projectDir, lookup, prompts, out } = options;
  const limits: SampleLimits = {
    sampleBytes: options.limits?.sampleBytes ?? DEFAULT_SAMPLE_BYTES,
    inflatedBytes: options.limits?.inflatedBytes ?? DEFAULT_INFLATED_BYTES,
    parquetBytes: options.limits?.parquetBytes ?? DEFAULT_PARQUET_BYTES,
    maxListed: options.limits?.maxListed ?? DEFAULT_MAX_LISTED,
  };
  const interactive =
    options.interactive ?? [options.name, options.connection, options.uri, options.schedule].some((v) => v === undefined);

  // Connections first: without one there is nothing to ask.
  const project = loadProject(projectDir, lookup);
  const connections = project.connections;
  if (connections.length === 0) {
    const broken = project.errors.filter((e) => e.file.endsWith('.connection'));
    const brokenFiles = new Set(broken.map((e) => e.file)).size;
    throw new Error(
      'No S3 connection in this project: create one with `s3c connection create s3`, then run `s3c datasource create --s3` again' +
        (brokenFiles > 0 ? ` (${brokenFiles} .connection file${brokenFiles > 1 ? 's have' : ' has'} errors: \`s3c deploy --check\` shows them)` : ''),
    );
  }

  // Options given on the command line are checked before anything is asked.
  if (options.name !== undefined) {
    const p = datasourceNameProblem(options.name, projectDir);
    if (p !== undefined) throw new Error(p);
  }
  const names = connections.map((c) => c.name);
  if (options.connection !== undefined && !names.includes(options.connection)) {
    throw new Error(`Unknown connection ${JSON.stringify(options.connection)}: expected one of ${names.join(', ')} (or create it with \`s3c connection create s3\`)`);
  }
  if (options.uri !== undefined) {
    const p = bucketUriProblem(options.uri);
    if (p !== undefined) throw new Error(p);
  }
  if (options.schedule !== undefined) {
    const p = scheduleProblem(options.schedule);
    if (p !== undefined) throw new Error(p);
  }
  let fromTimestamp: string | undefined;
  if (options.fromTimestamp !== undefined) {
    const checked = checkFromTimestamp(options.fromTimestamp);
    if (!checked.ok) throw new Error(fromTimestampProblem(options.fromTimestamp));
    fromTimestamp = checked.value;
  }

  out('Creating an S3 data source.');

  // (1) Name.
  const name = options.name ?? (await ask(prompts, out, 'Data source name (letters, digits and _):', (v) => datasourceNameProblem(v, projectDir)));

  // (2) Connection.
  let connection: ConnectionDef;
  if (options.connection !== undefined) {
    connection = connections.find((c) => c.name === options.connection) as ConnectionDef;
  } else if (connections.length === 1) {
    connection = connections[0] as ConnectionDef;
    out(`Using the connection ${connection.name} (the only S3 connection of the project).`);
  } else {
    const chosen = await prompts.select<string>({
      message: 'Connection to read the bucket with:',
      choices: connections.map((c) => ({ value: c.name, name: c.name, description: `region ${c.region}${c.endpoint ? `, endpoint ${c.endpoint}` : ''}` })),
    });
    const found = connections.find((c) => c.name === chosen);
    if (!found) throw new Error(`Unknown connection ${JSON.stringify(chosen)}: expected one of ${names.join(', ')}`);
    connection = found;
  }

  // (3) Bucket URI.
  const uri =
    options.uri ??
    (await ask(prompts, out, 'Bucket URI (s3://bucket/path/*.csv; * stays within a folder, ** crosses folders):', bucketUriProblem));
  out(`The data source will load ${describePattern(uri)}.`);

  // (4) Schedule.
  let schedule = options.schedule;
  if (schedule === undefined) {
    const choice = await prompts.select<string>({
      message: 'Import schedule:',
      choices: [
        { value: '@auto', name: '@auto', description: 'load every matching file, then each new one as it lands' },
        { value: '@once', name: '@once', description: 'one run loads every matching file, then the data source rests' },
        { value: '@on-demand', name: '@on-demand', description: 'load nothing until a sync is asked for' },
        { value: 'cron', name: 'cron expression', description: 'sync on a schedule, e.g. every hour: 0 * * * *' },
      ],
      default: '@auto',
    });
    schedule = choice === 'cron' ? await ask(prompts, out, 'Cron expression (5 fields), e.g. 0 * * * *:', scheduleProblem) : choice;
    const p = scheduleProblem(schedule);
    if (p !== undefined) throw new Error(p);
  }

  // (5) IMPORT_FROM_TIMESTAMP.
  if (fromTimestamp === undefined && interactive) {
    const answer = await ask(
      prompts,
      out,
      'Only load files modified at or after (YYYY-MM-DDTHH:MM:SSZ; leave empty to load every file):',
      (v) => (v === '' ? undefined : fromTimestampProblem(v)),
      { defaultValue: '' },
    );
    if (answer !== '') {
      const checked = checkFromTimestamp(answer);
      if (checked.ok) fromTimestamp = checked.value;
    }
  }

  // (6) Listing.
  const client = options.s3.clientFor(connection);
  const { bucket, listPrefix: prefix } = compileBucketUri(uri);
  out(`Listing s3://${bucket}/${prefix} with the connection ${connection.name}...`);
  let columns: InferredColumn[] | undefined;
  let templateReason: string | undefined;
  let sampleKey: string | undefined;
  let listing: Listing | undefined;
  try {
    listing = await listMatching(client, uri, limits.maxListed);
  } catch (err) {
    templateReason = `the bucket could not be listed: ${describeS3Error(err).text}`;
    out(`✗ Cannot list s3://${bucket}/${prefix}: ${describeS3Error(err).text}`);
  }

  if (listing) {
    const atLeast = listing.truncated ? 'at least ' : '';
    const n = listing.matches.length;
    out(
      `Found ${atLeast}${n} matching file${n === 1 ? '' : 's'}` +
        (listing.skipped > 0 ? ` (${listing.skipped} more skipped: no supported extension)` : '') +
        (listing.truncated ? ` in the first ${listing.listed} objects listed` : '') +
        '.',
    );
    if (fromTimestamp !== undefined && n > 0) {
      const since = Date.parse(fromTimestamp);
      const recent = listing.matches.filter((m) => (m.lastModified?.getTime() ?? 0) >= since).length;
      out(`${recent} of them were modified at or after ${fromTimestamp}.`);
    }
    const candidates = listing.matches.filter((m) => m.size > 0);
    if (n === 0) {
      templateReason = `no file matched ${uri}`;
    } else if (candidates.length === 0) {
      templateReason = `every matching file is empty`;
    } else {
      // (7) Sample.
      let sample = candidates[0] as MatchingObject;
      if (interactive && candidates.length > 1) {
        const firstTen = candidates.slice(0, 10);
        const key = await prompts.select<string>({
          message: 'File to infer the schema from:',
          choices: firstTen.map((m) => ({ value: m.key, name: m.key, description: formatBytes(m.size) })),
          default: sample.key,
        });
        sample = firstTen.find((m) => m.key === key) ?? sample;
      }
      sampleKey = sample.key;

      // (8) Download and inference.
      const partial =
        sample.format.format !== 'parquet' && sample.size > limits.sampleBytes ? `, its first ${formatBytes(limits.sampleBytes)}` : '';
      out(`Downloading ${sample.key} (${formatBytes(sample.size)}${partial})...`);
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3c-sample-'));
      try {
        const downloaded = await downloadSample(client, bucket, sample, limits, tmp).catch((err: unknown) => ({
          reason: `${sample.key} could not be downloaded: ${describeS3Error(err).text}`,
        }));
        if ('reason' in downloaded) {
          templateReason = downloaded.reason;
        } else {
          out(`Inferring the schema of the ${formatName(sample.format.format)} sample with DuckDB...`);
          try {
            const inferred: InferredSchema = await inferSchema(downloaded.path, sample.format.format, { key: sample.key });
            if (inferred.columns.length === 0) {
              templateReason = `${sample.key} has no columns`;
            } else {
              columns = inferred.columns;
              out(`✓ Inferred ${columns.length} column${columns.length === 1 ? '' : 's'} from ${inferred.rows} row${inferred.rows === 1 ? '' : 's'} of ${sample.key}.`);
              for (const note of inferred.notes) out(`  Note: ${note}.`);
            }
          } catch (err) {
            templateReason =
              err instanceof InferenceError
                ? `no ${formatName(sample.format.format)} schema could be inferred: ${err.message}`
                : `${sample.key} could not be read as ${formatName(sample.format.format)}: ${err instanceof Error ? err.message : String(err)}`;
          }
        }
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    }
  }
  if (columns === undefined) out(`✗ No schema was inferred: ${templateReason ?? 'no sample file'}. The file gets a SCHEMA template to fill in.`);

  // (9) The file.
  const lateProblem = datasourceNameProblem(name, projectDir);
  if (lateProblem !== undefined) throw new Error(lateProblem);
  const resolve = (file: string) => (raw: string, line: number) => resolveSecrets(raw, lookup, { file, line });
  const textOf = () =>
    datasourceFileText({
      connection: connection.name,
      uri,
      schedule,
      ...(fromTimestamp !== undefined ? { fromTimestamp } : {}),
      ...(columns !== undefined ? { columns } : {}),
      ...(sampleKey !== undefined ? { sampleKey } : {}),
      ...(templateReason !== undefined ? { templateReason } : {}),
    });
  let text = textOf();
  if (columns !== undefined) {
    // Inferred columns that do not make a valid file still leave a file: the template, saying why.
    try {
      parseDataSource(text, `${name}.datasource`, resolve(`${name}.datasource`));
    } catch (e) {
      templateReason = `the inferred schema of ${sampleKey ?? 'the sample'} is not valid: ${e instanceof Error ? e.message : String(e)}`;
      out(`✗ ${templateReason}. The file gets a SCHEMA template to fill in.`);
      columns = undefined;
      text = textOf();
    }
  }
  const folder = fs.existsSync(path.join(projectDir, 'datasources')) && fs.statSync(path.join(projectDir, 'datasources')).isDirectory()
    ? path.join(projectDir, 'datasources')
    : projectDir;
  const file = path.join(folder, `${name}.datasource`);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(file, text, { flag: 'wx' });
  try {
    parseDataSource(text, file, resolve(file));
  } catch (e) {
    fs.rmSync(file, { force: true });
    throw new Error(`the generated file did not parse, so it was not kept: ${e instanceof Error ? e.message : String(e)}`);
  }
  out(`✓ Wrote ${file}:`);
  out('');
  printBlock(out, text, '    ');
  out('');
  out('Next steps:');
  let step = 1;
  if (columns === undefined) out(`  ${step++}. Write the SCHEMA of ${path.relative(projectDir, file) || file} (replace the placeholder column).`);
  else out(`  ${step++}. Review the columns, their types and the sorting key in ${path.relative(projectDir, file) || file}.`);
  out(`  ${step++}. Check the project: s3c deploy --check`);
  out(`  ${step++}. Deploy it: s3c deploy`);
  return { path: file, text, inferred: columns !== undefined, ...(sampleKey !== undefined ? { sampleKey } : {}) };
}

function formatName(format: FileFormat): string {
  return format === 'csv' ? 'CSV' : format === 'ndjson' ? 'NDJSON' : 'Parquet';
}
