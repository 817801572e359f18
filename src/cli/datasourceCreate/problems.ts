/**
 * What makes an answer or an option of `datasource create` unusable: one line
 * each, or undefined when the value is fine. Options given on the command line
 * are checked before anything is asked.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type ConnectionDef,
  DATAFILE_NAME_PATTERN,
  type SecretLookup,
  checkBucketUri,
  checkDataSourceNameFree,
  checkFromTimestamp,
  checkSchedule,
  findDatafiles,
  loadProject,
} from '../../datafiles';
import { parseBucketUri } from '../../s3uri';
import type { DatasourceCreateOptions } from './options';

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
  return checked.ok
    ? undefined
    : `${checked.problem.what}: found ${checked.problem.found}, expected ${checked.problem.expected}`;
}

/** Why `value` is not an IMPORT_SCHEDULE, or undefined when it is. */
export function scheduleProblem(value: string): string | undefined {
  const checked = checkSchedule(value);
  return checked.ok
    ? undefined
    : `${checked.problem.what}: found ${checked.problem.found}, expected ${checked.problem.expected}`;
}

/** Why `value` is not an IMPORT_FROM_TIMESTAMP, or undefined when it is. */
export function fromTimestampProblem(value: string): string | undefined {
  const checked = checkFromTimestamp(value);
  return checked.ok
    ? undefined
    : `${checked.problem.what}: found ${checked.problem.found}, expected ${checked.problem.expected}`;
}

/**
 * The project's S3 connections: without one there is nothing to ask.
 *
 * @throws Error pointing to `s3c connection create s3` when there is none.
 */
export function projectConnections(projectDir: string, lookup: SecretLookup): ConnectionDef[] {
  const project = loadProject(projectDir, lookup);
  const connections = project.connections;
  if (connections.length === 0) {
    const broken = project.errors.filter((e) => e.file.endsWith('.connection'));
    const brokenFiles = new Set(broken.map((e) => e.file)).size;
    throw new Error(
      'No S3 connection in this project: create one with `s3c connection create s3`, then run `s3c datasource create --s3` again' +
        (brokenFiles > 0
          ? ` (${brokenFiles} .connection file${brokenFiles > 1 ? 's have' : ' has'} errors: \`s3c deploy --check\` shows them)`
          : ''),
    );
  }
  return connections;
}

/** The error of an unknown connection name, listing the project's. */
export function unknownConnection(name: string, connections: readonly ConnectionDef[], orCreate = ''): Error {
  return new Error(
    `Unknown connection ${JSON.stringify(name)}: expected one of ${connections.map((c) => c.name).join(', ')}${orCreate}`,
  );
}

/**
 * Checks the options given on the command line, before anything is asked.
 *
 * @returns IMPORT_FROM_TIMESTAMP as given, normalised.
 * @throws Error with the first problem.
 */
export function checkGivenOptions(
  options: DatasourceCreateOptions,
  connections: readonly ConnectionDef[],
): { fromTimestamp?: string } {
  const throwIf = (problem: string | undefined): void => {
    if (problem !== undefined) throw new Error(problem);
  };
  if (options.name !== undefined) throwIf(datasourceNameProblem(options.name, options.projectDir));
  if (options.connection !== undefined && !connections.some((c) => c.name === options.connection)) {
    throw unknownConnection(options.connection, connections, ' (or create it with `s3c connection create s3`)');
  }
  if (options.uri !== undefined) throwIf(bucketUriProblem(options.uri));
  if (options.schedule !== undefined) throwIf(scheduleProblem(options.schedule));
  if (options.fromTimestamp === undefined) return {};
  const checked = checkFromTimestamp(options.fromTimestamp);
  if (!checked.ok) throw new Error(fromTimestampProblem(options.fromTimestamp));
  return { fromTimestamp: checked.value };
}
