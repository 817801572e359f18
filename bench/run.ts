/**
 * `npm run bench`: the product against the physical limit (see README, "Performance").
 *
 * For each format (CSV, NDJSON, Parquet zstd, csv.gz, ndjson.gz) of a ~BENCH_SIZE_MB
 * events data set (size of the CSV; the same rows in every format), BENCH_RUNS times:
 *  - baseline: download the object to a temp file + one bare DuckDB
 *    `INSERT INTO t SELECT * FROM read_xxx(file, explicit types)` into the same
 *    table DDL, same session settings (child process);
 *  - product: `s3c deploy` of an `@once` data source → rows committed, from the
 *    job's created_at / updated_at (worker in this process, rate limit lifted),
 *    with the worker's peak RSS.
 * Then many small files (BENCH_SMALL_FILES CSV files of BENCH_SMALL_ROWS rows):
 * the product end to end vs. the same files downloaded and loaded by ONE bare
 * multi-file statement; and the listing of BENCH_LIST_KEYS keys with a pattern.
 *
 * Environment: BENCH_SIZE_MB (1024), BENCH_RUNS (3), BENCH_FORMATS (all, comma
 * separated), BENCH_SMALL_FILES (1000), BENCH_SMALL_ROWS (1000), BENCH_LIST_KEYS
 * (100000), BENCH_SKIP (comma separated: big, small, list), BENCH_TIMELINE=1
 * (print each product job's timeline: where its time goes), BENCH_PERF=1
 * (a CPU profile of each run: see PERF).
 * Generated files and MinIO's data are cached under bench/data/ (git-ignored).
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { loadTemporalConfig, loadWorkspaceConfig, type WorkspaceConfig } from '../src/config';
import { jobReport, waitForState } from '../src/client/dataSources';
import { parseDataSource } from '../src/datafiles';
import { repoRoot } from '../src/local/tools';
import { minioS3Client, startLocalStack, type LocalStack } from '../src/local/stack';
import { startMinio, type MinioServer } from '../src/local/processes';
import { DuckDbSink, SINK_SETTINGS, tableDdl } from '../src/sinks/duckdb';
import type { Destination } from '../src/sinks/destination';
import { mapConcurrently } from '../src/util/concurrency';
import type { DataSourceState } from '../src/contract';
import { cliEnv, minioConnection, storeMinioSecrets, workflowBundle } from '../test/helpers/stack';
import type { BaselineJob, BaselineResult } from './baseline';
import { timeline } from './timeline';
import { COLUMN_TYPES, FORMATS, SCHEMA, ensureDataSet, ensureSmallFiles, type BenchFormat } from './dataset';

const here = fileURLToPath(new URL('.', import.meta.url));
const dataRoot = join(here, 'data');
const env = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const SIZE_MB = env('BENCH_SIZE_MB', 1024);
const RUNS = env('BENCH_RUNS', 3);
const SMALL_FILES = env('BENCH_SMALL_FILES', 1000);
const SMALL_ROWS = env('BENCH_SMALL_ROWS', 1000);
const LIST_KEYS = env('BENCH_LIST_KEYS', 100_000);
/** How often the bench asks the data source for its state (a user watching the Web UI, not a load on the worker). */
const POLL_MS = env('BENCH_POLL_MS', 1000);
const FORMAT_LIST = (process.env.BENCH_FORMATS ?? Object.keys(FORMATS).join(','))
  .split(',')
  .map((s) => s.trim()) as BenchFormat[];
