/**
 * Deploy to first row (issue 23, goal 7): for a 1 KB CSV object, the time
 * from starting `s3c deploy` to its row being queryable in the destination
 * (polled every 10 ms from the worker's own connection), with the deploy
 * command's own time beside it, and where the rest goes: the data source
 * workflow's and its job's histories as timelines from the deploy's start.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDist } from '../scripts/build';
import { dataSourceWorkflowId } from '../src/contract';
import { BUCKET, envNumber, loadText, log, median, seconds } from './common';
import { nextRunName } from './product';
import { datasourceText } from './peers';
import type { BenchStack } from './stack';
import { timeline } from './timeline';

const FIRST_ROW_RUNS = envNumber('BENCH_FIRST_ROW_RUNS', 5);

/** One 1 KB CSV object of the bench schema (a few events). */
function oneKilobyteCsv(): string {
  const header = 'timestamp,session_id,action,version,payload\n';
  const row = (i: number) =>
    `2024-01-01 00:00:0${i}.000,s${i},view,1,"{""page"":""/p/${i}"",""pad"":""${'x'.repeat(140)}""}"\n`;
  return header + Array.from({ length: 6 }, (_, i) => row(i)).join('');
}

async function rowsIn(stack: BenchStack, table: string): Promise<number> {
  try {
    const r = await stack.stack.worker!.sink.query(`SELECT count(*)::INTEGER AS n FROM ${table}`);
    return Number(r[0]?.n ?? 0);
  } catch {
    return 0; // the table does not exist yet
  }
}

export interface FirstRowRun {
  /** `s3c deploy --check` just before (the CLI's start and the plan with its S3 checks, no Temporal). */
  checkMs: number;
  /** `s3c deploy` from spawn to exit. */
  deployMs: number;
  /** From spawning `s3c deploy` to the data source workflow's start, and to its job's. */
  workflowStartMs: number;
  jobStartMs: number;
  /** From spawning `s3c deploy` to the first row queryable. */
  firstRowMs: number;
}

/** One deploy of a fresh @once data source over one 1 KB object. */
async function firstRowOnce(stack: BenchStack, verbose: boolean): Promise<FirstRowRun> {
  const name = nextRunName('first_row');
  const key = `first-row/${name}/one.csv`;
  await stack.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: oneKilobyteCsv() }));
  stack.write(`${name}.datasource`, datasourceText(`s3://${BUCKET}/first-row/${name}/*.csv`));
  const c0 = Date.now();
  const checked = await stack.cli(['deploy', '--check']);
  if (checked.code !== 0) throw new Error(`deploy --check failed: ${checked.stderr}`);
  const checkMs = Date.now() - c0;
  const t0 = Date.now();
  const deployed = stack.cli(['deploy']).then((out) => {
    if (out.code !== 0) throw new Error(`deploy failed: ${out.stderr}`);
    return Date.now() - t0;
  });
  while ((await rowsIn(stack, name)) === 0) {
    if (Date.now() - t0 > 60_000) throw new Error(`no row of ${name} after 60 s`);
    await sleep(10);
  }
  const firstRowMs = Date.now() - t0;
  const deployMs = await deployed;
  const starts = await startTimes(stack, name, t0);
  if (verbose) await logWhereTimeGoes(stack, name);
  return { checkMs, deployMs, firstRowMs, ...starts };
}

/** When the data source workflow and its first job started, in ms from the deploy's start. */
async function startTimes(stack: BenchStack, name: string, t0: number) {
  const client = stack.stack.client;
  const id = dataSourceWorkflowId(stack.workspace.workspace, name);
  const workflowStartMs = (await client.workflow.getHandle(id).describe()).startTime.getTime() - t0;
  const state = await stack.waitForState(name, (s) => !!s.lastJobId, 10_000);
  const jobStartMs = (await client.workflow.getHandle(state.lastJobId!).describe()).startTime.getTime() - t0;
  return { workflowStartMs, jobStartMs };
}

/** The data source workflow's timeline and its first job's, each in ms from its own start. */
async function logWhereTimeGoes(stack: BenchStack, name: string): Promise<void> {
  const client = stack.stack.client;
  const id = dataSourceWorkflowId(stack.workspace.workspace, name);
  for (const l of await timeline(client, id)) log(`  first row: data source: ${l}`);
  const state = await stack.waitForState(name, (s) => !!s.lastJobId, 10_000);
  for (const l of await timeline(client, state.lastJobId!)) log(`  first row: job: ${l}`);
}

/** BENCH_FIRST_ROW_RUNS deploys; the report's lines. */
export async function firstRowReport(stack: BenchStack): Promise<string[]> {
  // The CLI as installed: compiled (an install builds dist/), not through tsx.
  await buildDist();
  const runs: FirstRowRun[] = [];
  for (let r = 0; r < FIRST_ROW_RUNS; r++) {
    const run = await firstRowOnce(stack, process.env.BENCH_TIMELINE === '1');
    runs.push(run);
    log(
      `deploy to first row, run ${r + 1}: ${seconds(run.firstRowMs)} (deploy --check ${seconds(run.checkMs)}, ` +
        `deploy ${seconds(run.deployMs)}, workflow started at ${seconds(run.workflowStartMs)}, ` +
        `job at ${seconds(run.jobStartMs)}), ${loadText()}`,
    );
  }
  const m = (pick: (r: FirstRowRun) => number) => seconds(median(runs.map(pick)));
  return [
    `Deploy to first row (1 KB CSV, median of ${FIRST_ROW_RUNS}, ${loadText()}): **${m((r) => r.firstRowMs)}** ` +
      `(target ≤ 1.5 s); runs ${runs.map((r) => seconds(r.firstRowMs)).join(', ')}.`,
    `Where it goes (medians, from the deploy's start): \`s3c deploy --check\` alone (CLI start + plan with its S3 checks) ` +
      `${m((r) => r.checkMs)}; data source workflow started at ${m((r) => r.workflowStartMs)}, the deploy command done at ` +
      `${m((r) => r.deployMs)}, its job started at ${m((r) => r.jobStartMs)}, the row queryable at ${m((r) => r.firstRowMs)}.`,
  ];
}
