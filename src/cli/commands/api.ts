/** `s3c api`: the HTTP API against the Temporal server of temporal.yaml, until Ctrl-C. */
import { Option, type Command } from 'commander';
import type { CliContext } from '../context';
import type { CliRun } from '../run';

interface ApiOptions {
  host?: string;
  port?: number;
}

export function register(program: Command, run: CliRun): void {
  program
    .command('api')
    .description(
      "Run the HTTP API (jobs, sample imports, scheduling, policies, the S3 event endpoint) against temporal.yaml's Temporal until Ctrl-C",
    )
    .option('--host <host>', 'address to listen on (default: api.host of s3c.yaml, 127.0.0.1)')
    .addOption(new Option('--port <port>', 'port to listen on (default: api.port of s3c.yaml, 7181)').argParser(Number))
    .action(async (opts: ApiOptions) => run.withContext((ctx) => serveApi(ctx, opts)));
}

async function serveApi(ctx: CliContext, opts: ApiOptions): Promise<void> {
  const { loadApiToken, startApi } = await import('../../api');
  const token = loadApiToken(ctx.projectDir, process.env, ctx.environment);
  const client = await ctx.client();
  const api = await startApi({
    client,
    projectDir: ctx.projectDir,
    workspace: ctx.workspace,
    temporal: ctx.temporal,
    token: token.token,
    workspaceSecret: ctx.workspaceSecret(),
    cloudAccountId: ctx.workspace.cloudAccountId,
    host: opts.host ?? ctx.workspace.api.host,
    port: opts.port ?? ctx.workspace.api.port,
  });
  console.log(
    `API listening on ${api.url} (Temporal ${ctx.temporal.temporal.address}, namespace ${ctx.temporal.temporal.namespace})`,
  );
  console.log(
    `Token: ${token.created ? 'created in' : 'from'} ${token.source}; send it as "Authorization: Bearer <token>" or ?token=<token>`,
  );
  console.log(`S3 event endpoint: ${api.url}/v0/events/s3`);
  console.log('Ctrl-C stops.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await api.close();
  console.log('API stopped.');
}