const SKIP = new Set(
  (process.env.BENCH_SKIP ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
/**
 * BENCH_PERF=1: `perf record` (Linux perf) of each baseline process and of
 * the worker during each product run, into bench/data/perf/<name>.data; read
 * with `perf report -i <file> --sort dso,sym`. The worker and the baseline
 * are then told apart by what each spends CPU on, not by wall times.
 */
const PERF = process.env.BENCH_PERF === '1';
const perfRecord = (name: string): string[] => {
  mkdirSync(join(dataRoot, 'perf'), { recursive: true });
  return ['record', '-F', '499', '-o', join(dataRoot, 'perf', `${name}.data`)];
};
const BUCKET = 'bench';
const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ------------------------------------------------------------------ stack

interface BenchStack {
  stack: LocalStack;
  minio: MinioServer;
  s3: S3Client;
  workspace: WorkspaceConfig;
  write(name: string, text: string): void;
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  waitForState(name: string, predicate: (s: DataSourceState) => boolean, timeoutMs: number): Promise<DataSourceState>;
  stop(): Promise<void>;
}

/** MinIO on bench/data/minio (kept between runs), Temporal, and the worker in this process. */
async function startBenchStack(): Promise<BenchStack> {
  const root = mkdtempSync(join(tmpdir(), 's3c-bench-'));
  const projectDir = join(root, 'project');
  mkdirSync(projectDir, { recursive: true });
  const minio = await startMinio({ dataDir: join(dataRoot, 'minio'), stateDir: root });
  storeMinioSecrets(projectDir, minio);
  const workspace: WorkspaceConfig = {
    ...loadWorkspaceConfig(projectDir, {}),
    pollIntervalSeconds: 2,
    filesPerMinute: 0,
    plan: 'paid',
    duckdbPath: join(root, 'warehouse.duckdb'),
  };
  const stack = await startLocalStack({
    projectDir,
    stateDir: join(root, 'temporal'),
    temporal: loadTemporalConfig(projectDir, {}),
    workspace,
    workflowBundle: await workflowBundle(),
  });
  const s3 = minioS3Client(minio);
  const env = { ...cliEnv(stack.temporal.temporal.address, workspace), S3C_PLAN: 'paid' };
  return {
    stack,
    minio,
    s3,
    workspace,
    write: (name, text) => writeFileSync(join(projectDir, name), text),
    cli: (args) =>
      new Promise((resolve) => {
        const child = execFile(
          process.execPath,
          [join(repoRoot, 'bin', 's3c.js'), ...args],
          { cwd: projectDir, env, timeout: 600_000 },
          (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        );
        child.stdin?.end();
      }),
    async waitForState(name, predicate, timeoutMs) {
      return waitForState(stack.client, workspace.workspace, name, predicate, { timeoutMs, intervalMs: POLL_MS });
    },
    async stop() {
      s3.destroy();
      await stack.stop();
      await minio.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------ helpers

async function exists(s3: S3Client, key: string, size?: number): Promise<boolean> {
  try {
    const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return size === undefined || h.ContentLength === size;
  } catch {
    return false;
  }
}

async function uploadFile(s3: S3Client, key: string, path: string): Promise<void> {
  const size = statSync(path).size;
  if (await exists(s3, key, size)) return;
  log(`uploading ${key} (${(size / 1e6).toFixed(0)} MB)`);
  await new Upload({
    client: s3,
    params: { Bucket: BUCKET, Key: key, Body: createReadStream(path) },
    partSize: 16 * 1024 * 1024,
    queueSize: 4,
  }).done();
}

/** How the destination loaded its last file (the DuckDB file says; a lake's load path is not reported). */
function loadPath(sink: Destination): string {
  return sink instanceof DuckDbSink ? String(sink.lastLoadPath) : 'lake';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function datasourceText(uri: string): string {
  return `SCHEMA >\n    ${SCHEMA.join(',\n    ')}\n\nENGINE "MergeTree"\n\nIMPORT_CONNECTION_NAME minio\nIMPORT_BUCKET_URI ${uri}\nIMPORT_SCHEDULE @once\n`;
}

/** The table DDL the product creates for the bench schema (the baseline's table `t`). */
function baselineDdl(): string {
  const ds = parseDataSource(datasourceText('s3://bench/x/*.csv').replace(/IMPORT_[\s\S]*$/, ''), 't.datasource');
  return tableDdl({ ...ds, name: 't' })[0]!;
}

function readerFor(format: 'csv' | 'ndjson' | 'parquet', gzip: boolean): string {
  const comp = gzip ? 'gzip' : 'none';
  if (format === 'csv')
    return `read_csv($FILES, header = true, auto_detect = false, columns = ${COLUMN_TYPES}, compression = '${comp}')`;
  if (format === 'ndjson') {
    return `read_json($FILES, format = 'newline_delimited', records = true, auto_detect = false, columns = ${COLUMN_TYPES}, compression = '${gzip ? 'gzip' : 'uncompressed'}')`;
  }
  return 'read_parquet($FILES)';
}

/** Runs the baseline in a child process. */
function runBaseline(stack: BenchStack, keys: string[], reader: string, concurrency: number): Promise<BaselineResult> {
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
    downloadConcurrency: concurrency,
  };
  return new Promise((resolve, reject) => {
    const perf = PERF ? [...perfRecord(`baseline-${dsSeq + 1}`), '--', process.execPath] : [];
    execFile(
      PERF ? 'perf' : process.execPath,
      [...perf, '--import', 'tsx', join(here, 'baseline.ts'), JSON.stringify(job)],
      { maxBuffer: 16 * 1024 * 1024, timeout: 3_600_000 },
      (err, stdout, stderr) => {
        rmSync(dbDir, { recursive: true, force: true });
        if (err) reject(new Error(`baseline failed: ${stderr || err.message}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as BaselineResult);
      },
    );
  });
}

/** Resets this process's peak RSS (Linux), so that VmHWM measures one load. */
function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    /* not Linux: the peak then covers the whole run */
  }
}
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

/**
 * CPU time (ms) a process has used so far, with its waited-for children, from
 * /proc (Linux; NaN elsewhere). Clock ticks are 1/100 s on Linux.
 */
function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return Number.NaN;
  }
}

interface CpuUse {
  workerMs: number;
  minioMs: number;
  temporalMs: number;
}

/** Starts counting the CPU time of the worker (this process), MinIO and the Temporal server; call the result to read it. */
function cpuMeter(t: BenchStack): () => CpuUse {
  const temporalPid = t.stack.temporalServer.pid;
  const w0 = process.cpuUsage();
  const m0 = cpuMsOf(t.minio.pid);
  const s0 = cpuMsOf(temporalPid);
  return () => {
    const w = process.cpuUsage(w0);
    return {
      workerMs: (w.user + w.system) / 1000,
      minioMs: cpuMsOf(t.minio.pid) - m0,
      temporalMs: cpuMsOf(temporalPid) - s0,
    };
  };
}

/** The CPU time of MinIO and the Temporal server while `fn` (the baseline's child process) runs. */
async function withCpu<T>(t: BenchStack, fn: () => Promise<T>): Promise<T & { cpu: CpuUse }> {
  const meter = cpuMeter(t);
  const r = await fn();
  return { ...r, cpu: meter() };
}

const cpuText = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
/** The CPU seconds of a baseline run and of a product run (deploy to committed; the worker's includes the bench's state polls). */
const cpuLine = (b: BaselineResult & { cpu: CpuUse }, p: { cpu: CpuUse }) =>
  `CPU: baseline ${cpuText(b.cpuMs)} + MinIO ${cpuText(b.cpu.minioMs)}; ` +
  `product worker ${cpuText(p.cpu.workerMs)} + MinIO ${cpuText(p.cpu.minioMs)} + Temporal ${cpuText(p.cpu.temporalMs)}`;

interface ProductResult {
  jobMs: number;
  wallMs: number;
  rows: number;
  peakRssMb: number;
  cpu: CpuUse;
}

let dsSeq = 0;
/** Deploys an @once data source over `uri` and waits for its job; returns the job's duration. */
async function runProduct(
  stack: BenchStack,
  uri: string,
  label: string,
  expectRows: number | undefined,
): Promise<ProductResult> {
  const name = `bench_${label.replace(/[^A-Za-z0-9]/g, '_')}_${++dsSeq}`;
  stack.write(`${name}.datasource`, datasourceText(uri));
  resetPeakRss();
  const t0 = Date.now();
  const meter = cpuMeter(stack);
  const perf = PERF
    ? spawn('perf', [...perfRecord(`product-${dsSeq}-${label}`), '-p', String(process.pid)], { stdio: 'ignore' })
    : undefined;
  perf?.on('error', (e) => log(`BENCH_PERF: perf did not start (${e.message})`));
  const out = await stack.cli(['deploy']);
  if (out.code !== 0) throw new Error(`deploy failed: ${out.stderr}`);
  const state = await stack.waitForState(
    name,
    (s) => s.initialSyncDone && s.status === 'resting' && !!s.lastJobId,
    3_600_000,
  );
  const wallMs = Date.now() - t0;
  const cpu = meter();
  if (perf?.pid !== undefined && perf.exitCode === null) {
    perf.kill('SIGINT');
    await once(perf, 'exit');
  }
  const peak = peakRssMb();
  const report = await jobReport(stack.stack.client, state.lastJobId!);
  if (report.errors.length)
    throw new Error(`job ${report.id} had errors: ${JSON.stringify(report.errors.slice(0, 3))}`);
  const rows = report.statistics.row_count;
  if (expectRows !== undefined && rows !== expectRows)
    throw new Error(`job ${report.id} loaded ${rows} rows, expected ${expectRows}`);
  if (process.env.BENCH_TIMELINE === '1') {
    log(`  ${label} job: loaded on the sink's ${loadPath(stack.stack.worker!.sink)} path`);
    for (const l of await timeline(stack.stack.client, report.id)) log(`  ${label} job: ${l}`);
  }
  // Keep the warehouse small between runs (the baseline starts from an empty database each time too).
  await stack.stack.worker!.sink.query(`DROP TABLE IF EXISTS ${name}`);
  await stack.stack.worker!.sink.query('CHECKPOINT');
  return { jobMs: Date.parse(report.updated_at) - Date.parse(report.created_at), wallMs, rows, peakRssMb: peak, cpu };
}

// ------------------------------------------------------------------ main

interface Row {
  what: string;
  baselineMs: number[];
  productMs: number[];
  rows: number;
  bytes: number;
  peakRssMb: number;
}

async function main(): Promise<void> {
  mkdirSync(dataRoot, { recursive: true });
  log(
    `size ${SIZE_MB} MB, ${RUNS} runs, formats ${FORMAT_LIST.join(' ')}${SKIP.size ? `, skipping ${[...SKIP].join(' ')}` : ''}`,
  );
  const t = await startBenchStack();
  const results: Row[] = [];
  let small: { baselineMsPerFile: number[]; productMsPerFile: number[]; peakRssMb: number } | undefined;
  let listing: { ms: number[]; keys: number } | undefined;
  try {
    await t.s3.send(new CreateBucketCommand({ Bucket: BUCKET })).catch(() => undefined);
    t.write('minio.connection', minioConnection());

    if (!SKIP.has('big')) {
      log('generating the data set (cached)');
      const data = await ensureDataSet(dataRoot, SIZE_MB);
      log(`${data.rows} rows`);
      for (const f of FORMAT_LIST) {
        const spec = FORMATS[f];
        if (!spec) throw new Error(`unknown format ${f}`);
        const key = `big-${SIZE_MB}mb/${f.replace('.', '')}/${spec.file}`;
        const path = join(data.dir, spec.file);
        await uploadFile(t.s3, key, path);
        const row: Row = {
          what: f,
          baselineMs: [],
          productMs: [],
          rows: data.rows,
          bytes: statSync(path).size,
          peakRssMb: 0,
        };
        for (let r = 0; r < RUNS; r++) {
          const b = await withCpu(t, () => runBaseline(t, [key], readerFor(spec.format, spec.gzip), 1));
          if (b.rows !== data.rows) throw new Error(`baseline loaded ${b.rows} rows, expected ${data.rows}`);
          row.baselineMs.push(b.totalMs);
          const uri = `s3://${BUCKET}/${key.slice(0, key.lastIndexOf('/'))}/*.${basename(spec.file).split('.').slice(1).join('.')}`;
          const p = await runProduct(t, uri, f, data.rows);
          row.productMs.push(p.jobMs);
          row.peakRssMb = Math.max(row.peakRssMb, p.peakRssMb);
          log(
            `${f} run ${r + 1}: baseline ${(b.totalMs / 1000).toFixed(2)} s (download ${(b.downloadMs / 1000).toFixed(2)}, insert ${(b.insertMs / 1000).toFixed(2)}), ` +
              `product ${(p.jobMs / 1000).toFixed(2)} s (wall ${(p.wallMs / 1000).toFixed(2)}), ratio ${(p.jobMs / b.totalMs).toFixed(2)}, worker peak RSS ${p.peakRssMb.toFixed(0)} MB`,
          );
          log(`  ${cpuLine(b, p)}`);
        }
        results.push(row);
      }
    }

    if (!SKIP.has('small')) {
      log(`small files: ${SMALL_FILES} × ${SMALL_ROWS} rows (cached)`);
      const files = await ensureSmallFiles(dataRoot, SMALL_FILES, SMALL_ROWS);
      const prefix = `small-v2-${SMALL_FILES}x${SMALL_ROWS}`;
      const keys = files.map((p) => `${prefix}/${basename(p)}`);
      if (!(await exists(t.s3, `${prefix}/_done`))) {
        log('uploading the small files');
        await mapConcurrently(files, 32, async (p) => {
          await t.s3.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/${basename(p)}`, Body: readFileSync(p) }),
          );
        });
        await t.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/_done`, Body: '' }));
      }
      small = { baselineMsPerFile: [], productMsPerFile: [], peakRssMb: 0 };
      for (let r = 0; r < RUNS; r++) {
        const b = await withCpu(t, () => runBaseline(t, keys, readerFor('csv', false), 16));
        if (b.rows !== SMALL_FILES * SMALL_ROWS) throw new Error(`baseline loaded ${b.rows} rows`);
        const p = await runProduct(t, `s3://${BUCKET}/${prefix}/*.csv`, 'small', SMALL_FILES * SMALL_ROWS);
        small.baselineMsPerFile.push(b.totalMs / SMALL_FILES);
        small.productMsPerFile.push(p.jobMs / SMALL_FILES);
        small.peakRssMb = Math.max(small.peakRssMb, p.peakRssMb);
        log(
          `small files run ${r + 1}: baseline ${(b.totalMs / SMALL_FILES).toFixed(2)} ms/file (download ${(b.downloadMs / 1000).toFixed(2)} s, insert ${(b.insertMs / 1000).toFixed(2)} s), ` +
            `product ${(p.jobMs / SMALL_FILES).toFixed(2)} ms/file`,
        );
        log(`  ${cpuLine(b, p)}`);
      }
    }

    if (!SKIP.has('list')) {
      const prefix = `keys-${LIST_KEYS}`;
      if (!(await exists(t.s3, `${prefix}/_done`))) {
        log(`uploading ${LIST_KEYS} keys (once; cached in bench/data/minio)`);
        const ks = Array.from(
          { length: LIST_KEYS },
          (_, k) => `${prefix}/d=${String(k % 100).padStart(3, '0')}/k-${String(k).padStart(7, '0')}.json`,
        );
        let done = 0;
        await mapConcurrently(ks, 64, async (k) => {
          await t.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: '{}' }));
          if (++done % 10_000 === 0) log(`${done} keys`);
        });
        await t.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/_done`, Body: '' }));
      }
      // The pattern matches none of the keys: the job is the listing (all keys under the prefix, each tested).
      listing = { ms: [], keys: LIST_KEYS };
      for (let r = 0; r < RUNS; r++) {
        const p = await runProduct(t, `s3://${BUCKET}/${prefix}/d=*/k-*.csv`, 'list', 0);
        listing.ms.push(p.jobMs);
        log(`listing run ${r + 1}: ${(p.jobMs / 1000).toFixed(2)} s for ${LIST_KEYS} keys`);
      }
    }
  } finally {
    await t.stop();
  }

  // ---------------------------------------------------------------- report
  const lines: string[] = [];
  lines.push(`Benchmark: ${SIZE_MB} MB data set, median of ${RUNS} runs (${new Date().toISOString()})`);
  if (results.length) {
    lines.push('');
    lines.push(
      '| format | file size | rows | baseline (download + bare INSERT) | product (deploy → committed) | product / baseline | worker peak RSS |',
    );
    lines.push('|---|---|---|---|---|---|---|');
  }
  for (const r of results) {
    const b = median(r.baselineMs);
    const p = median(r.productMs);
    lines.push(
      `| ${r.what} | ${(r.bytes / 1e6).toFixed(0)} MB | ${r.rows.toLocaleString('en-US')} | ${(b / 1000).toFixed(2)} s | ${(p / 1000).toFixed(2)} s | ` +
        `**${(p / b).toFixed(2)}** | ${r.peakRssMb.toFixed(0)} MB |`,
    );
  }
  if (small) {
    const b = median(small.baselineMsPerFile);
    const p = median(small.productMsPerFile);
    lines.push('');
    lines.push(
      `| ${SMALL_FILES} CSV files × ${SMALL_ROWS} rows | batched baseline | product | product − baseline | worker peak RSS |`,
    );
    lines.push('|---|---|---|---|---|');
    lines.push(
      `| per file | ${b.toFixed(2)} ms | ${p.toFixed(2)} ms | **${(p - b).toFixed(2)} ms** | ${small.peakRssMb.toFixed(0)} MB |`,
    );
  }
  if (listing) {
    lines.push('');
    lines.push(
      `Listing ${listing.keys.toLocaleString('en-US')} keys with a pattern (none match): ${(median(listing.ms) / 1000).toFixed(2)} s ` +
        `(${((listing.keys / median(listing.ms)) * 1000).toFixed(0)} keys/s)`,
    );
  }
  const text = lines.join('\n');
  process.stdout.write(`\n${text}\n`);
  const raw = { sizeMb: SIZE_MB, runs: RUNS, results, small, listing, at: new Date().toISOString() };
  writeFileSync(join(dataRoot, `results-${SIZE_MB}mb.json`), JSON.stringify(raw, null, 2));
  writeFileSync(join(dataRoot, `results-${SIZE_MB}mb.md`), text + '\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
