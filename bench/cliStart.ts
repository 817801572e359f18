/**
 * How fast the CLI answers (issue 23, goal 6): the median of BENCH_CLI_STARTS
 * (10) starts of `s3c --help` and of `s3c datasource ls`, each from the build
 * in dist/ and from src/ through tsx (S3C_FROM_SRC=1), side by side, with
 * `node -e 0` (Node's own start on this machine, the floor) beside them.
 * Wall times follow the machine's load (2 cores shared with other work), so
 * each start's CPU time (user + system, all its threads) is shown too.
 *
 * `ls` runs against a real Temporal dev server with one data source deployed
 * by `s3c deploy` and a worker answering its queries (the test stack: MinIO,
 * Temporal, the worker in this process): with nothing deployed `ls` reads the
 * deployment file and never asks Temporal. The starts alternate dist, src and
 * node, so a change of the machine's load hits all three alike.
 *
 * `npm run bench` runs it (BENCH_SKIP=cli leaves it out); alone:
 * `node --import tsx bench/cliStart.ts`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../src/local/tools';
import { cliEnv, idNameDataSource, minioConnection, startTestStack, type TestStack } from '../test/helpers/stack';
import { buildDist } from '../scripts/build';

const STARTS = process.env.BENCH_CLI_STARTS ? Number(process.env.BENCH_CLI_STARTS) : 10;
const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Ways to start a process, each measured the same way. */
const STARTERS = {
  dist: (args: string[]) => ({ argv: [join(repoRoot, 'bin', 's3c.js'), ...args], env: {} }),
  src: (args: string[]) => ({ argv: [join(repoRoot, 'bin', 's3c.js'), ...args], env: { S3C_FROM_SRC: '1' } }),
  node: () => ({ argv: ['-e', '0'], env: {} }),
} as const;
type Starter = keyof typeof STARTERS;

/** Preloaded into each start: appends its CPU time (ms) to the file named by S3C_BENCH_CPU_LOG as it exits. */
const CPU_PRELOAD =
  "process.on('exit', () => { const u = process.cpuUsage(); require('node:fs').appendFileSync(process.env.S3C_BENCH_CPU_LOG, `${(u.user + u.system) / 1000}\\n`); });\n";

interface Timing {
  wallMs: number;
  cpuMs: number;
}

/** Wall and CPU time of one process from spawn to exit; fails on a non-zero exit. */
function timeStart(argv: string[], cwd: string, env: NodeJS.ProcessEnv, scratch: string): Promise<Timing> {
  const cpuLog = join(scratch, 'cpu.log');
  writeFileSync(cpuLog, '');
  const args = ['--require', join(scratch, 'cpu.cjs'), ...argv];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { cwd, env: { ...env, S3C_BENCH_CPU_LOG: cpuLog }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const wallMs = performance.now() - started;
        if (err) reject(new Error(`${argv.join(' ')}: ${err.message}\n${stdout}${stderr}`));
        else resolve({ wallMs, cpuMs: Number(readFileSync(cpuLog, 'utf8')) });
      },
    );
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function medianTiming(timings: Timing[]): Timing {
  return { wallMs: median(timings.map((t) => t.wallMs)), cpuMs: median(timings.map((t) => t.cpuMs)) };
}

/** Median wall and CPU time of `args` per starter, the starters taking turns. */
async function measure(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  scratch: string,
): Promise<Record<Starter, Timing>> {
  const times: Record<Starter, Timing[]> = { dist: [], src: [], node: [] };
  for (let i = 0; i < STARTS; i++) {
    for (const starter of Object.keys(STARTERS) as Starter[]) {
      const { argv, env: extra } = STARTERS[starter](args);
      times[starter].push(await timeStart(argv, cwd, { ...env, ...extra }, scratch));
    }
  }
  return { dist: medianTiming(times.dist), src: medianTiming(times.src), node: medianTiming(times.node) };
}

/** A stack with one deployed data source (idle, @on-demand) whose workflow answers `ls`. */
async function stackWithDataSource(): Promise<TestStack> {
  const t = await startTestStack();
  try {
    await t.createBucket('cli');
    t.write('minio.connection', minioConnection());
    t.write('events.datasource', idNameDataSource('s3://cli/events/*.csv'));
    const deployed = await t.cli(['deploy']);
    if (deployed.code !== 0) throw new Error(`s3c deploy failed:\n${deployed.stdout}${deployed.stderr}`);
    await t.waitForState('events', () => true);
    return t;
  } catch (err) {
    await t.stop();
    throw err;
  }
}

async function measureCommands(t: TestStack, scratch: string): Promise<[string, Record<Starter, Timing>][]> {
  const env = cliEnv(t.stack.temporal.temporal.address, t.workspace);
  const rows: [string, Record<Starter, Timing>][] = [];
  for (const [label, args] of [
    ['`s3c --help`', ['--help']],
    ['`s3c datasource ls` (1 data source)', ['datasource', 'ls']],
  ] as const) {
    log(`${STARTS} starts of ${label}, each from dist/, from src/ and node -e 0`);
    rows.push([label, await measure([...args], t.projectDir, env, scratch)]);
  }
  return rows;
}

/** The report's lines: a Markdown table, seconds. */
export async function cliStartReport(): Promise<string[]> {
  const built = performance.now();
  await buildDist();
  log(`npm run build: ${((performance.now() - built) / 1000).toFixed(2)} s`);
  const t = await stackWithDataSource();
  const scratch = mkdtempSync(join(tmpdir(), 's3c-bench-cli-'));
  let rows;
  try {
    writeFileSync(join(scratch, 'cpu.cjs'), CPU_PRELOAD);
    rows = await measureCommands(t, scratch);
  } finally {
    await t.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const cell = (timing: Timing) => `${s(timing.wallMs)} (CPU ${s(timing.cpuMs)})`;
  return [
    `CLI start, median of ${STARTS} starts: wall time (CPU time) (${new Date().toISOString()})`,
    '',
    '| command | compiled (dist/) | tsx (src/) | `node -e 0` |',
    '|---|---|---|---|',
    ...rows.map(([label, m]) => `| ${label} | **${cell(m.dist)}** | ${cell(m.src)} | ${cell(m.node)} |`),
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cliStartReport().then(
    (lines) => {
      process.stdout.write(`\n${lines.join('\n')}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
