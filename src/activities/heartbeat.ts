import { Context } from '@temporalio/activity';

/**
 * A heartbeat that lets at most one call a second through. Each heartbeat
 * costs the worker's main thread ~0.5 ms (encoding, the worker's heartbeat
 * stream, the call into its core), and the core sends at most one per
 * throttle interval to the server anyway: per file, they added up to ~1 ms of
 * a many-small-files load.
 */
export function heartbeater(intervalMs = 1000): (details: unknown) => void {
  const ctx = Context.current();
  let last = Number.NEGATIVE_INFINITY;
  return (details) => {
    const now = performance.now();
    if (now - last < intervalMs) return;
    last = now;
    ctx.heartbeat(details);
  };
}

/**
 * Runs a long sink call while heartbeating, so a short heartbeat timeout
 * finds a dead worker fast without killing a long load on a live one.
 */
export async function whileHeartbeating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat({ loading: true }), 5000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
