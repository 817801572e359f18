/**
 * `npm run bench`: the product against the physical limit and against what a
 * user would pick instead (see README, "Performance"; docs/performance.md).
 *
 * For each format asked for (CSV, NDJSON, Parquet zstd, csv.gz, ndjson.gz) of
 * a ~BENCH_SIZE_MB events data set (size of the CSV; the same rows in every
 * format), BENCH_RUNS times, on the same objects of the same MinIO:
 *  - baseline: download the object to a temp file + one bare DuckDB
 *    `INSERT INTO t SELECT * FROM read_xxx(file, explicit types)` into the same
 *    table DDL, same session settings (child process); its INSERT alone is the
 *    limit (a local file);
 *  - peers: DuckDB + httpfs reading `s3://…` straight into the same DDL, and
 *    dlt's filesystem source into DuckDB (bench/peers.ts);
 *  - product: `s3c deploy` of an `@once` data source → rows committed, from the
 *    job's created_at / updated_at (worker in this process, rate limit lifted),
 *    with the worker's peak RSS.
 * Then many small files (BENCH_SMALL_FILES CSV files of BENCH_SMALL_ROWS rows):
 * the product end to end vs. the same files downloaded and loaded by ONE bare
 * multi-file statement; the listing of BENCH_LIST_KEYS keys with a pattern;
 * deploy to first row (bench/firstRow.ts); the DuckLake destination
 * (bench/lake.ts); the CLI's start (bench/cliStart.ts).
 *
 * Environment: BENCH_SIZE_MB (1024), BENCH_RUNS (3), BENCH_FORMATS (all, comma
 * separated: only these are generated), BENCH_PEERS (httpfs,dlt), BENCH_DLT_RUNS
 * (BENCH_RUNS), BENCH_DLT_FORMATS (csv,csv.gz,parquet), BENCH_SMALL_FILES (1000), BENCH_SMALL_ROWS (1000),
 * BENCH_LIST_KEYS (100000), BENCH_LAKE_WORKERS (1,2), BENCH_SKIP (comma
 * separated: big, small, list, first, lake, cli), BENCH_TIMELINE=1 (print each
 * product job's timeline: where its time goes), BENCH_PERF=1 (a CPU profile of
 * each run: see bench/product.ts).
 * Generated files and MinIO's data are cached under bench/data/ (git-ignored).
 */
import { readFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mapConcurrently } from '../src/util/concurrency';
import { minioConnection } from '../test/helpers/stack';
import { BUCKET, dataRoot, envNumber, loadText, log, median, seconds } from './common';
import { dataSetFile, dataSetRows, ensureFormats, ensureSmallFiles, FORMATS, type BenchFormat } from './dataset';
import { checkFreeDisk, diskNeed } from './disk';
import { firstRowReport } from './firstRow';
import { lakeBench, lakeReport, patternOf, type LakeResults } from './lake';
import { cpuLine, withCpu } from './measure';
import { readerFor, runBaseline, runDlt } from './peers';
import { runProduct } from './product';
import { exists, startBenchStack, uploadFile, type BenchStack } from './stack';

const SIZE_MB = envNumber('BENCH_SIZE_MB', 1024);
const RUNS = envNumber('BENCH_RUNS', 3);
const DLT_RUNS = envNumber('BENCH_DLT_RUNS', RUNS);
const SMALL_FILES = envNumber('BENCH_SMALL_FILES', 1000);
const SMALL_ROWS = envNumber('BENCH_SMALL_ROWS', 1000);
const LIST_KEYS = envNumber('BENCH_LIST_KEYS', 100_000);
const list = (name: string, def: string) =>
  (process.env[name] ?? def)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const FORMAT_LIST = list('BENCH_FORMATS', Object.keys(FORMATS).join(',')) as BenchFormat[];
const PEERS = new Set(list('BENCH_PEERS', 'httpfs,dlt'));
/**
 * dlt reads JSON lines through Python, row by row: ~3 s of CPU per MB here
 * (16 MB of NDJSON, docs/performance.md), over an hour at 1 GB. By default it
 * runs on the formats it has a columnar reader for (DuckDB's CSV reader,
 * Arrow's Parquet reader).
 */
