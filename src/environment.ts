/**
 * Environments (issue #19, item 10): one set of datafiles deployed to several
 * targets, as the reference deploys to Local and Cloud. An environment NAME
 * reads `temporal.NAME.yaml` and `s3c.NAME.yaml` instead of `temporal.yaml`
 * and `s3c.yaml`, and keeps its state (deployment snapshot, secrets, workspace
 * secret, API token, and by default its DuckDB file) in `.s3c/env/NAME`
 * instead of `.s3c`. No environment: the files of before, unchanged.
 * See docs/environments.md.
 */
import { TerminalError } from './util/errors';

/** Names an environment may have: they become file and folder names. */
export const ENVIRONMENT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/;

/** A bad environment name (from `--env` or `S3C_ENV`). */
export class EnvironmentError extends TerminalError {
  readonly type = 'EnvironmentError';
}

/**
 * The environment a command targets: `--env NAME`, else `S3C_ENV` (so a
 * worker started for an environment keeps it in child processes and CI),
 * else none (the default environment).
 *
 * @throws EnvironmentError for a name that is not a safe file name part.
 */
export function selectedEnvironment(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const name = flag ?? (env.S3C_ENV || undefined);
  if (name === undefined) return undefined;
  if (!ENVIRONMENT_NAME_PATTERN.test(name)) {
    const source = flag !== undefined ? '--env' : 'S3C_ENV';
    throw new EnvironmentError(
      `${source}: found '${name}', expected an environment name of lowercase letters, digits, '-' and '_' (at most 40), such as cloud or staging`,
    );
  }
  return name;
}

/** A configuration file's name: `temporal.yaml`, or `temporal.NAME.yaml` for a named environment. */
export function configFileName(base: 'temporal' | 's3c', environment?: string): string {
  return environment === undefined ? `${base}.yaml` : `${base}.${environment}.yaml`;
}
