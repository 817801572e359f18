/** `s3c sql "SELECT …"`: a read-only query, answered by the worker that owns the database (docs/querying.md). */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { SQL_FORMATS, sqlCsv, sqlJson, sqlTable, truncationNote, type SqlFormat } from '../../client/sqlFormat';
import {
  SQL_DEFAULT_ROW_LIMIT,
  SQL_DEFAULT_TIMEOUT_MS,
  SQL_MAX_ROW_LIMIT,
  SQL_MAX_TIMEOUT_MS,
} from '../../contract/sql';
import type { CliRun } from '../run';

/** A whole number from `min` to `max`, or commander's usage error. */
function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

export function register(program: Command, run: CliRun): void {
  program
    .command('sql <query>')
    .description(
      'Run a read-only query (SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) on the loaded tables, also while loads run',
    )
    .addOption(new Option('--format <format>', 'output').choices(SQL_FORMATS).default('table'))
    .option(
      '--limit <rows>',
      `rows at most (1 to ${SQL_MAX_ROW_LIMIT})`,
      wholeNumber(1, SQL_MAX_ROW_LIMIT),
      SQL_DEFAULT_ROW_LIMIT,
    )
    .option(
      '--timeout <seconds>',
      `stop the query after this long (1 to ${SQL_MAX_TIMEOUT_MS / 1000})`,
      wholeNumber(1, SQL_MAX_TIMEOUT_MS / 1000),
      SQL_DEFAULT_TIMEOUT_MS / 1000,
    )
    .action(async (query: string, opts: { format: SqlFormat; limit: number; timeout: number }) =>
      run.withContext(async (ctx) => {
        // Loaded when the command runs: `s3c --help` loads no Temporal client.
        const { runSqlQuery } = await import('../../client/sql');
        const result = await runSqlQuery(await ctx.client(), query, {
          temporal: ctx.temporal,
          workspace: ctx.workspace,
          rowLimit: opts.limit,
          timeoutMs: opts.timeout * 1000,
        });
        const format = opts.format;
        if (format === 'table') return void process.stdout.write(sqlTable(result, opts.limit));
        process.stdout.write(
          format === 'json' ? `${JSON.stringify(sqlJson(result, opts.limit), null, 2)}\n` : sqlCsv(result),
        );
        const note = truncationNote(result, opts.limit);
        if (note) process.stderr.write(`${note}\n`);
      }),
    );
}
