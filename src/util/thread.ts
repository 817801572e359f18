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
import { setFlagsFromString } from 'node:v8';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * The old-generation size below which a new thread's V8 heap does not run
 * full GCs, for every thread this process starts from now on (the main
 * thread's heap exists already and keeps its own).
 *
 * Why: a thread streaming a large object (a 1 GB download) hands V8 a Buffer
 * per network read. That external memory forces a scavenge every ~16 MB, and
 * the Buffers still queued for the file are promoted each time. A new heap's
 * old generation starts small, so it ran a full GC every ~70 MB: the thread
 * spent 3.8-4.5 s of CPU on a 1.4 GB download that costs the main thread of a
 * fresh process 2.1-2.4 s. With 64 MiB it took 2.4-2.5 s (128 MiB: no
 * better). This is where the heap starts, not a limit: a thread may hold up
 * to that much garbage before its first full GC, V8 then sizes the heap
 * from what survived, and `resourceLimits` still cap a thread.
 *
 * V8 reads the flag when it creates a heap, so setting it before each thread
 * starts is enough; it is the same value each time.
 */
export function sizeNewThreadHeaps(): void {
  setFlagsFromString('--initial-old-space-size=64');
}

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
    sizeNewThreadHeaps();
    const worker = new Worker(`(${program.toString()})()`, {
      eval: true,
      workerData,
      resourceLimits: options.resourceLimits,
    });
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
    worker.once('error', (e) =>
      settle(() => reject(options.onCrash({ name: e.name, code: (e as { code?: string }).code }))),
    );
    worker.once('exit', (code) => settle(() => reject(options.onCrash({ name: 'ThreadExited', code: String(code) }))));
  });
}
