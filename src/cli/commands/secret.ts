/** `s3c secret set|ls|rm`: secrets referenced as {{ tb_secret("NAME") }} in datafiles. */
import type { Command } from 'commander';
import { CliError, type CliRun } from '../run';
import { secretsPath } from '../../util/stateLayout';

export function register(program: Command, run: CliRun): void {
  const secret = program.command('secret').description('Secrets referenced as {{ tb_secret("NAME") }} in datafiles');
  secret
    .command('set <name> <value>')
    .description(`Set a secret in the local store (${secretsPath('')}, mode 0600)`)
    .action(async (name: string, value: string) =>
      run.withContext(async (ctx) => {
        ctx.secrets.set(name, value);
        console.log(`Secret ${name} set${ctx.environment !== undefined ? ` (environment ${ctx.environment})` : ''}.`);
      }),
    );
  secret
    .command('ls')
    .description('List secret names (never values)')
    .action(async () =>
      run.withContext(async (ctx) => {
        const names = ctx.secrets.list();
        console.log(names.length > 0 ? names.join('\n') : 'No secrets.');
      }),
    );
  secret
    .command('rm <name>')
    .description('Remove a secret')
    .action(async (name: string) =>
      run.withContext(async (ctx) => {
        if (!ctx.secrets.remove(name)) throw new CliError(`secret ${name} does not exist`);
        console.log(`Secret ${name} removed.`);
      }),
    );
}