const DLT_FORMATS = new Set(list('BENCH_DLT_FORMATS', 'csv,csv.gz,parquet'));
const LAKE_WORKERS = list('BENCH_LAKE_WORKERS', '1,2').map(Number);
const SKIP = new Set(list('BENCH_SKIP', ''));

interface Row {
  what: BenchFormat;
  baselineMs: number[];
  insertMs: number[];
  httpfsMs: number[];
  dltMs: number[];
  productMs: number[];
  rows: number;
  bytes: number;
  peakRssMb: number;
  load: string;
}

/** One run of one format: baseline, peers, product, alternating so that all see the same conditions. */
async function runFormat(t: BenchStack, row: Row, key: string, run: number): Promise<void> {
  const spec = FORMATS[row.what];
  const reader = readerFor(spec.format, spec.gzip);
  const b = await withCpu(t, () => runBaseline(t, [key], reader, { source: 'download', concurrency: 1 }));
  if (b.rows !== row.rows) throw new Error(`baseline loaded ${b.rows} rows, expected ${row.rows}`);
  row.baselineMs.push(b.totalMs);
  row.insertMs.push(b.insertMs);
  let peers = '';
  if (PEERS.has('httpfs')) {
    const h = await runBaseline(t, [key], reader, { source: 's3', concurrency: 1 });
    if (h.rows !== row.rows) throw new Error(`DuckDB + httpfs loaded ${h.rows} rows, expected ${row.rows}`);
    row.httpfsMs.push(h.totalMs);
    peers += `, DuckDB + httpfs ${seconds(h.totalMs)}`;
  }
  if (PEERS.has('dlt') && DLT_FORMATS.has(row.what) && run < DLT_RUNS) {
    const folder = key.slice(0, key.lastIndexOf('/'));
    const d = await runDlt(t, folder, basename(key), spec.format);
    if (d.rows !== row.rows) throw new Error(`dlt loaded ${d.rows} rows, expected ${row.rows}`);
    row.dltMs.push(d.totalMs);
    peers += `, dlt ${seconds(d.totalMs)} (peak RSS ${d.peakRssMb.toFixed(0)} MB)`;
  }
  const p = await runProduct(t, patternOf(key, row.what), row.what, row.rows);
  row.productMs.push(p.jobMs);
  row.peakRssMb = Math.max(row.peakRssMb, p.peakRssMb);
  log(
    `${row.what} run ${run + 1}: baseline ${seconds(b.totalMs)} (download ${seconds(b.downloadMs)}, insert ${seconds(b.insertMs)})${peers}, ` +
      `product ${seconds(p.jobMs)} (wall ${seconds(p.wallMs)}), ratio ${(p.jobMs / b.totalMs).toFixed(2)}, worker peak RSS ${p.peakRssMb.toFixed(0)} MB, ${loadText()}`,
  );
  log(`  ${cpuLine(b, p)}`);
}

/** The big objects: generated (only the formats asked for, after the disk check), uploaded, loaded. */
async function bigFormats(t: BenchStack, keys: Map<BenchFormat, string>): Promise<{ rows: Row[]; count: number }> {
  for (const f of FORMAT_LIST) if (!FORMATS[f]) throw new Error(`unknown format ${f}`);
  const data = await dataSetRows(dataRoot, SIZE_MB);
  checkFreeDisk(dataRoot, diskNeed(data.dir, SIZE_MB, FORMAT_LIST));
  log(`generating the data set (${FORMAT_LIST.join(' ')}; cached): ${data.rows} rows`);
  await ensureFormats(data.dir, data.rows, FORMAT_LIST);
  const rows: Row[] = [];
  for (const f of FORMAT_LIST) {
    const key = `big-${SIZE_MB}mb/${f.replace('.', '')}/${FORMATS[f].file}`;
    const path = dataSetFile(data.dir, f);
    await uploadFile(t.s3, key, path);
    keys.set(f, key);
    const row: Row = {
      ...{ what: f, rows: data.rows, bytes: statSync(path).size, peakRssMb: 0, load: loadText() },
      ...{ baselineMs: [], insertMs: [], httpfsMs: [], dltMs: [], productMs: [] },
    };
    for (let r = 0; r < RUNS; r++) await runFormat(t, row, key, r);
    rows.push(row);
  }
  return { rows, count: data.rows };
}

