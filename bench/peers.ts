/**
 * What the product is measured against, each on the same objects in the
 * same MinIO, in the same run: the baseline (download + one bare INSERT, in a
 * child process), DuckDB reading `s3://…` itself through httpfs (the same
 * child, `source: 's3'`), and dlt's filesystem source into DuckDB (Python,
 * in the bench venv: scripts/setup/dlt.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDataSource } from '../src/datafiles';
import { SINK_SETTINGS, tableDdl } from '../src/sinks/duckdb';
import { dltPython, ensureDlt } from '../scripts/setup/dlt';
import type { BaselineJob, BaselineResult } from './baseline';
import { benchDir, BUCKET } from './common';
import { COLUMN_TYPES, SCHEMA } from './dataset';
import { PERF, perfRecord, runCount } from './product';
import type { BenchStack } from './stack';

/** The bench's `@once` data source over `uri`. */
export function datasourceText(uri: string): string {
  return `SCHEMA >\n    ${SCHEMA.join(',\n    ')}\n\nENGINE "MergeTree"\n\nIMPORT_CONNECTION_NAME minio\nIMPORT_BUCKET_URI ${uri}\nIMPORT_SCHEDULE @once\n`;
}

/** The table DDL the product creates for the bench schema (the baseline's table `t`). */
function baselineDdl(): string {
  const ds = parseDataSource(datasourceText('s3://bench/x/*.csv').replace(/IMPORT_[\s\S]*$/, ''), 't.datasource');
  return tableDdl({ ...ds, name: 't' })[0]!;
}

export function readerFor(format: 'csv' | 'ndjson' | 'parquet', gzip: boolean): string {
  const comp = gzip ? 'gzip' : 'none';
  if (format === 'csv')
    return `read_csv($FILES, header = true, auto_detect = false, columns = ${COLUMN_TYPES}, compression = '${comp}')`;
  if (format === 'ndjson') {
    return `read_json($FILES, format = 'newline_delimited', records = true, auto_detect = false, columns = ${COLUMN_TYPES}, compression = '${gzip ? 'gzip' : 'uncompressed'}')`;
  }
  return 'read_parquet($FILES)';
}

export interface BaselineOptions {
  /** `download` (the baseline) or `s3` (DuckDB + httpfs, the peer). */
  source: BaselineJob['source'];
  /** Parallel downloads (the small files). */
  concurrency: number;
  /** Into the stack's lake rather than a fresh DuckDB file. */
  lake?: boolean;
}

/** Runs the baseline (or the httpfs peer) in a child process. */
export function runBaseline(
  stack: BenchStack,
  keys: string[],
  reader: string,
  options: BaselineOptions,
): Promise<BaselineResult> {
  const dbDir = mkdtempSync(join(tmpdir(), 's3c-bench-db-'));
  const job: BaselineJob = {
    endpoint: stack.minio.endpoint,
    accessKey: stack.minio.accessKey,
    secretKey: stack.minio.secretKey,
    bucket: BUCKET,
    keys,
    reader,
    ddl: baselineDdl(),
    settings: [...SINK_SETTINGS],
    dbPath: join(dbDir, 'baseline.duckdb'),
    downloadConcurrency: options.concurrency,
    source: options.source,
    lake: options.lake ? stack.lake?.config : undefined,
  };
  return new Promise((resolve, reject) => {
    const perf = PERF ? [...perfRecord(`baseline-${runCount() + 1}`), '--', process.execPath] : [];
    execFile(
      PERF ? 'perf' : process.execPath,
      [...perf, '--import', 'tsx', join(benchDir, 'baseline.ts'), JSON.stringify(job)],
      { maxBuffer: 16 * 1024 * 1024, timeout: 3_600_000 },
      (err, stdout, stderr) => {
        rmSync(dbDir, { recursive: true, force: true });
        if (err) reject(new Error(`baseline (${options.source}) failed: ${stderr || err.message}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as BaselineResult);
      },
    );
  });
}

export interface DltResult {
  totalMs: number;
  rows: number;
  peakRssMb: number;
}

/**
 * dlt's filesystem source over the objects `glob` under `prefix`, into a
 * fresh DuckDB file (bench/dlt_peer.py). Installs dlt into its venv first if
 * it is not there (scripts/setup/dlt.ts).
 */
export async function runDlt(
  stack: BenchStack,
  prefix: string,
  glob: string,
  format: 'csv' | 'ndjson' | 'parquet',
): Promise<DltResult> {
  await ensureDlt();
  const dbDir = mkdtempSync(join(tmpdir(), 's3c-bench-dlt-db-'));
  const job = {
    endpoint: stack.minio.endpoint,
    accessKey: stack.minio.accessKey,
    secretKey: stack.minio.secretKey,
    bucketUrl: `s3://${BUCKET}/${prefix}`,
    glob,
    format,
    dbPath: join(dbDir, 'dlt.duckdb'),
  };
  return new Promise((resolve, reject) => {
    execFile(
      dltPython,
      [join(benchDir, 'dlt_peer.py'), JSON.stringify(job)],
      { maxBuffer: 16 * 1024 * 1024, timeout: 3_600_000 },
      (err, stdout, stderr) => {
        rmSync(dbDir, { recursive: true, force: true });
        if (err) reject(new Error(`dlt failed: ${(stderr || err.message).slice(-3000)}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as DltResult);
      },
    );
  });
}
