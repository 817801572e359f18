/**
 * What every part of `npm run bench` shares: where its data lives, its log
 * line, its knobs from the environment, the median.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = fileURLToPath(new URL('.', import.meta.url));
/** Generated files, MinIO's data and the results (git-ignored). */
export const dataRoot = join(benchDir, 'data');
/** The bucket of the bench's objects in MinIO. */
export const BUCKET = 'bench';

export const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** A number from the environment, or its default. */
export const envNumber = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);

/** How often the bench asks a data source for its state (a user watching the Web UI, not a load on the worker). */
export const POLL_MS = envNumber('BENCH_POLL_MS', 1000);

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The machine's 1-minute load average, written beside every figure (2 cores shared with other work). */
export const loadText = () => `load ${loadavg()[0]!.toFixed(1)}`;

export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
