/**
 * Runs a self-contained function on a worker thread and settles once: with
 * what `onMessage` decides, with the thread's error, or when it exits early.
 *
 * The function is sent as source text (`toString()` of its compiled form), so
 * it must stay self-contained: no imports from its module, only `require` of
 * Node built-ins (or of absolute paths passed in `workerData`), no named
 * inner functions. Used where a task's short-lived Buffers would otherwise
 * make the Temporal worker's main thread run full GCs of its large heap.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';

/** What a message from the thread means: nothing yet, or the end (a value or an error). */
export type ThreadVerdict<R> = undefined | { value: R } | { error: Error };

export function runThread<M, R>(
  program: () => void,
  workerData: unknown,
  options: {
    onMessage: (message: M) => ThreadVerdict<R>;
    /** The error when the thread fails or exits before a verdict. */
    onCrash: (what: { name: string; code?: string }) => Error;
    signal?: AbortSignal;
    resourceLimits?: ResourceLimits;
    /** Receives a function that sends the thread a message (its `parentPort` gets it). */
    onStart?: (post: (message: unknown) => void) => void;
  },
): Promise<R> {
  options.signal?.throwIfAborted();
  return new Promise<R>((resolve, reject) => {
    const worker = new Worker(`(${program.toString()})()`, { eval: true, workerData, resourceLimits: options.resourceLimits });
    options.onStart?.((message) => worker.postMessage(message));
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', abort);
      fn();
      void worker.terminate();
    };
    const abort = (): void => settle(() => reject(options.signal?.reason ?? new Error('cancelled')));
    options.signal?.addEventListener('abort', abort, { once: true });
    worker.on('message', (m: M) => {
      const verdict = options.onMessage(m);
      if (!verdict) return;
      if ('error' in verdict) settle(() => reject(verdict.error));
      else settle(() => resolve(verdict.value));
    });
    worker.once('error', (e) => settle(() => reject(options.onCrash({ name: e.name, code: (e as { code?: string }).code }))));
    worker.once('exit', (code) => settle(() => reject(options.onCrash({ name: 'ThreadExited', code: String(code) }))));
  });
}
