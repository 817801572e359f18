/**
 * The physical-limit baseline, run in a child process of the benchmark (so its
 * memory does not count against the worker's): download the objects to temp
 * files exactly as the product does (streamed GetObject), then ONE bare DuckDB
 * `INSERT INTO t SELECT * FROM read_xxx([files], explicit types)` into the same
 * table DDL, with the same session settings as the sink. Prints JSON.
 *
 * With `source: 's3'` it is the DuckDB peer instead (issue 23, goal 4): the
 * same INSERT reading `s3://…` straight from MinIO through DuckDB's httpfs
 * extension (the file setup extracted, loaded by path), nothing downloaded first.
 * With `lake`, either loads into table `t` of the bench's DuckLake instead.
 *
 * Usage: node --import tsx bench/baseline.ts '<json BaselineJob>'
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { duckdbExtensionPaths } from '../src/util/duckdbExtensions';
import { openLake, type LakeConfig } from '../test/helpers/lake';

export interface BaselineJob {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  keys: string[];
  /** Reader: read_csv / read_json / read_parquet, with its options after the file list. */
  reader: string;
  /** DDL of the table `t` (the product's DDL of the data source). */
  ddl: string;
  settings: string[];
  dbPath: string;
  downloadConcurrency: number;
  /** `download` (the baseline) or `s3`: DuckDB's httpfs reads the objects itself (the peer). */
  source: 'download' | 's3';
  /** Into this DuckLake (table `t` in the lake) rather than the file at dbPath. */
  lake?: LakeConfig;
}

export interface BaselineResult {
  downloadMs: number;
  insertMs: number;
  totalMs: number;
  /** CPU time of the baseline's process (user + system) from download to commit. */
  cpuMs: number;
  rows: number;
  peakRssMb: number;
}

/** Loads httpfs by path (never INSTALL) and gives it MinIO's endpoint and keys. */
async function useHttpfs(conn: DuckDBConnection, job: BaselineJob): Promise<void> {
  const httpfs = duckdbExtensionPaths().find((p) => p.endsWith('httpfs.duckdb_extension'))!;
  await conn.run('SET autoinstall_known_extensions = false');
  await conn.run(`LOAD '${httpfs}'`);
  const endpoint = new URL(job.endpoint);
  await conn.run(
    `CREATE SECRET minio (TYPE s3, KEY_ID '${job.accessKey}', SECRET '${job.secretKey}', ` +
      `ENDPOINT '${endpoint.host}', URL_STYLE 'path', USE_SSL ${endpoint.protocol === 'https:'}, REGION 'us-east-1')`,
  );
}

/** Streams the objects to temp files, `downloadConcurrency` at a time; returns their paths. */
async function download(s3: S3Client, job: BaselineJob, dir: string): Promise<string[]> {
  const paths = job.keys.map((k, n) => join(dir, `${n}-${k.replace(/[^A-Za-z0-9._-]/g, '_')}`));
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(job.downloadConcurrency, job.keys.length) }, async () => {
      while (next < job.keys.length) {
        const n = next++;
        const r = await s3.send(new GetObjectCommand({ Bucket: job.bucket, Key: job.keys[n]! }));
        await pipeline(r.Body as Readable, createWriteStream(paths[n]!));
      }
    }),
  );
  return paths;
}

/** A fresh DuckDB file, or the lake attached (its extensions and MinIO's keys set up by openLake). */
async function openDestination(job: BaselineJob): Promise<{ inst: DuckDBInstance; conn: DuckDBConnection }> {
  if (job.lake) {
    const { instance, connection } = await openLake(job.lake);
    return { inst: instance, conn: connection };
  }
  const inst = await DuckDBInstance.create(job.dbPath);
  return { inst, conn: await inst.connect() };
}

async function main(job: BaselineJob): Promise<BaselineResult> {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: job.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: job.accessKey, secretAccessKey: job.secretKey },
  });
  const dir = await mkdtemp(join(tmpdir(), 's3c-bench-baseline-'));
  const { inst, conn } = await openDestination(job);
  try {
    for (const s of job.settings) await conn.run(s);
    // The lake outlives a run: the table starts empty, as a fresh file's does.
    if (job.lake) await conn.run('DROP TABLE IF EXISTS t');
    await conn.run(job.ddl);
    if (job.source === 's3' && !job.lake) await useHttpfs(conn, job);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const paths = job.source === 's3' ? job.keys.map((k) => `s3://${job.bucket}/${k}`) : await download(s3, job, dir);
    const t1 = performance.now();
    const list = `[${paths.map((p) => `'${p}'`).join(', ')}]`;
    const res = await conn.run(`INSERT INTO t SELECT * FROM ${job.reader.replace('$FILES', list)}`);
    const t2 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const { maxRSS } = process.resourceUsage();
    return {
      downloadMs: t1 - t0,
      insertMs: t2 - t1,
      totalMs: t2 - t0,
      cpuMs: (cpu.user + cpu.system) / 1000,
      rows: Number(res.rowsChanged),
      peakRssMb: maxRSS / 1024,
    };
  } finally {
    conn.closeSync();
    inst.closeSync();
    s3.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

main(JSON.parse(process.argv[2]!) as BaselineJob).then(
  (r) => {
    process.stdout.write(JSON.stringify(r) + '\n');
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
