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
