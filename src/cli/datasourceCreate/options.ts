/** Options, limits and result of the guided `datasource create` (see ./index.ts). */
import type { S3ClientCache } from '../../aws/credentials';
import type { SecretLookup } from '../../datafiles';
import type { ConnectionPrompts } from '../prompting';

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

/** The limits of `options`, defaults filled in. */
export function sampleLimits(given: Partial<SampleLimits> | undefined): SampleLimits {
  return {
    sampleBytes: given?.sampleBytes ?? DEFAULT_SAMPLE_BYTES,
    inflatedBytes: given?.inflatedBytes ?? DEFAULT_INFLATED_BYTES,
    parquetBytes: given?.parquetBytes ?? DEFAULT_PARQUET_BYTES,
    maxListed: given?.maxListed ?? DEFAULT_MAX_LISTED,
  };
}
