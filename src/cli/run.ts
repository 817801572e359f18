/**
 * What every `s3c` command shares: the error whose message is the whole
 * story, and the context of a run (the `--env` environment, the project's
 * configuration and clients).
 */
import { TerminalError } from '../util/errors';
// Types only: the context loads the configuration, AWS and Temporal modules, which
// a command loads when it runs, not for `s3c --help` (see docs/performance.md).
import type { CliContext, CliContextOptions } from './context';

/** An error whose message is the whole story: printed without a stack. */
export class CliError extends TerminalError {
  readonly type = 'CliError';
}

/** Handed to each command group's `register`: the run's environment and its context. */
export interface CliRun {
  /** The environment of this run (`--env`, else `S3C_ENV`); known once the program's preAction hook ran. */
  environment(): string | undefined;
  /** Runs `fn` with the context of the current folder, closed afterwards. */
  withContext<T>(fn: (ctx: CliContext) => Promise<T>, options?: CliContextOptions): Promise<T>;
}

/** A run whose environment is read from `environment()` when a command acts. */
export function cliRun(environment: () => string | undefined): CliRun {
  return {
    environment,
    async withContext<T>(fn: (ctx: CliContext) => Promise<T>, options: CliContextOptions = {}): Promise<T> {
      const env = environment();
      const { cliContext } = await import('./context');
      const ctx = cliContext(process.cwd(), { ...options, ...(env !== undefined ? { environment: env } : {}) });
      try {
        return await fn(ctx);
      } finally {
        await ctx.close();
      }
    },
  };
}
