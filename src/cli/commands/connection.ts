/** `s3c connection create|ls`: connections to S3. */
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { CliError, type CliRun } from '../run';

export function register(program: Command, run: CliRun): void {
  const connection = program.command('connection').description('Connections to S3');
  connection
    .command('create')
    .argument('<type>', 'connection type: s3')
    .description(
      'Guided creation of a connection: prints the AWS policies, stores the role ARNs as secrets, writes the .connection file',
    )
    .option('--name <name>', 'connection name (asked when omitted)')
    .action(async (type: string, opts: { name?: string }) =>
      run.withContext((ctx) => createConnection(ctx, type, opts)),
    );
  connection
    .command('ls')
    .description('List the connections of this folder (secrets masked)')
    .action(async () =>
      run.withContext(async (ctx) => {
        const { formatConnectionRows, listConnections } = await import('../connectionList');
        const rows = listConnections(ctx.projectDir, ctx.lookup);
        console.log(
          rows.length > 0 ? formatConnectionRows(rows).join('\n') : 'No connections. Run `s3c connection create s3`.',
        );
      }),
    );
}

async function createConnection(ctx: CliContext, type: string, opts: { name?: string }): Promise<void> {
  if (type !== 's3') throw new CliError(`unknown connection type '${type}': expected s3`);
  const { connectionCreateS3, inquirerPrompts } = await import('../connectionCreate');
  const { input } = await import('@inquirer/prompts');
  const localAccountId = await callerAccountId();
  const cloudAccountId =
    ctx.workspace.cloudAccountId ??
    (
      await input({
        message:
          'AWS account id of your production workers (for the Cloud trust policy; set cloudAccountId in s3c.yaml to skip):',
        validate: (v) => (/^\d{12}$/.test(v.trim()) ? true : 'expected 12 digits, e.g. 123456789012'),
      })
    ).trim();
  const result = await connectionCreateS3({
    projectDir: ctx.projectDir,
    workspace: ctx.workspace.workspace,
    workspaceSecret: ctx.workspaceSecret(),
    ...(ctx.environment !== undefined ? { environment: ctx.environment } : {}),
    localAccountId,
    cloudAccountId,
    prompts: inquirerPrompts,
    out: (line) => console.log(line),
    name: opts.name,
  });
  console.log(`✓ Wrote ${result.path}`);
}

/** Account id of this machine's AWS credentials, when there are any (for the Local trust policy). */
async function callerAccountId(): Promise<string | undefined> {
  try {
    const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
    const sts = new STSClient({ region: process.env.AWS_REGION ?? 'us-east-1', maxAttempts: 1 });
    const out = await Promise.race([
      sts.send(new GetCallerIdentityCommand({})),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 3000).unref()),
    ]);
    sts.destroy();
    return out?.Account;
  } catch {
    return undefined;
  }
}
