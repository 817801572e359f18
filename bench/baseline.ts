/**
 * The physical-limit baseline, run in a child process of the benchmark (so its
 * memory does not count against the worker's): download the objects to temp
 * files exactly as the product does (streamed GetObject), then ONE bare DuckDB
 * `INSERT INTO t SELECT * FROM read_xxx([files], explicit types)` into the same
 * table DDL, with the same session settings as the sink. Prints JSON.
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
import { DuckDBInstance } from '@duckdb/node-api';

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

async function main(job: BaselineJob): Promise<BaselineResult> {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: job.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: job.accessKey, secretAccessKey: job.secretKey },
  });
  const dir = await mkdtemp(join(tmpdir(), 's3c-bench-baseline-'));
  const inst = await DuckDBInstance.create(job.dbPath);
  const conn = await inst.connect();
  try {
    for (const s of job.settings) await conn.run(s);
    await conn.run(job.ddl);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
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
