/**
 * Configuration, validated once at the edge (zod), then trusted inside.
 *
 * - `temporal.yaml` (R8.5): the Temporal connection (address, namespace, TLS or
 *   API key), task queues and worker concurrency.
 * - `s3c.yaml` (optional): the workspace — its name, the files-per-minute rate
 *   limit, the plan (size limits), the destination (the DuckDB file or a
 *   DuckLake), the API port.
 *
 * Both are looked up in the project folder (where the datafiles are); every
 * setting has a default and an environment variable that overrides it. A
 * named environment (`--env NAME`) reads `temporal.NAME.yaml` and
 * `s3c.NAME.yaml` instead (src/environment.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configFileName } from './environment';
import { TerminalError } from './util/errors';
import { warehousePath } from './util/stateLayout';

const TemporalFileSchema = z
  .object({
    temporal: z
      .object({
        address: z.string().min(1).default('127.0.0.1:7233'),
        namespace: z.string().min(1).default('default'),
        apiKey: z.string().min(1).optional(),
        tls: z
          .union([
            z.boolean(),
            z
              .object({
                serverName: z.string().optional(),
                serverRootCACertFile: z.string().optional(),
                clientCertFile: z.string().optional(),
                clientKeyFile: z.string().optional(),
              })
              .strict(),
          ])
          .default(false),
      })
      .strict()
      .default({ address: '127.0.0.1:7233', namespace: 'default', tls: false }),
    taskQueues: z
      .object({
        control: z.string().min(1).default('s3c-control'),
        ingest: z.string().min(1).default('s3c-ingest'),
      })
      .strict()
      .default({ control: 's3c-control', ingest: 's3c-ingest' }),
    worker: z
      .object({
        maxConcurrentActivityTaskExecutions: z.number().int().positive().default(4),
        maxConcurrentWorkflowTaskExecutions: z.number().int().positive().default(10),
      })
      .strict()
      .default({ maxConcurrentActivityTaskExecutions: 4, maxConcurrentWorkflowTaskExecutions: 10 }),
  })
  .strict();

/**
 * Where the DuckLake destination keeps its tables (docs/ducklake.md): the
 * catalog in PostgreSQL, the Parquet files under `dataPath` in S3. Secrets
 * are named, never written here: `catalog` is the name of a secret (secret
 * store or environment) holding `postgresql://user:password@host:port/db`,
 * or such a URL without its password (then `catalogPassword` names the
 * secret that holds it); the S3 keys are secret names too.
 */
const LakeSchema = z
  .object({
    catalog: z.string().min(1),
    catalogPassword: z.string().min(1).optional(),
    dataPath: z.string().regex(/^s3:\/\/[^/]+\/(.*\/)?$/, 'an S3 folder such as s3://bucket/prefix/ (ending in /)'),
    s3: z
      .object({
        /** Host and port of an S3-compatible server (MinIO); AWS S3 when absent. */
        endpoint: z.string().url().optional(),
        region: z.string().min(1).default('us-east-1'),
        /** Names of the secrets holding the access key id and the secret access key. */
        accessKeyId: z.string().min(1),
        secretAccessKey: z.string().min(1),
      })
      .strict(),
  })
  .strict();

export type LakeConfig = z.infer<typeof LakeSchema>;

