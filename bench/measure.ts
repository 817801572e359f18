/**
 * What a run costs besides its wall time: the worker's peak RSS and the CPU
 * seconds of the worker, MinIO and the Temporal server (Linux /proc).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { BaselineResult } from './baseline';
import type { BenchStack } from './stack';

/** Resets a process's peak RSS (Linux), so that VmHWM measures one load. */
export function resetPeakRss(pid: number | 'self' = 'self'): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    /* not Linux: the peak then covers the whole run */
  }
}

/** A process's peak RSS (MB) since it started or since {@link resetPeakRss}. */
export function peakRssMb(pid: number | 'self' = 'self'): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

/**
 * CPU time (ms) a process has used so far, with its waited-for children, from
 * /proc (Linux; NaN elsewhere). Clock ticks are 1/100 s on Linux.
 */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return Number.NaN;
  }
}

export interface CpuUse {
  workerMs: number;
  minioMs: number;
  temporalMs: number;
}

/** CPU ms of the workers: this process's own (not its CLI children's), or the worker processes'. */
function workersCpuMs(pids: number[]): () => number {
  if (pids.length === 1 && pids[0] === process.pid) {
    const w0 = process.cpuUsage();
    return () => {
      const w = process.cpuUsage(w0);
      return (w.user + w.system) / 1000;
    };
  }
  const at = () => pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0);
  const w0 = at();
  return () => at() - w0;
}

/** Starts counting the CPU time of the workers, MinIO and the Temporal server; call the result to read it. */
export function cpuMeter(t: BenchStack): () => CpuUse {
  const temporalPid = t.stack.temporalServer.pid;
  const workers = workersCpuMs(t.workerPids());
  const m0 = cpuMsOf(t.minio.pid);
  const s0 = cpuMsOf(temporalPid);
  return () => ({
    workerMs: workers(),
    minioMs: cpuMsOf(t.minio.pid) - m0,
    temporalMs: cpuMsOf(temporalPid) - s0,
  });
}

/** The CPU time of MinIO and the Temporal server while `fn` (the baseline's child process) runs. */
export async function withCpu<T>(t: BenchStack, fn: () => Promise<T>): Promise<T & { cpu: CpuUse }> {
  const meter = cpuMeter(t);
  const r = await fn();
  return { ...r, cpu: meter() };
}

const cpuText = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
/** The CPU seconds of a baseline run and of a product run (deploy to committed; the worker's includes the bench's state polls). */
export const cpuLine = (b: BaselineResult & { cpu: CpuUse }, p: { cpu: CpuUse }) =>
  `CPU: baseline ${cpuText(b.cpuMs)} + MinIO ${cpuText(b.cpu.minioMs)}; ` +
  `product worker ${cpuText(p.cpu.workerMs)} + MinIO ${cpuText(p.cpu.minioMs)} + Temporal ${cpuText(p.cpu.temporalMs)}`;
