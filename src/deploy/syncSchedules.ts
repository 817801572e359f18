/**
 * Planned syncs (issue 19, item 7): `s3c datasource sync NAME --at <ISO time>`
 * or `--every <cron>` create Temporal Schedules
 * (`sync/<workspace>/<name>/at-…` or `…/every-…`) whose action asks the data
 * source's workflow for a sync, as a cron IMPORT_SCHEDULE does; an `@once` or
 * `@on-demand` data source can so be synced at planned times, and operators
 * see, pause or trigger them from the Temporal side. `--unschedule` deletes
 * them, and so does deploy when the data source's import goes.
 */
import {
  MONTHS,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleSpec,
} from '@temporalio/client';
import { checkCron } from '../datafiles/cron';
import { checkFromTimestamp } from '../datafiles/settings';
import { syncAction } from './schedules';

/** When a planned sync runs: once at an instant, or on a cron expression (UTC). */
export type PlannedSync = { at: string } | { every: string };

export interface PlannedSyncOptions {
  workspace: string;
  dataSource: string;
  controlTaskQueue: string;
}

/** The id prefix of a data source's planned syncs; ends with `/` so that `ab` is not taken for `a`. */
function idPrefix(workspace: string, dataSource: string): string {
  return `sync/${workspace}/${dataSource}/`;
}

/**
 * Checks the user's `--at` or `--every` and gives the schedule's id suffix and
 * spec; throws an Error that says what to write instead.
 */
export function plannedSyncSpec(
  plan: PlannedSync,
  now = new Date(),
): { suffix: string; spec: ScheduleSpec; once: boolean; text: string } {
  if ('at' in plan) {
    const checked = checkFromTimestamp(plan.at);
    if (!checked.ok)
      throw new Error(
        `--at ${JSON.stringify(plan.at)}: expected an ISO instant with its offset, e.g. 2030-01-31T06:00:00Z`,
      );
    const at = new Date(checked.value);
    if (at.getTime() <= now.getTime())
      throw new Error(`--at ${checked.value} is in the past (now ${now.toISOString()})`);
    // A calendar of one instant (UTC): it matches once, and remainingActions keeps it from ever running again.
    const calendar = {
      year: at.getUTCFullYear(),
      month: MONTHS[at.getUTCMonth()]!,
      dayOfMonth: at.getUTCDate(),
      hour: at.getUTCHours(),
      minute: at.getUTCMinutes(),
      second: at.getUTCSeconds(),
      comment: `once at ${checked.value}`,
    };
    return { suffix: `at-${checked.value}`, spec: { calendars: [calendar] }, once: true, text: `at ${checked.value}` };
  }
  const checked = checkCron(plan.every.trim());
  if (!checked.ok)
    throw new Error(
      `--every ${JSON.stringify(plan.every)}: ${checked.problem.what}, expected ${checked.problem.expected}`,
    );
  return {
    suffix: `every-${checked.value.replace(/\s+/g, '_')}`,
    spec: { cronExpressions: [checked.value] },
    once: false,
    text: `every ${checked.value} (UTC)`,
  };
}

/** Creates a planned sync schedule; returns a line for the user. */
export async function schedulePlannedSync(
  client: Client,
  plan: PlannedSync,
  options: PlannedSyncOptions,
): Promise<string> {
  const { suffix, spec, once, text } = plannedSyncSpec(plan);
  const id = `${idPrefix(options.workspace, options.dataSource)}${suffix}`;
  try {
    await client.schedule.create({
      scheduleId: id,
      spec,
      action: {
        ...syncAction(
          options.workspace,
          options.dataSource,
          options.controlTaskQueue,
          `${options.dataSource}-planned-sync`,
        ),
        staticSummary: `planned sync of ${options.dataSource} ${text}`,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
      ...(once ? { state: { remainingActions: 1 } } : {}),
      memo: { dataSource: options.dataSource, planned: text },
    });
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning)
      return `a sync of ${options.dataSource} is already planned ${text} (schedule ${id})`;
    throw err;
  }
  return `planned a sync of ${options.dataSource} ${text}: schedule ${id} (remove with \`s3c datasource sync ${options.dataSource} --unschedule\`)`;
}

/** Deletes every planned sync of a data source; returns the ids deleted. */
export async function unschedulePlannedSyncs(client: Client, workspace: string, dataSource: string): Promise<string[]> {
  const prefix = idPrefix(workspace, dataSource);
  const ids: string[] = [];
  for await (const schedule of client.schedule.list()) {
    if (schedule.scheduleId.startsWith(prefix)) ids.push(schedule.scheduleId);
  }
  const deleted: string[] = [];
  for (const id of ids) {
    try {
      await client.schedule.getHandle(id).delete();
      deleted.push(id);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return deleted;
}