const WorkspaceFileSchema = z
  .object({
    workspace: z
      .string()
      .regex(/^[a-zA-Z0-9_-]+$/)
      .default('local'),
    /** Files per minute for the whole workspace (R5.5). */
    filesPerMinute: z.number().min(0).default(5),
    /** The period of the limit, in seconds (60: files per minute). 0 files = unlimited. */
    rateLimitPeriodSeconds: z.number().positive().default(60),
    /** Plan for the file size limits (R5.6). */
    plan: z.enum(['free', 'paid']).default('free'),
    /** Size limits in bytes per format; override the plan's. */
    maxFileBytes: z
      .object({ csv: z.number().positive(), ndjson: z.number().positive(), parquet: z.number().positive() })
      .partial()
      .strict()
      .default({}),
    /** The DuckDB database file (relative to the project folder). */
    duckdbPath: z.string().min(1).default(warehousePath('')),
    /**
     * DuckDB's memory limit in the worker. DuckDB keeps the blocks of the
     * tables it wrote cached up to its limit (80% of RAM by default), so a
     * long-running worker would grow by ~180 MB per GB loaded; loads stream
     * and run as fast under 512MB, and larger queries spill to disk.
     */
    duckdbMemoryLimit: z
      .string()
      .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 512MB or 2GiB')
      .default('512MB'),
    /** Where the rows go: the DuckDB file (`duckdbPath`, one writing worker) or a DuckLake (`lake`, many workers). */
    destination: z.enum(['duckdb', 'ducklake']).default('duckdb'),
    lake: LakeSchema.optional(),
    /** Polling period for `@auto` where no event source is configured (R5.7). */
    pollIntervalSeconds: z.number().positive().default(60),
    /**
     * How far behind the sync point a listing looks again (clock skew, late
     * listings). Tests shorten it to keep an upload open across several windows.
     */
    lookBackSeconds: z.number().positive().default(900),
    /** Data source workflows continue as new past this many history events. */
    maxHistoryEvents: z.number().int().min(50).default(2000),
    /** AWS account id of the production workers (the "Cloud" trust policy, R7.2). */
    cloudAccountId: z
      .string()
      .regex(/^\d{12}$/)
      .optional(),
    /**
     * Event delivery (R9.1, docs/events-aws.md). `intake`: `queue` (EventBridge
     * → an SQS queue the worker drains; the default without S3_ENDPOINT) or
     * `push` (HTTP to /v0/events/s3: MinIO's webhook, the default with
     * S3_ENDPOINT, or on AWS an API destination to `endpointUrl` invoked with
     * `invokeRoleArn`).
     */
    events: z
      .object({
        intake: z.enum(['queue', 'push']).optional(),
        endpointUrl: z.string().url().optional(),
        invokeRoleArn: z.string().optional(),
      })
      .strict()
      .optional(),
    api: z
      .object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(7181) })
      .strict()
      .default({ host: '127.0.0.1', port: 7181 }),
  })
  .strict();

export type TemporalConfig = z.infer<typeof TemporalFileSchema>;
export type WorkspaceConfig = z.infer<typeof WorkspaceFileSchema> & {
  /** The named environment this configuration is for; absent for the default one. Not a file setting: `--env`. */
  environment?: string;
};

/** Size limits of R5.6, in bytes, per plan and format. */
const GB = 1024 ** 3;
export const PLAN_LIMITS = {
  free: { csv: 10 * GB, ndjson: 10 * GB, parquet: 1 * GB },
  paid: { csv: 32 * GB, ndjson: 32 * GB, parquet: 5 * GB },
} as const;

/** Thrown for a config file that does not validate; names the file and the setting. */
export class ConfigError extends TerminalError {
  readonly type = 'ConfigError';
}

function readYaml(path: string): unknown {
  if (!existsSync(path)) return {};
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message}`);
  }
  return doc ?? {};
}

function validate<T>(schema: z.ZodType<T>, doc: unknown, path: string): T {
  const result = schema.safeParse(doc);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`${path}: ${issues}`);
  }
  return result.data;
}

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new ConfigError(`environment variable ${name}: found '${raw}', expected a number`);
  return value;
}

/**
 * Reads `temporal.yaml` (or `temporal.NAME.yaml` for `environment`) from `dir`
 * and applies environment overrides. The default file is optional; a named
 * environment's is required, so that a misspelt `--env` cannot reach the
 * default Temporal server.
 */
export function loadTemporalConfig(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
  environment?: string,
): TemporalConfig {
  const path = join(dir, configFileName('temporal', environment));
  if (environment !== undefined && !existsSync(path)) {
    throw new ConfigError(
      `environment ${environment}: ${path} does not exist. Create it with the environment's temporal.address and temporal.namespace ` +
        '(docs/environments.md), or check the --env name',
    );
  }
  const config = validate(TemporalFileSchema, readYaml(path), path);
  if (env.TEMPORAL_ADDRESS) config.temporal.address = env.TEMPORAL_ADDRESS;
  if (env.TEMPORAL_NAMESPACE) config.temporal.namespace = env.TEMPORAL_NAMESPACE;
  if (env.TEMPORAL_API_KEY) config.temporal.apiKey = env.TEMPORAL_API_KEY;
  if (env.TEMPORAL_TLS !== undefined && env.TEMPORAL_TLS !== '') {
    config.temporal.tls = ['1', 'true', 'yes'].includes(env.TEMPORAL_TLS.toLowerCase());
  }
  if (env.S3C_CONTROL_TASK_QUEUE) config.taskQueues.control = env.S3C_CONTROL_TASK_QUEUE;
  if (env.S3C_INGEST_TASK_QUEUE) config.taskQueues.ingest = env.S3C_INGEST_TASK_QUEUE;
  const acts = envNumber(env, 'S3C_MAX_CONCURRENT_ACTIVITIES');
  if (acts !== undefined) config.worker.maxConcurrentActivityTaskExecutions = acts;
  return config;
}

/**
 * Reads `s3c.yaml` (or `s3c.NAME.yaml` for `environment`) from `dir` (if any)
 * and applies environment overrides. A named environment's DuckDB file
 * defaults to its state folder, so two environments never share one.
 */
