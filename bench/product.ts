/**
 * The product's side of a bench row: `s3c deploy` of an `@once` data source
 * over the objects, timed from its job's created_at to its updated_at (rows
 * committed), with the workers' peak RSS and CPU.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { jobReport } from '../src/client/dataSources';
import { DuckDbSink } from '../src/sinks/duckdb';
import type { Destination } from '../src/sinks/destination';
import { dataRoot, log } from './common';
import { cpuMeter, peakRssMb, resetPeakRss, type CpuUse } from './measure';
import { datasourceText } from './peers';
import type { BenchStack } from './stack';
import { timeline } from './timeline';

/**
 * BENCH_PERF=1: `perf record` (Linux perf) of each baseline process and of
 * the worker during each product run, into bench/data/perf/<name>.data; read
 * with `perf report -i <file> --sort dso,sym`. The worker and the baseline
 * are then told apart by what each spends CPU on, not by wall times.
 */
export const PERF = process.env.BENCH_PERF === '1';
export const perfRecord = (name: string): string[] => {
  mkdirSync(join(dataRoot, 'perf'), { recursive: true });
  return ['record', '-F', '499', '-o', join(dataRoot, 'perf', `${name}.data`)];
};

/** How the destination loaded its last file (the DuckDB file says; a lake's load path is not reported). */
function loadPath(sink: Destination | undefined): string {
  return sink instanceof DuckDbSink ? String(sink.lastLoadPath) : 'lake';
}

export interface ProductResult {
  jobMs: number;
  wallMs: number;
  rows: number;
  /** The highest peak RSS of the workers, and each worker's. */
  peakRssMb: number;
  workerPeakRssMb: number[];
  cpu: CpuUse;
}

let dsSeq = 0;
/** A fresh data source name per run (each deploy starts its own @once workflow). */
export const nextRunName = (label: string) => `bench_${label.replace(/[^A-Za-z0-9]/g, '_')}_${++dsSeq}`;
export const runCount = () => dsSeq;

/** `perf record` of the in-process worker during one run, when BENCH_PERF=1; call the result to stop it. */
function perfOfWorker(label: string): () => Promise<void> {
  if (!PERF) return async () => undefined;
  const perf = spawn('perf', [...perfRecord(`product-${dsSeq}-${label}`), '-p', String(process.pid)], {
    stdio: 'ignore',
  });
  perf.on('error', (e) => log(`BENCH_PERF: perf did not start (${e.message})`));
  return async () => {
    if (perf.pid === undefined || perf.exitCode !== null) return;
    perf.kill('SIGINT');
    await once(perf, 'exit');
  };
}

/** The job's report, checked: no errors, the rows expected. */
async function checkedReport(stack: BenchStack, jobId: string, expectRows: number | undefined) {
  const report = await jobReport(stack.stack.client, jobId);
  if (report.errors.length)
    throw new Error(`job ${report.id} had errors: ${JSON.stringify(report.errors.slice(0, 3))}`);
  const rows = report.statistics.row_count;
  if (expectRows !== undefined && rows !== expectRows)
    throw new Error(`job ${report.id} loaded ${rows} rows, expected ${expectRows}`);
  return report;
}

/** Deploys an @once data source over `uri` and waits for its job; returns the job's duration. */
export async function runProduct(
  stack: BenchStack,
  uri: string,
  label: string,
  expectRows: number | undefined,
): Promise<ProductResult> {
  const name = nextRunName(label);
  stack.write(`${name}.datasource`, datasourceText(uri));
  const pids = stack.workerPids();
  for (const pid of pids) resetPeakRss(pid);
  const t0 = Date.now();
  const meter = cpuMeter(stack);
  const stopPerf = perfOfWorker(label);
  const out = await stack.cli(['deploy']);
  if (out.code !== 0) throw new Error(`deploy failed: ${out.stderr}`);
  const state = await stack.waitForState(
    name,
    (s) => s.initialSyncDone && s.status === 'resting' && !!s.lastJobId,
    3_600_000,
  );
  const wallMs = Date.now() - t0;
  const cpu = meter();
  await stopPerf();
  const workerPeakRssMb = pids.map((pid) => peakRssMb(pid));
  const report = await checkedReport(stack, state.lastJobId!, expectRows);
  if (process.env.BENCH_TIMELINE === '1') {
    log(`  ${label} job: loaded on the sink's ${loadPath(stack.stack.worker?.sink)} path`);
    for (const l of await timeline(stack.stack.client, report.id)) log(`  ${label} job: ${l}`);
  }
  // Keep the warehouse small between runs (the baseline starts from an empty database each time too).
  await stack.destinationSql(`DROP TABLE IF EXISTS ${name}`);
  if (!stack.lake) await stack.destinationSql('CHECKPOINT');
  return {
    jobMs: Date.parse(report.updated_at) - Date.parse(report.created_at),
    wallMs,
    rows: report.statistics.row_count,
    peakRssMb: Math.max(...workerPeakRssMb),
    workerPeakRssMb,
    cpu,
  };
}