interface Small {
  baselineMsPerFile: number[];
  productMsPerFile: number[];
  peakRssMb: number;
}

/** The small files, uploaded once; their prefix in the bucket. */
async function uploadSmallFiles(t: BenchStack): Promise<{ prefix: string; keys: string[] }> {
  const files = await ensureSmallFiles(dataRoot, SMALL_FILES, SMALL_ROWS);
  const prefix = `small-v2-${SMALL_FILES}x${SMALL_ROWS}`;
  const keys = files.map((p) => `${prefix}/${basename(p)}`);
  if (!(await exists(t.s3, `${prefix}/_done`))) {
    log('uploading the small files');
    await mapConcurrently(files, 32, async (p) => {
      await t.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/${basename(p)}`, Body: readFileSync(p) }));
    });
    await t.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/_done`, Body: '' }));
  }
  return { prefix, keys };
}

async function smallFiles(t: BenchStack, prefix: string, keys: string[]): Promise<Small> {
  log(`small files: ${SMALL_FILES} × ${SMALL_ROWS} rows (cached)`);
  const small: Small = { baselineMsPerFile: [], productMsPerFile: [], peakRssMb: 0 };
  for (let r = 0; r < RUNS; r++) {
    const b = await withCpu(t, () =>
      runBaseline(t, keys, readerFor('csv', false), { source: 'download', concurrency: 16 }),
    );
    if (b.rows !== SMALL_FILES * SMALL_ROWS) throw new Error(`baseline loaded ${b.rows} rows`);
    const p = await runProduct(t, `s3://${BUCKET}/${prefix}/*.csv`, 'small', SMALL_FILES * SMALL_ROWS);
    small.baselineMsPerFile.push(b.totalMs / SMALL_FILES);
    small.productMsPerFile.push(p.jobMs / SMALL_FILES);
    small.peakRssMb = Math.max(small.peakRssMb, p.peakRssMb);
    log(
      `small files run ${r + 1}: baseline ${(b.totalMs / SMALL_FILES).toFixed(2)} ms/file (download ${seconds(b.downloadMs)}, insert ${seconds(b.insertMs)}), ` +
        `product ${(p.jobMs / SMALL_FILES).toFixed(2)} ms/file, ${loadText()}`,
    );
    log(`  ${cpuLine(b, p)}`);
  }
  return small;
}

/** The listing of LIST_KEYS keys (uploaded once), with a pattern that matches none: the job is the listing. */
async function listing(t: BenchStack): Promise<number[]> {
  const prefix = `keys-${LIST_KEYS}`;
  if (!(await exists(t.s3, `${prefix}/_done`))) {
    log(`uploading ${LIST_KEYS} keys (once; cached in bench/data/minio)`);
    const ks = Array.from(
      { length: LIST_KEYS },
      (_, k) => `${prefix}/d=${String(k % 100).padStart(3, '0')}/k-${String(k).padStart(7, '0')}.json`,
    );
    await mapConcurrently(ks, 64, (k) => t.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: '{}' })));
    await t.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/_done`, Body: '' }));
  }
  const ms: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const p = await runProduct(t, `s3://${BUCKET}/${prefix}/d=*/k-*.csv`, 'list', 0);
    ms.push(p.jobMs);
    log(`listing run ${r + 1}: ${seconds(p.jobMs)} for ${LIST_KEYS} keys, ${loadText()}`);
  }
  return ms;
}

const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '–');

