/**
 * `s3c`: the command line (R11). Run it from the folder that holds the
 * datafiles. Arguments are parsed with commander; prompts use
 * @inquirer/prompts. Exit codes are non-zero on failure. Each command group
 * registers itself from `commands/`.
 */
import { Command } from 'commander';
import { selectedEnvironment } from '../environment';
import { stateDir } from '../util/stateLayout';
import * as api from './commands/api';
import * as connection from './commands/connection';
import * as datasource from './commands/datasource';
import * as deploy from './commands/deploy';
import * as job from './commands/job';
import * as local from './commands/local';
import * as secret from './commands/secret';
import * as worker from './commands/worker';
import { cliRun } from './run';

export { CliError } from './run';

/** In the order `s3c --help` lists them. */
const COMMAND_GROUPS = [deploy, local, worker, api, connection, datasource, job, secret];

export function buildProgram(): Command {
  /** The environment of this run (`--env`, else `S3C_ENV`); set by the program's preAction hook. */
  let environment: string | undefined;
  const program = new Command('s3c')
    .description('Loads CSV, NDJSON and Parquet files from S3 buckets into tables, durably, on Temporal')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) })
    .option(
      '--env <name>',
      `target environment: reads temporal.NAME.yaml and s3c.NAME.yaml, and keeps secrets and deployment state in ${stateDir('', 'NAME')} (default: S3C_ENV, else the files of the folder)`,
    )
    .hook('preAction', () => {
      environment = selectedEnvironment(program.opts<{ env?: string }>().env);
    });
  const run = cliRun(() => environment);
  for (const group of COMMAND_GROUPS) group.register(program, run);
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`Error: ${message}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  await main();
}
