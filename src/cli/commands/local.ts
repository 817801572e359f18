/** `s3c local start`: the whole product on this machine until Ctrl-C or `s3c local stop`. */
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { localStart, localStop } from '../local';
import type { CliRun } from '../run';
import { localStateDir } from '../../util/stateLayout';

export function register(program: Command, run: CliRun): void {
  const local = program.command('local').description('Run the product locally');
  local
    .command('start')
    .description('Start a local Temporal dev server (with Web UI) and the worker; Ctrl-C stops everything')
    .option('--use-aws-creds', "pass this machine's AWS credentials (default chain, AWS_PROFILE) to assume roles")
    .option('--minio', `also start a local S3 (MinIO) with its data under ${join(localStateDir(''), 'minio')}`)
    .addOption(
      new Option('--minio-port <port>', 'port of the local MinIO (with --minio)').argParser(Number).default(9000),
    )
    .option(
      '--lake',
      `also start PostgreSQL (the DuckLake catalog) with its cluster under ${join(localStateDir(''), 'postgres')}`,
    )
    .addOption(
      new Option('--postgres-port <port>', 'port of the local PostgreSQL (with --lake)')
        .argParser(Number)
        .default(5432),
    )
    .addOption(new Option('--port <port>', 'Temporal gRPC port').argParser(Number).default(7233))
    .addOption(new Option('--ui-port <port>', 'Temporal Web UI port').argParser(Number).default(8233))
    .action(
      async (opts: {
        useAwsCreds?: boolean;
        minio?: boolean;
        minioPort: number;
        lake?: boolean;
        postgresPort: number;
        port: number;
        uiPort: number;
      }) => {
        const environment = run.environment();
        await localStart({ ...opts, projectDir: process.cwd(), ...(environment !== undefined ? { environment } : {}) });
      },
    );
  local
    .command('stop')
    .description('Stop the `s3c local start` of this project: its worker and servers (Temporal, MinIO, PostgreSQL)')
    .action(async () => {
      const environment = run.environment();
      const stopped = await localStop({
        projectDir: process.cwd(),
        ...(environment !== undefined ? { environment } : {}),
      });
      console.log(stopped ? '✓ Stopped.' : 'No `s3c local start` is running for this project.');
    });
}
