/**
 * ENGINE_TTL on DuckDB (issue 19, item 6): one Temporal Schedule per data
 * source with an ENGINE_TTL (`ttl/<workspace>/<name>`), whose action,
 * `expireRowsWorkflow`, deletes the expired rows. Deploy creates, updates and
 * deletes it; `datasource ls` reads its last run.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { checkTtl, ttlText } from '../datafiles/ttl';
import type { DataSourceDef } from '../datafiles/types';
import type { ExpireRowsWorkflowInput, ExpireRowsWorkflowResult } from '../workflows/expireRows';
import { SA_DATA_SOURCE, SA_JOB_KIND } from '../contract';

/**
 * How often expired rows are deleted. ClickHouse also deletes them lazily
 * (at merges, by default at most every 4 hours); an hour keeps a table close
 * to its TTL without a DELETE scan every few minutes.
 */
export const TTL_INTERVAL = '1 hour';

export interface TtlScheduleOptions {
  workspace: string;
  controlTaskQueue: string;
  ingestTaskQueue: string;
}

/** Stable id of a data source's TTL schedule. */
export function ttlScheduleId(workspace: string, dataSource: string): string {
  return `ttl/${workspace}/${dataSource}`;
}

/** The schedule's workflow input, or undefined when the data source has no ENGINE_TTL. */
function ttlInput(ds: DataSourceDef, options: TtlScheduleOptions): ExpireRowsWorkflowInput | undefined {
  if (ds.ttl === undefined) return undefined;
  const checked = checkTtl(ds.ttl, ds.schema);
  // The parser refused anything else at deploy; a definition deployed before the grammar has no schedule.
  if (!checked.ok) return undefined;
  return {
    workspace: options.workspace,
    dataSource: ds.name,
    ttl: checked.value,
    ingestTaskQueue: options.ingestTaskQueue,
  };
}

function scheduleAction(input: ExpireRowsWorkflowInput, controlTaskQueue: string) {
  return {
    type: 'startWorkflow' as const,
    workflowType: 'expireRowsWorkflow',
    args: [input],
    taskQueue: controlTaskQueue,
    workflowId: `${input.dataSource}-ttl`,
    typedSearchAttributes: [
      { key: SA_DATA_SOURCE, value: input.dataSource },
      { key: SA_JOB_KIND, value: 'ttl' },
    ],
    staticSummary: `delete rows of ${input.dataSource} past ENGINE_TTL ${ttlText(input.ttl)}`,
  };
}

/**
 * Creates, updates or (when ENGINE_TTL is gone) deletes a data source's TTL
 * schedule. Returns a line for the user, or undefined when nothing changed.
 */
export async function syncTtlSchedule(
  client: Client,
  ds: DataSourceDef,
  options: TtlScheduleOptions,
): Promise<string | undefined> {
  const input = ttlInput(ds, options);
  if (!input) return removeTtlSchedule(client, options.workspace, ds.name);
  const id = ttlScheduleId(options.workspace, ds.name);
  const action = scheduleAction(input, options.controlTaskQueue);
  const what = `${id} (every ${TTL_INTERVAL}: delete rows where ${ttlText(input.ttl)} has passed)`;
  try {
    const handle = client.schedule.getHandle(id);
    const current = await handle.describe();
    // The action's input is the whole rule: compare it rather than a memo, which an update cannot change.
    const deployed = current.action.type === 'startWorkflow' ? current.action.args?.[0] : undefined;
    if (JSON.stringify(deployed) === JSON.stringify(input)) return undefined;
    await handle.update((prev) => ({ ...prev, action }));
    return `updated TTL schedule ${what}`;
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  await client.schedule.create({
    scheduleId: id,
    spec: { intervals: [{ every: TTL_INTERVAL }] },
    action,
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    memo: { dataSource: ds.name },
  });
  return `created TTL schedule ${what}`;
}

/** Deletes a data source's TTL schedule if it has one. */
export async function removeTtlSchedule(
  client: Client,
  workspace: string,
  dataSource: string,
): Promise<string | undefined> {
  const id = ttlScheduleId(workspace, dataSource);
  try {
    await client.schedule.getHandle(id).delete();
    return `deleted TTL schedule ${id}`;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/**
 * The last TTL run of a data source, for listings: `deleted 12 at <time>`,
 * `running since <time>`, `not run yet`, its failure; undefined when it has
 * no TTL schedule.
 */
export async function lastTtlRun(client: Client, workspace: string, dataSource: string): Promise<string | undefined> {
  let description;
  try {
    description = await client.schedule.getHandle(ttlScheduleId(workspace, dataSource)).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
  const last = description.info.recentActions.at(-1);
  if (!last) return 'not run yet';
  const run = client.workflow.getHandle(last.action.workflow.workflowId, last.action.workflow.firstExecutionRunId);
  try {
    const status = (await run.describe()).status.name;
    if (status === 'RUNNING') return `running since ${last.takenAt.toISOString()}`;
    if (status !== 'COMPLETED') return `last run ${status.toLowerCase()} (${last.takenAt.toISOString()})`;
    const result = (await run.result()) as ExpireRowsWorkflowResult;
    return 'refused' in result ? `last run refused: ${result.refused}` : `deleted ${result.deleted} at ${result.at}`;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'last run no longer retained';
    throw err;
  }
}
