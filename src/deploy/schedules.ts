/**
 * Temporal Schedules for cron data sources (R8.4): deploy creates, updates or
 * deletes one schedule per cron data source; each action asks the data
 * source's workflow for a sync through `scheduledSyncWorkflow`.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { DataSourceDef } from '../datafiles/types';
import { SA_DATA_SOURCE, SA_JOB_KIND } from '../contract';

/** Stable id of a data source's schedule. */
export function scheduleId(workspace: string, dataSource: string): string {
  return `schedule/${workspace}/${dataSource}`;
}

/**
 * A schedule's action: `scheduledSyncWorkflow` asks the data source's
 * workflow for a sync (cron data sources, and planned syncs: syncSchedules).
 */
export function syncAction(workspace: string, dataSource: string, taskQueue: string, workflowId: string) {
  return {
    type: 'startWorkflow' as const,
    workflowType: 'scheduledSyncWorkflow',
    args: [workspace, dataSource],
    taskQueue,
    workflowId,
    typedSearchAttributes: [
      { key: SA_DATA_SOURCE, value: dataSource },
      { key: SA_JOB_KIND, value: 'schedule' },
    ],
  };
}

/**
 * Creates the schedule of a cron data source, or updates its cron expression.
 * Returns what it did, or undefined when the data source has no cron schedule.
 */
export async function ensureSchedule(
  client: Client,
  ds: DataSourceDef,
  options: { workspace: string; controlTaskQueue: string },
): Promise<string | undefined> {
  const schedule = ds.import?.schedule;
  if (schedule?.kind !== 'cron') return undefined;
  const id = scheduleId(options.workspace, ds.name);
  const action = syncAction(options.workspace, ds.name, options.controlTaskQueue, `${ds.name}-scheduled-sync`);
  const spec = { cronExpressions: [schedule.expression] };
  try {
    const handle = client.schedule.getHandle(id);
    const current = await handle.describe();
    // The server turns cron expressions into calendars; the memo keeps the text as deployed.
    if (current.memo?.cron === schedule.expression) return undefined;
    await handle.update((prev) => ({ ...prev, spec, action }));
    return `updated schedule ${id} (${schedule.expression})`;
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  await client.schedule.create({
    scheduleId: id,
    spec,
    action,
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    memo: { dataSource: ds.name, bucketUri: ds.import?.bucketUri, cron: schedule.expression },
  });
  return `created schedule ${id} (${schedule.expression})`;
}

/** Deletes a data source's schedule if it has one. */
export async function removeSchedule(
  client: Client,
  workspace: string,
  dataSource: string,
): Promise<string | undefined> {
  const id = scheduleId(workspace, dataSource);
  try {
    await client.schedule.getHandle(id).delete();
    return `deleted schedule ${id}`;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}
