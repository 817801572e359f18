/**
 * Applies a deploy plan (plan.ts): writes the snapshot (workers read
 * connections from it), then keeps each data source's TTL schedule, and
 * starts, signals or stops its workflow with its cron schedule and event
 * wiring. Returns a line for the user per thing done.
 */
import { relative } from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ensureLimiter } from '../client/dataSources';
import { limiterConfig, type TemporalConfig, type WorkspaceConfig } from '../config';
import { loadProject } from '../datafiles';
import type { ConnectionDef, DataSourceDef } from '../datafiles/types';
import { listPrefix } from '../s3uri';
import { mapConcurrently } from '../util/concurrency';
import {
  dataSourceWorkflowId,
  redeploySignal,
  scheduleText,
  settingsSignal,
  SA_BUCKET,
  SA_DATA_SOURCE,
  SA_SCHEDULE,
  type DataSourceWorkflowInput,
} from '../contract';
import { ensureSchedule, removeSchedule } from './schedules';
import { payloadDefinition, readDeployment, writeDeployment, type DeployedDataSource, type Deployment } from './store';
import { unschedulePlannedSyncs } from './syncSchedules';
import { removeTtlSchedule, syncTtlSchedule } from './ttlSchedules';
import type { DeployChange, DeployOptions, DeployPlan } from './types';
import { unwireDataSource, wireDataSource } from './wiring';
import { syncQueueIntakes } from './queueIntakes';

/** Input of a data source's workflow, as deploy starts it. */
export function workflowInput(
  ds: DataSourceDef,
  options: { workspace: WorkspaceConfig; temporal: TemporalConfig },
): DataSourceWorkflowInput {
  return {
    workspace: options.workspace.workspace,
    dataSource: ds,
    pollIntervalSeconds: options.workspace.pollIntervalSeconds,
    ingestTaskQueue: options.temporal.taskQueues.ingest,
    rateLimited: options.workspace.filesPerMinute > 0,
    maxHistoryEvents: options.workspace.maxHistoryEvents,
  };
}

/** What the steps of one apply share. */
interface Applying {
  client: Client;
  options: DeployOptions;
  workspace: string;
  previous: Deployment;
  next: Deployment;
  /** The project's connections (secrets resolved), for event wiring. */
  connections: Map<string, ConnectionDef>;
  /** Lines for the user. */
  done: string[];
  /** Event wiring, one data source after another (see wire). */
  wiring: { tail: Promise<unknown> };
}

/**
 * Data sources are applied at once, this many at a time: each is a few round
 * trips to Temporal (start or signal its workflow, its schedules), and done
 * one after another they added up with every data source deployed (issue 23,
 * goal 7: deploy to first row).
 */
const APPLY_WIDTH = 8;

/** Runs `step` for every change at once (APPLY_WIDTH at a time), each with lines of its own; the lines in plan order. */
async function forEachChange(
  a: Applying,
  changes: DeployChange[],
  step: (own: Applying, change: DeployChange) => Promise<void>,
): Promise<void> {
  const lines = await mapConcurrently(changes, APPLY_WIDTH, async (change) => {
    const own: Applying = { ...a, done: [] };
    await step(own, change);
    return own.done;
  });
  a.done.push(...lines.flat());
}

/**
 * Sends the workspace settings to a running data source workflow: one
 * deployed earlier keeps its input, so a changed s3c.yaml (filesPerMinute
 * raised from 0, another poll interval) reaches it only so (issue #18 item 10).
 */
