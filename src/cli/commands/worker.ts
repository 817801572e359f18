/** `s3c worker`: a worker against the Temporal server of temporal.yaml. */
import type { Command } from 'commander';
import type { CliRun } from '../run';

export function register(program: Command, run: CliRun): void {
  program
    .command('worker')
    .description(
      "Run a worker against the Temporal server of temporal.yaml (assumes roles with this machine's AWS credentials)",
    )
    .action(async () => {
      const { runWorkerCommand } = await import('../worker');
      await runWorkerCommand(process.cwd(), run.environment());
    });
}
