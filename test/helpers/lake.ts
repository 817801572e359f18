/**
 * Opening a DuckLake (catalog in PostgreSQL, data in S3/MinIO) from DuckDB the
 * way the DuckLake destination will: the extensions loaded by path, the keys
 * and the catalog's password as bound parameters of unnamed secrets (DuckDB's
 * default secret of each type), never in the SQL text. `lakeChild.ts` does the
 * same in another process.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { repoRoot } from '../../src/local/tools';
import { loadDuckdbExtensions } from '../../src/util/duckdbExtensions';

/** Where the lake is: everything a second process needs to open it (holds secrets: never print it). */
export interface LakeConfig {
  postgres: { port: number; user: string; password: string; database: string };
  s3: { endpoint: string; accessKey: string; secretKey: string };
  /** `s3://bucket/prefix/` of the Parquet files. */
  dataPath: string;
}

/** A DuckDB SQL string literal (for text of ours that ATTACH cannot take as a parameter). */
export function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Runs `sql` with `params` bound as $1, $2, ... (text and integers). */
async function runBound(connection: DuckDBConnection, sql: string, params: (string | number)[]): Promise<void> {
  const statement = await connection.prepare(sql);
  params.forEach((value, i) =>
    typeof value === 'number' ? statement.bindInteger(i + 1, value) : statement.bindVarchar(i + 1, value),
  );
  await statement.run();
}

/** A new in-memory DuckDB with the lake attached as `lake` (and in use). */
export async function openLake(
  config: LakeConfig,
): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await loadDuckdbExtensions(connection);
  const { s3, postgres } = config;
  await runBound(
    connection,
    "CREATE SECRET (TYPE s3, KEY_ID $1, SECRET $2, ENDPOINT $3, URL_STYLE 'path', USE_SSL false, REGION 'us-east-1')",
    [s3.accessKey, s3.secretKey, new URL(s3.endpoint).host],
  );
  // `ducklake:postgres:` with no keywords takes them all from the default postgres secret.
  await runBound(connection, 'CREATE SECRET (TYPE postgres, HOST $1, PORT $2, DATABASE $3, USER $4, PASSWORD $5)', [
    '127.0.0.1',
    postgres.port,
    postgres.database,
    postgres.user,
    postgres.password,
  ]);
  await connection.run(`ATTACH 'ducklake:postgres:' AS lake (DATA_PATH ${sqlLiteral(config.dataPath)})`);
  await connection.run('USE lake');
  return { instance, connection };
}

/** Runs `statements` in order in a new process (`lakeChild.ts`) on the lake; resolves with the last one's rows as JSON. */
export async function inChildProcess(config: LakeConfig, statements: string[]): Promise<unknown[][]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'test', 'helpers', 'lakeChild.ts'), ...statements],
    {
      cwd: repoRoot,
      env: { ...process.env, S3C_TEST_LAKE: JSON.stringify(config) },
      timeout: 120_000,
    },
  );
  return JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as unknown[][];
}