export function loadWorkspaceConfig(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
  environment?: string,
): WorkspaceConfig {
  const path = join(dir, configFileName('s3c', environment));
  const doc = readYaml(path);
  const config: WorkspaceConfig = validate(WorkspaceFileSchema, doc, path);
  if (environment !== undefined) {
    config.environment = environment;
    if ((doc as { duckdbPath?: unknown }).duckdbPath === undefined) config.duckdbPath = warehousePath(dir, environment);
  }
  if (env.S3C_WORKSPACE) config.workspace = env.S3C_WORKSPACE;
  const fpm = envNumber(env, 'S3C_FILES_PER_MINUTE');
  if (fpm !== undefined) config.filesPerMinute = fpm;
  const period = envNumber(env, 'S3C_RATE_LIMIT_PERIOD_SECONDS');
  if (period !== undefined) config.rateLimitPeriodSeconds = period;
  if (env.S3C_PLAN === 'free' || env.S3C_PLAN === 'paid') config.plan = env.S3C_PLAN;
  if (env.S3C_DUCKDB_PATH) config.duckdbPath = env.S3C_DUCKDB_PATH;
  if (env.S3C_DUCKDB_MEMORY_LIMIT)
    config.duckdbMemoryLimit = validate(
      WorkspaceFileSchema.shape.duckdbMemoryLimit,
      env.S3C_DUCKDB_MEMORY_LIMIT,
      'S3C_DUCKDB_MEMORY_LIMIT',
    );
  const poll = envNumber(env, 'S3C_POLL_INTERVAL_SECONDS');
  if (poll !== undefined) config.pollIntervalSeconds = poll;
  const lookBack = envNumber(env, 'S3C_LOOK_BACK_SECONDS');
  if (lookBack !== undefined) config.lookBackSeconds = lookBack;
  const maxHistory = envNumber(env, 'S3C_MAX_HISTORY_EVENTS');
  if (maxHistory !== undefined) config.maxHistoryEvents = maxHistory;
  if (env.S3C_CLOUD_ACCOUNT_ID) config.cloudAccountId = env.S3C_CLOUD_ACCOUNT_ID;
  const port = envNumber(env, 'S3C_API_PORT');
  if (port !== undefined) config.api.port = port;
  applyLakeEnv(config, env, path);
  if (!isAbsolute(config.duckdbPath)) config.duckdbPath = join(dir, config.duckdbPath);
  return config;
}

/**
 * The destination's environment overrides: S3C_DESTINATION, and the lake's
 * S3C_LAKE_CATALOG, S3C_LAKE_DATA_PATH, S3C_LAKE_S3_ENDPOINT (names of
 * secrets and places only: the secrets themselves stay in the store or the
 * environment).
 */
function applyLakeEnv(config: WorkspaceConfig, env: NodeJS.ProcessEnv, path: string): void {
  if (env.S3C_DESTINATION)
    config.destination = validate(z.enum(['duckdb', 'ducklake']), env.S3C_DESTINATION, 'S3C_DESTINATION');
  const lake: Partial<LakeConfig> = { ...config.lake };
  if (env.S3C_LAKE_CATALOG) lake.catalog = env.S3C_LAKE_CATALOG;
  if (env.S3C_LAKE_DATA_PATH) lake.dataPath = env.S3C_LAKE_DATA_PATH;
  if (env.S3C_LAKE_S3_ENDPOINT) lake.s3 = { ...(lake.s3 as LakeConfig['s3']), endpoint: env.S3C_LAKE_S3_ENDPOINT };
  const touched = env.S3C_LAKE_CATALOG || env.S3C_LAKE_DATA_PATH || env.S3C_LAKE_S3_ENDPOINT;
  if (touched) config.lake = validate(LakeSchema, lake, `${path} with S3C_LAKE_*`);
  if (config.destination === 'ducklake' && !config.lake) {
    throw new ConfigError(
      `${path}: destination ducklake needs lake: { catalog, dataPath, s3 } (docs/configuration.md)`,
    );
  }
}

/** The size limit in bytes for one format under the workspace's plan and overrides. */
export function maxFileBytes(config: WorkspaceConfig, format: 'csv' | 'ndjson' | 'parquet'): number {
  return config.maxFileBytes[format] ?? PLAN_LIMITS[config.plan][format];
}

/** The workspace limiter's configuration (R5.5). */
export function limiterConfig(config: WorkspaceConfig): { filesPerPeriod: number; periodSeconds: number } {
  return { filesPerPeriod: config.filesPerMinute, periodSeconds: config.rateLimitPeriodSeconds };
}