async function sendSettings(client: Client, workflowId: string, input: DataSourceWorkflowInput): Promise<void> {
  const { pollIntervalSeconds, rateLimited, maxHistoryEvents } = input;
  try {
    await client.workflow
      .getHandle(workflowId)
      .signal(settingsSignal, { pollIntervalSeconds, rateLimited, maxHistoryEvents });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

/** Payloads carry a bucket URI from a secret as its reference; the snapshot keeps the value. */
function payloadDef(a: Applying, name: string): DataSourceDef {
  return payloadDefinition(a.next.dataSources[name]!);
}

/** Starts a data source's workflow; false when it already runs. */
async function startWorkflow(a: Applying, def: DataSourceDef, workflowId: string): Promise<boolean> {
  const { options } = a;
  const shown = payloadDef(a, def.name);
  const uri = shown.import!.bucketUri;
  const secretUri = uri !== def.import!.bucketUri;
  try {
    await a.client.workflow.start('dataSourceWorkflow', {
      workflowId,
      taskQueue: options.temporal.taskQueues.control,
      args: [workflowInput(shown, options)],
      typedSearchAttributes: [
        { key: SA_DATA_SOURCE, value: def.name },
        ...(secretUri ? [] : [{ key: SA_BUCKET, value: listPrefix(uri).bucket }]),
        { key: SA_SCHEDULE, value: scheduleText(def) },
      ],
      memo: { bucketUri: uri, schedule: scheduleText(def), path: relative(options.projectDir, def.path) },
      staticSummary: `${def.name}: ${uri} ${scheduleText(def)}`,
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/**
 * Turns a data source's event delivery on or off (wiring.ts), after the
 * wiring of any other data source: a bucket's notification settings are
 * read, changed and written back whole, so two at once would lose one.
 */
async function wire(a: Applying, deployed: DeployedDataSource | undefined, on: boolean): Promise<void> {
  const def = deployed?.def;
  const conn = def?.import ? a.connections.get(def.import.connectionName) : undefined;
  if (!deployed || !def || !conn) return;
  const wiring = { workspace: a.options.workspace, s3: a.options.s3, apiToken: a.options.apiToken };
  const shown = deployed.bucketUriAsWritten;
  const turn = a.wiring.tail.then(() =>
    on ? wireDataSource(def, conn, wiring, shown) : unwireDataSource(def, conn, wiring, shown),
  );
  a.wiring.tail = turn.catch(() => undefined);
  const line = await turn;
  if (line) a.done.push(line);
}

function scheduleOptions(a: Applying) {
  return { workspace: a.workspace, controlTaskQueue: a.options.temporal.taskQueues.control };
}

/** ENGINE_TTL does not need an import: every data source with one gets its schedule, and loses it with the setting. */
async function applyTtlSchedules(a: Applying, changes: DeployChange[]): Promise<void> {
  const ttlOptions = { ...scheduleOptions(a), ingestTaskQueue: a.options.temporal.taskQueues.ingest };
  const dataSources = changes.filter((change) => change.kind === 'datasource');
  await forEachChange(a, dataSources, async (own, change) => {
    const def = own.next.dataSources[change.name]?.def;
    const ttl = def
      ? await syncTtlSchedule(own.client, def, ttlOptions)
      : await removeTtlSchedule(own.client, own.workspace, change.name);
    if (ttl) own.done.push(ttl);
  });
}

/** `start` and `ensure`: the workflow runs with the workspace's settings, its cron schedule exists, its events are wired. */
async function applyStart(a: Applying, change: DeployChange, def: DataSourceDef, workflowId: string): Promise<void> {
  if (await startWorkflow(a, def, workflowId)) a.done.push(`started workflow ${workflowId}`);
  else {
    if (change.workflow === 'start') a.done.push(`workflow ${workflowId} was already running`);
    await sendSettings(a.client, workflowId, workflowInput(def, a.options));
  }
  const scheduled = await ensureSchedule(a.client, def, scheduleOptions(a));
  if (scheduled) a.done.push(scheduled);
  if (change.workflow === 'start' || change.action !== 'unchanged')
    await wire(a, a.next.dataSources[change.name], true);
}

/** `signal`: the running workflow gets the new definition; one stopped outside deploy starts with it. */
async function applySignal(a: Applying, change: DeployChange, def: DataSourceDef, workflowId: string): Promise<void> {
  try {
    await sendSettings(a.client, workflowId, workflowInput(def, a.options));
    await a.client.workflow.getHandle(workflowId).signal(redeploySignal, payloadDef(a, def.name));
    a.done.push(`updated workflow ${workflowId} (${scheduleText(def)})`);
    await wire(a, a.next.dataSources[change.name], true);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    if (await startWorkflow(a, def, workflowId)) a.done.push(`started workflow ${workflowId}`);
  }
}

/** `stop`: its schedules and event wiring go, then the workflow. */
async function applyStop(a: Applying, change: DeployChange, workflowId: string): Promise<void> {
  const removed = await removeSchedule(a.client, a.workspace, change.name);
  if (removed) a.done.push(removed);
  // Planned syncs (`datasource sync --at/--every`) would ask a workflow that no longer runs.
  for (const id of await unschedulePlannedSyncs(a.client, a.workspace, change.name))
    a.done.push(`deleted schedule ${id}`);
  await wire(a, a.previous.dataSources[change.name], false);
  try {
    await a.client.workflow
      .getHandle(workflowId)
      .terminate(change.action === 'remove' ? 'data source removed by deploy' : 'IMPORT_* settings removed by deploy');
    a.done.push(`stopped workflow ${workflowId}`);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

async function applyWorkflow(a: Applying, change: DeployChange): Promise<void> {
  const workflowId = dataSourceWorkflowId(a.workspace, change.name);
  const def = a.next.dataSources[change.name]?.def;
  if (change.workflow === 'stop') return applyStop(a, change, workflowId);
  if (!def?.import) return;
  if (change.workflow === 'signal') return applySignal(a, change, def, workflowId);
  return applyStart(a, change, def, workflowId);
}

/**
 * Applies a plan: writes the snapshot (workers read connections from it), then
 * starts, updates and stops workflows, the data sources at once.
 */
export async function applyDeploy(plan: DeployPlan, client: Client, options: DeployOptions): Promise<string[]> {
  const next = plan.next;
  if (!next) throw new Error('the deploy plan has errors; nothing was changed');
  const workspace = options.workspace.workspace;
  const previous = readDeployment(options.projectDir, workspace, options.workspace.environment);
  writeDeployment(options.projectDir, next, options.workspace.environment);
  const connections = new Map(loadProject(options.projectDir, options.lookup).connections.map((c) => [c.name, c]));
  const a: Applying = {
    client,
    options,
    workspace,
    previous,
    next,
    connections,
    done: [],
    wiring: { tail: Promise.resolve() },
  };
  // The workspace's rate limiter serves every data source: it runs before any data source workflow starts.
  // Its start and the TTL schedules are independent: at once.
  await Promise.all([
    ensureLimiter(client, limiterConfig(options.workspace), options.temporal.taskQueues.control, workspace),
    applyTtlSchedules(a, plan.changes),
  ]);
  const workflows = plan.changes.filter((change) => change.kind === 'datasource' && change.workflow);
  await forEachChange(a, workflows, applyWorkflow);
  // After the wiring: an intake starts only on a queue that exists.
  a.done.push(...(await syncQueueIntakes(a)));
  return a.done;
}