/** The table of the big formats: the product, the baseline and the peers side by side. */
function formatsReport(results: Row[]): string[] {
  const lines = [
    '',
    '| format | file size | rows | product (deploy → committed) | baseline (download + bare INSERT) | DuckDB + httpfs (s3:// straight) | dlt (filesystem → duckdb) | product / baseline | product / httpfs | product / bare INSERT of a local file (the limit) | worker peak RSS | load |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const [p, b, h, d, i] = [r.productMs, r.baselineMs, r.httpfsMs, r.dltMs, r.insertMs].map((xs) =>
      xs.length ? median(xs) : 0,
    ) as [number, number, number, number, number];
    const cell = (ms: number) => (ms > 0 ? seconds(ms) : 'not run');
    lines.push(
      `| ${r.what} | ${(r.bytes / 1e6).toFixed(0)} MB | ${r.rows.toLocaleString('en-US')} | ${seconds(p)} | ${cell(b)} | ${cell(h)} | ${cell(d)} | ` +
        `**${ratio(p, b)}** | ${ratio(p, h)} | ${ratio(p, i)} | ${r.peakRssMb.toFixed(0)} MB | ${r.load} |`,
    );
  }
  return lines;
}

function smallReport(small: Small): string[] {
  const b = median(small.baselineMsPerFile);
  const p = median(small.productMsPerFile);
  return [
    '',
    `| ${SMALL_FILES} CSV files × ${SMALL_ROWS} rows | batched baseline | product | product − baseline | worker peak RSS |`,
    '|---|---|---|---|---|',
    `| per file | ${b.toFixed(2)} ms | ${p.toFixed(2)} ms | **${(p - b).toFixed(2)} ms** | ${small.peakRssMb.toFixed(0)} MB |`,
  ];
}

async function main(): Promise<void> {
  mkdirSync(dataRoot, { recursive: true });
  log(
    `size ${SIZE_MB} MB, ${RUNS} runs, formats ${FORMAT_LIST.join(' ')}${SKIP.size ? `, skipping ${[...SKIP].join(' ')}` : ''}`,
  );
  const t = await startBenchStack();
  const lines: string[] = [
    `Benchmark: ${SIZE_MB} MB data set, median of ${RUNS} runs (${new Date().toISOString()}, ${loadText()})`,
  ];
  const raw: Record<string, unknown> = { sizeMb: SIZE_MB, runs: RUNS };
  const keys = new Map<BenchFormat, string>();
  let rowCount = 0;
  let smallPrefix = '';
  try {
    await t.s3.send(new CreateBucketCommand({ Bucket: BUCKET })).catch(() => undefined);
    t.write('minio.connection', minioConnection());
    if (!SKIP.has('big')) {
      const big = await bigFormats(t, keys);
      rowCount = big.count;
      raw.results = big.rows;
      lines.push(...formatsReport(big.rows));
    }
    if (!SKIP.has('small') || !SKIP.has('lake')) {
      const uploaded = await uploadSmallFiles(t);
      smallPrefix = uploaded.prefix;
      if (!SKIP.has('small')) {
        const small = await smallFiles(t, uploaded.prefix, uploaded.keys);
        raw.small = small;
        lines.push(...smallReport(small));
      }
    }
    if (!SKIP.has('list')) {
      const ms = await listing(t);
      raw.listing = ms;
      lines.push(
        '',
        `Listing ${LIST_KEYS.toLocaleString('en-US')} keys with a pattern (none match): ${seconds(median(ms))} (${((LIST_KEYS / median(ms)) * 1000).toFixed(0)} keys/s)`,
      );
    }
    if (!SKIP.has('first')) lines.push('', ...(await firstRowReport(t)));
  } finally {
    await t.stop();
  }
  if (!SKIP.has('lake')) {
    const lake: LakeResults = await lakeBench(
      { bigKeys: keys, rows: rowCount, smallPrefix, smallFiles: SMALL_FILES, smallRows: SMALL_ROWS },
      RUNS,
      LAKE_WORKERS,
    );
    raw.lake = lake;
    lines.push(...lakeReport(lake));
  }
  if (!SKIP.has('cli')) lines.push('', ...(await (await import('./cliStart')).cliStartReport()));
  const text = lines.join('\n');
  process.stdout.write(`\n${text}\n`);
  writeFileSync(
    join(dataRoot, `results-${SIZE_MB}mb.json`),
    JSON.stringify({ ...raw, at: new Date().toISOString() }, null, 2),
  );
  writeFileSync(join(dataRoot, `results-${SIZE_MB}mb.md`), text + '\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
