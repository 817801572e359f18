/**
 * The one module that knows where the product keeps its files: the project's
 * state folder `.s3c/` (per environment `.s3c/env/NAME/`, docs/environments.md)
 * and the names of the temporary files it writes next to a download.
 *
 *     .s3c/                      stateDir(project)            0700 (local/privateState.ts)
 *       deployment.json          deploymentPath               the deployed snapshot (deploy/store.ts)
 *       secrets.json             secretsPath                  the secret store, 0600
 *       workspace-secret         workspaceSecretPath          the external ids' key (aws/externalId.ts)
 *       api-token                apiTokenPath                 the API's bearer token (api/token.ts)
 *       warehouse.duckdb         warehousePath                the default DuckDB file
 *       local/                   localStateDir                `s3c local start`: temporal.db, minio/, logs
 *         minio.json             minioKeysPath                the local MinIO's keys
 *       env/NAME/                stateDir(project, NAME)      the same files for environment NAME
 *
 * Called with the project folder `''`, each gives the path as users see it
 * (`.s3c/secrets.json`), for help texts.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** The state folder's name, in the project folder. */
const STATE_DIR = '.s3c';

/** The folder of an environment's state: `.s3c`, or `.s3c/env/NAME` for a named environment. */
export function stateDir(projectDir: string, environment?: string): string {
  return environment === undefined ? join(projectDir, STATE_DIR) : join(projectDir, STATE_DIR, 'env', environment);
}

/** A file (or folder) of the state folder of a project's environment. */
type StatePath = (projectDir: string, environment?: string) => string;

function inStateDir(name: string): StatePath {
  return (projectDir, environment) => join(stateDir(projectDir, environment), name);
}

/** The deployment snapshot, for the default or a named environment. */
export const deploymentPath = inStateDir('deployment.json');

/** The local secret store (each environment its own secrets, as the reference's Local and Cloud). */
export const secretsPath = inStateDir('secrets.json');

/** The workspace secret the external ids derive from: next to the deployment snapshot, so both travel together. */
export const workspaceSecretPath = inStateDir('workspace-secret');

/** The API's token file. */
export const apiTokenPath = inStateDir('api-token');

/** The DuckDB file when s3c.yaml names none (relative to the project folder without one). */
export const warehousePath = inStateDir('warehouse.duckdb');

/** The folder of `s3c local start`: the dev server's database, MinIO's data, their logs. */
export const localStateDir = inStateDir('local');

/** The local MinIO's keys, in a {@link localStateDir}. */
export function minioKeysPath(localDir: string): string {
  return join(localDir, 'minio.json');
}

/** The local PostgreSQL's password (`s3c local start --lake`), in the local folder. */
export function postgresKeysPath(localDir: string): string {
  return join(localDir, 'postgres.json');
}

/** The process id of a running `s3c local start`, for `s3c local stop`, in the local folder. */
export function localPidPath(localDir: string): string {
  return join(localDir, 'local.pid');
}

/**
 * A fresh name for a temporary file next to `path` (a download): `<path>.s3c-<random>.<kind>`,
 * in the same folder, the sink's scratch folder, where DuckDB may read.
 */
export function siblingTempPath(path: string, kind: string): string {
  return `${path}.s3c-${randomBytes(6).toString('hex')}.${kind}`;
}
