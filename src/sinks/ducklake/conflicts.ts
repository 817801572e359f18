/**
 * Commit conflicts between workers on a DuckLake (docs/ducklake.md): a
 * commit that DuckLake refuses committed nothing, so the operation is run
 * again from the start, after a growing, jittered wait. A load run again
 * first looks in the ledger, so a version a rival committed is not loaded
 * twice. Bounded: after MAX_ATTEMPTS the conflict is thrown (the activity's
 * own retry takes over).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { LoadedMeanwhileError } from './tokens';

export const MAX_ATTEMPTS = 12;
const FIRST_WAIT_MS = 50;
const MAX_WAIT_MS = 5_000;

/** Whether `e` is DuckLake refusing a commit (a conflict with another transaction, or the catalog's own retries spent). */
export function isCommitConflict(e: unknown): boolean {
  if (e instanceof LoadedMeanwhileError) return true;
  const text = e instanceof Error ? e.message : String(e);
  return /Transaction conflict - |Failed to commit DuckLake transaction/.test(text);
}

/** The wait before attempt `attempt` (2, 3, …): doubling from FIRST_WAIT_MS up to MAX_WAIT_MS, times 0.5–1.5 so that rivals drift apart. */
export function conflictWaitMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (attempt - 2));
  return Math.round(base * (0.5 + random()));
}

/** Counts of what the retries did, for tests and diagnostics. */
export interface ConflictStats {
  conflicts: number;
}

/** Runs `fn`, again after each commit conflict, at most MAX_ATTEMPTS times. */
export async function retryConflicts<T>(fn: () => Promise<T>, stats?: ConflictStats): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isCommitConflict(e) || attempt >= MAX_ATTEMPTS) throw e;
      if (stats) stats.conflicts++;
      await sleep(conflictWaitMs(attempt + 1));
    }
  }
}
