/** `s3c local start`: the whole product on this machine until Ctrl-C. */
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { localStart } from '../local';
import type { CliRun } from '../run';
import { localStateDir } from '../../util/stateLayout';

export function register(program: Command, run: CliRun): void {
  const local = program.command('local').description('Run the product locally');
  local
    .command('start')
    .description('Start a local Temporal dev server (with Web UI) and the worker; Ctrl-C stops everything')
    .option('--use-aws-creds', "pass this machine's AWS credentials (default chain, AWS_PROFILE) to assume roles")
    .option('--minio', `also start a local S3 (MinIO) with its data under ${join(localStateDir(''), 'minio')}`)
    .addOption(new Option('--minio-port <port>', 'port of the local MinIO (with --minio)').argParser(Number).default(9000))
    .addOption(new Option('--port <port>', 'Temporal gRPC port').argParser(Number).default(7233))
    .addOption(new Option('--ui-port <port>', 'Temporal Web UI port').argParser(Number).default(8233))
    .action(async (opts: { useAwsCreds?: boolean; minio?: boolean; minioPort: number; port: number; uiPort: number }) => {
      const environment = run.environment();
      await localStart({ ...opts, projectDir: process.cwd(), ...(environment !== undefined ? { environment } : {}) });
    });
}
