/**
 * Attaching a DuckLake (catalog in PostgreSQL, Parquet files in S3) to a
 * DuckDB connection as its default catalog (docs/ducklake.md, "Opening the
 * lake"). The keys and the catalog's password reach DuckDB only as bound
 * parameters of unnamed secrets, never in SQL text, logs or errors.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { INTEGER, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import { ConfigError, type LakeConfig } from '../../config';
import type { SecretLookup } from '../../datafiles/secrets';
import { loadDuckdbExtensions } from '../../util/duckdbExtensions';
import { sqlString } from '../duckdbTypes';

/** Where the catalog is and how to log in (holds the password: never print it). */
export interface CatalogLogin {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

/** Everything needed to attach the lake, secrets resolved (never print it). */
export interface LakeAccess {
  catalog: CatalogLogin;
  dataPath: string;
  s3: { endpoint?: string; region: string; accessKeyId: string; secretAccessKey: string };
}

/** Name the lake is attached under; the connection then USEs it. */
export const LAKE_CATALOG = 's3c_lake';

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/** A secret's value by name, or a ConfigError that names the secret (not its value). */
function secret(lookup: SecretLookup, name: string, what: string): string {
  const value = lookup(name);
  if (value === undefined || value === '')
    throw new ConfigError(
      `lake: ${what}: the secret ${name} is not set (s3c secret set ${name} VALUE, or the environment)`,
    );
  return value;
}

/** The catalog's login from a `postgresql://` URL; the error never repeats the URL (it may hold the password). */
function parseCatalogUrl(url: string, where: string): CatalogLogin {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`lake: catalog (${where}) is not a postgresql://user@host:port/database URL`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!POSTGRES_URL.test(url) || !u.hostname || !database || !u.username) {
    throw new ConfigError(`lake: catalog (${where}) must be a postgresql://user@host:port/database URL`);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port: u.port ? Number(u.port) : 5432,
    database,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
}

/**
 * The catalog's login: `catalog` is a URL without a password (the password,
 * if any, in the secret `catalogPassword`) or the name of a secret holding
 * the whole URL.
 */
function catalogLogin(lake: LakeConfig, lookup: SecretLookup): CatalogLogin {
  if (!POSTGRES_URL.test(lake.catalog)) {
    const login = parseCatalogUrl(secret(lookup, lake.catalog, 'catalog'), `the secret ${lake.catalog}`);
    return lake.catalogPassword
      ? { ...login, password: secret(lookup, lake.catalogPassword, 'catalogPassword') }
      : login;
  }
  const login = parseCatalogUrl(lake.catalog, 's3c.yaml');
  if (login.password)
    throw new ConfigError(
      "lake: catalog holds a password: put the URL in a secret and name the secret, or name the password's secret in catalogPassword",
    );
  return { ...login, password: lake.catalogPassword ? secret(lookup, lake.catalogPassword, 'catalogPassword') : '' };
}

/** Resolves the lake's secrets by name (secret store, then environment). */
export function resolveLake(lake: LakeConfig, lookup: SecretLookup): LakeAccess {
  return {
    catalog: catalogLogin(lake, lookup),
    dataPath: lake.dataPath,
    s3: {
      endpoint: lake.s3.endpoint,
      region: lake.s3.region,
      accessKeyId: secret(lookup, lake.s3.accessKeyId, 's3.accessKeyId'),
      secretAccessKey: secret(lookup, lake.s3.secretAccessKey, 's3.secretAccessKey'),
    },
  };
}

/** The unnamed S3 secret the Parquet files are written with (MinIO: path style, http unless the endpoint is https). */
async function createS3Secret(conn: DuckDBConnection, s3: LakeAccess['s3']): Promise<void> {
  const keys = [s3.accessKeyId, s3.secretAccessKey, s3.region];
  if (!s3.endpoint) {
    await conn.run('CREATE SECRET (TYPE s3, KEY_ID $1, SECRET $2, REGION $3)', keys, {
      1: VARCHAR,
      2: VARCHAR,
      3: VARCHAR,
    });
    return;
  }
  const url = new URL(s3.endpoint);
  const ssl = url.protocol === 'https:' ? 'true' : 'false';
  await conn.run(
    `CREATE SECRET (TYPE s3, KEY_ID $1, SECRET $2, REGION $3, ENDPOINT $4, URL_STYLE 'path', USE_SSL ${ssl})`,
    [...keys, url.host],
    {
      1: VARCHAR,
      2: VARCHAR,
      3: VARCHAR,
      4: VARCHAR,
    },
  );
}

/**
 * Loads the extensions by path, creates the unnamed S3 and postgres secrets
 * (`ducklake:postgres:` with no keywords takes them all from the latter),
 * attaches the lake and makes it the connection's default catalog.
 */
export async function attachLake(conn: DuckDBConnection, access: LakeAccess): Promise<void> {
  await loadDuckdbExtensions(conn);
  await createS3Secret(conn, access.s3);
  const { host, port, database, user, password } = access.catalog;
  await conn.run(
    'CREATE SECRET (TYPE postgres, HOST $1, PORT $2, DATABASE $3, USER $4, PASSWORD $5)',
    [host, port, database, user, password],
    {
      1: VARCHAR,
      2: INTEGER,
      3: VARCHAR,
      4: VARCHAR,
      5: VARCHAR,
    },
  );
  await attachRetryingFirstInit(conn, access.dataPath);
  await conn.run(`USE ${LAKE_CATALOG}`);
}

/**
 * ATTACH, again when a rival worker was creating the catalog's tables at the
 * same moment: the first ATTACH of a new lake creates them in PostgreSQL, and
 * of two workers starting together on an empty catalog one fails with
 * "Failed to initialize DuckLake … duplicate key value" (seen in
 * test/integration/ducklakeWorkers.test.ts); its next ATTACH finds them.
 */
async function attachRetryingFirstInit(conn: DuckDBConnection, dataPath: string): Promise<void> {
  // ATTACH takes no parameters; the data path is the configuration's, validated as s3://bucket/prefix/.
  const sql = `ATTACH 'ducklake:postgres:' AS ${LAKE_CATALOG} (DATA_PATH ${sqlString(dataPath)})`;
  for (let attempt = 1; ; attempt++) {
    try {
      await conn.run(sql);
      return;
    } catch (e) {
      if (attempt >= 5 || !/Failed to initialize DuckLake/.test(e instanceof Error ? e.message : String(e))) throw e;
      await sleep(200 * attempt + Math.round(Math.random() * 200));
    }
  }
}
