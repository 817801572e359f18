/**
 * Steps 1 to 5 of the guided `datasource create`: the questions, each skipped
 * when its option was given (checked already: ./problems.ts).
 */
import { type ConnectionDef, checkFromTimestamp } from '../../datafiles';
import { describePattern } from '../../s3uri';
import { ask } from '../prompting';
import type { DatasourcePrompts } from './options';
import {
  bucketUriProblem,
  datasourceNameProblem,
  fromTimestampProblem,
  scheduleProblem,
  unknownConnection,
} from './problems';

type Out = (line: string) => void;

/** (1) The data source's name. */
export async function askName(prompts: DatasourcePrompts, out: Out, projectDir: string): Promise<string> {
  return ask(prompts, out, 'Data source name (letters, digits and _):', (v) => datasourceNameProblem(v, projectDir));
}

/** (2) The connection: the one given, the only one (taken without asking), or one chosen from a list. */
export async function chooseConnection(
  prompts: DatasourcePrompts,
  out: Out,
  connections: readonly ConnectionDef[],
  given: string | undefined,
): Promise<ConnectionDef> {
  if (given !== undefined) return connections.find((c) => c.name === given) as ConnectionDef;
  if (connections.length === 1) {
    const only = connections[0] as ConnectionDef;
    out(`Using the connection ${only.name} (the only S3 connection of the project).`);
    return only;
  }
  const chosen = await prompts.select<string>({
    message: 'Connection to read the bucket with:',
    choices: connections.map((c) => ({
      value: c.name,
      name: c.name,
      description: `region ${c.region}${c.endpoint ? `, endpoint ${c.endpoint}` : ''}`,
    })),
  });
  const found = connections.find((c) => c.name === chosen);
  if (!found) throw unknownConnection(chosen, connections);
  return found;
}

/** (3) The bucket URI, then what it will load. */
export async function askUri(prompts: DatasourcePrompts, out: Out, given: string | undefined): Promise<string> {
  const uri =
    given ??
    (await ask(
      prompts,
      out,
      'Bucket URI (s3://bucket/path/*.csv; * stays within a folder, ** crosses folders):',
      bucketUriProblem,
    ));
  out(`The data source will load ${describePattern(uri)}.`);
  return uri;
}

/** (4) The schedule: a choice of the @ forms, or a cron expression asked for. */
export async function askSchedule(prompts: DatasourcePrompts, out: Out): Promise<string> {
  const choice = await prompts.select<string>({
    message: 'Import schedule:',
    choices: [
      { value: '@auto', name: '@auto', description: 'load every matching file, then each new one as it lands' },
      { value: '@once', name: '@once', description: 'one run loads every matching file, then the data source rests' },
      { value: '@on-demand', name: '@on-demand', description: 'load nothing until a sync is asked for' },
      { value: 'cron', name: 'cron expression', description: 'sync on a schedule, e.g. every hour: 0 * * * *' },
    ],
    default: '@auto',
  });
  const schedule =
    choice === 'cron'
      ? await ask(prompts, out, 'Cron expression (5 fields), e.g. 0 * * * *:', scheduleProblem)
      : choice;
  const p = scheduleProblem(schedule);
  if (p !== undefined) throw new Error(p);
  return schedule;
}

/** (5) IMPORT_FROM_TIMESTAMP, optional: undefined when left empty. */
export async function askFromTimestamp(prompts: DatasourcePrompts, out: Out): Promise<string | undefined> {
  const answer = await ask(
    prompts,
    out,
    'Only load files modified at or after (YYYY-MM-DDTHH:MM:SSZ; leave empty to load every file):',
    (v) => (v === '' ? undefined : fromTimestampProblem(v)),
    { defaultValue: '' },
  );
  if (answer === '') return undefined;
  const checked = checkFromTimestamp(answer);
  return checked.ok ? checked.value : undefined;
}
