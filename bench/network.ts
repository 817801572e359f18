/**
 * `npm run bench:network`: the gzip check over a network-bound download.
 *
 * On loopback a 160 MB object downloads in ~0.5 s, so where the gzip check
 * runs hardly matters there. Over a real network the download takes seconds.
 * This puts the test fault proxy, throttled (BENCH_NET_CHUNK bytes, then
 * BENCH_NET_DELAY_MS ms), between the download and MinIO, and loads each
 * gzip object of the bench data set (run `npm run bench` once first) twice
 * per run, alternating:
 *  - follow: the check reads the file while it downloads
 *    (checkGzipWhileWritten), as the ingest activity does for NDJSON, and
 *    DuckDB reads the gzip file itself;
 *  - after: the check starts with the load: for CSV, as the product does,
 *    DuckDB reads the text the check inflates (feedGzipThroughFifo); for
 *    NDJSON, the check and DuckDB inflate the file side by side.
 * It prints the download time, the time at the sink, and the total.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { downloadInThread } from '../src/activities/downloadPool';
import { startMinio } from '../src/local/processes';
import { minioS3Client } from '../src/local/stack';
import { DuckDbSink } from '../src/sinks/duckdb';
import { checkGzipWhileWritten } from '../src/sinks/gzipCheck';
import { objectGet, startFaultProxy } from '../test/helpers/faultProxy';
import { eventsDataSource } from './dataset';

const env = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const RUNS = env('BENCH_RUNS', 2);
const SIZE_MB = env('BENCH_SIZE_MB', 1024);
const CHUNK = env('BENCH_NET_CHUNK', 65536);
const DELAY_MS = env('BENCH_NET_DELAY_MS', 1);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 's3c-bench-net-'));
  const minio = await startMinio({ dataDir: fileURLToPath(new URL('./data/minio', import.meta.url)), stateDir: root });
  const proxy = await startFaultProxy(minio.endpoint);
  const direct = minioS3Client(minio);
  const viaProxy = minioS3Client({ ...minio, endpoint: proxy.endpoint });
  const ds = eventsDataSource();
  // The sink's DuckDB reads files only in the folders it is given: the downloads go to `root`.
  const sink = await DuckDbSink.open(join(root, 'warehouse.duckdb'), { memoryLimit: '512MB', fileDirectories: [root] });
  try {
    await sink.ensureTables(ds);
    for (let run = 1; run <= RUNS; run++) {
      for (const format of ['csv', 'ndjson'] as const) {
        for (const mode of ['follow', 'after'] as const) {
          const key = `big-${SIZE_MB}mb/${format}gz/events.${format}.gz`;
          const head = await direct.send(new HeadObjectCommand({ Bucket: 'bench', Key: key }));
          const etag = (head.ETag ?? '').replace(/"/g, '');
          const path = join(root, `object-${run}-${format}-${mode}`);
          writeFileSync(path, '');
          proxy.throttleNext(1, { chunkBytes: CHUNK, delayMs: DELAY_MS }, objectGet(key));
          const t0 = performance.now();
          const check = mode === 'follow' ? checkGzipWhileWritten(path, format) : undefined;
          const bytes = await downloadInThread(
            viaProxy,
            { bucket: 'bench', key, etag, path },
            { onProgress: () => undefined },
          );
          check?.complete(bytes);
          const t1 = performance.now();
          const r = await sink.ingestFile({
            dataSource: ds,
            localPath: path,
            format,
            compression: 'gzip',
            bucket: 'bench',
            key,
            etag,
            size: bytes,
            lastModified: new Date().toISOString(),
            jobId: `net-${run}`,
            recordInLedger: false,
            ...(check ? { gzipCheck: check.result, gzipCheckCounts: format } : {}),
          });
          const t2 = performance.now();
          console.log(
            `${format}.gz run ${run}, check ${mode.padEnd(6)}: download ${seconds(t1 - t0)} (${(bytes / 1e6 / ((t1 - t0) / 1000)).toFixed(0)} MB/s), ` +
              `at the sink ${seconds(t2 - t1)}, total ${seconds(t2 - t0)} (${r.rows} rows)`,
          );
          rmSync(path, { force: true });
          await sink.query('DELETE FROM ev');
          await sink.query('CHECKPOINT');
        }
      }
    }
  } finally {
    await sink.close();
    direct.destroy();
    viaProxy.destroy();
    await proxy.close();
    await minio.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
