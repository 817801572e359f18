/**
 * `s3c datasource create --s3` (SPEC R11, R1.2, R1.3, R3, R4.1): the guided
 * flow of the reference's "Create an S3 data source". It asks for the data
 * source's name, the connection, the bucket URI, the schedule and optionally
 * IMPORT_FROM_TIMESTAMP; lists the bucket with the connection, downloads the
 * start of one matching file, infers its schema with DuckDB
 * (../schemaInference) and writes `<name>.datasource`, parsed back to prove it
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
import { askFromTimestamp, askName, askSchedule, askUri, chooseConnection } from './questions';
import { schemaFromBucket } from './bucketSample';
import { writeDatasourceFile } from './datasourceFile';
import { type DatasourceCreateOptions, type DatasourceCreateResult, sampleLimits } from './options';
import { checkGivenOptions, projectConnections } from './problems';

export { type DatasourceFileSpec, datasourceFileText } from './datasourceFile';
export {
  DEFAULT_INFLATED_BYTES,
  DEFAULT_MAX_LISTED,
  DEFAULT_PARQUET_BYTES,
  DEFAULT_SAMPLE_BYTES,
  type DatasourceCreateOptions,
  type DatasourceCreateResult,
  type DatasourcePrompts,
  type SampleLimits,
} from './options';
export { bucketUriProblem, datasourceNameProblem } from './problems';

/**
 * Runs the guided flow and writes `<name>.datasource` (see the module doc).
 *
 * Steps: (1) name, (2) connection (a select; the only one is taken without
 * asking), (3) bucket URI, (4) schedule, (5) IMPORT_FROM_TIMESTAMP (optional,
 * interactive runs only): ./questions.ts; (6) listing with the connection,
 * (7) the sample file, (8) download and inference: ./bucketSample.ts; (9) the
 * file, parsed back, and next steps: ./datasourceFile.ts.
 *
 * @throws Error when a given option is invalid, the project has no S3
 *   connection (the message points to `s3c connection create s3`), a prompt
 *   keeps giving bad answers, or the written file does not parse (it is
 *   removed). Nothing is written before every answer is in.
 */
export async function datasourceCreateS3(options: DatasourceCreateOptions): Promise<DatasourceCreateResult> {
  const { projectDir, lookup, prompts, out } = options;
  const interactive =
    options.interactive ??
    [options.name, options.connection, options.uri, options.schedule].some((v) => v === undefined);
  const connections = projectConnections(projectDir, lookup);
  const given = checkGivenOptions(options, connections);
  out('Creating an S3 data source.');

  const name = options.name ?? (await askName(prompts, out, projectDir));
  const connection = await chooseConnection(prompts, out, connections, options.connection);
  const uri = await askUri(prompts, out, options.uri);
  const schedule = options.schedule ?? (await askSchedule(prompts, out));
  const fromTimestamp = given.fromTimestamp ?? (interactive ? await askFromTimestamp(prompts, out) : undefined);

  const limits = sampleLimits(options.limits);
  const bucket = await schemaFromBucket({ options, connection, uri, fromTimestamp, interactive, limits });
  if (bucket.columns === undefined) {
    out(
      `✗ No schema was inferred: ${bucket.templateReason ?? 'no sample file'}. The file gets a SCHEMA template to fill in.`,
    );
  }
  return writeDatasourceFile({
    projectDir,
    lookup,
    out,
    name,
    settings: { connection: connection.name, uri, schedule, ...(fromTimestamp !== undefined ? { fromTimestamp } : {}) },
    bucket,
  });
}
