/**
 * The queue intake's workflows and queues, per connection (docs/events-aws.md):
 * after the data sources were wired, deploy starts `queueIntakeWorkflow` for
 * each connection whose `@auto` data sources use the queue, and stops it, and
 * deletes the queue, when the last of them is gone. A second deploy of the
 * same project finds everything running and changes nothing.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { disableEventBridge } from '../aws/notifications';
import {
  bucketsEnabledByUs,
  deleteIntakeQueue,
  intakeQueueNames,
  queueUrl,
  unmarkEventBridgeEnabled,
} from '../aws/queueIntake';
import {
  eventsTaskQueue,
  queueIntakeWorkflowId,
  stopQueueIntakeSignal,
  type QueueIntakeInput,
} from '../contract/queueIntake';
import type { ConnectionDef } from '../datafiles/types';
import { followsEvents } from '../events/route';
import { listPrefix } from '../s3uri';
import type { Deployment } from './store';
import type { DeployOptions } from './types';
import { intakeMode } from './wiring';

/** What the queue step needs of an apply. */
export interface QueueIntakeApply {
  client: Client;
  options: DeployOptions;
  previous: Deployment;
  next: Deployment;
  connections: Map<string, ConnectionDef>;
}

function describe(err: unknown): string {
  const name = (err as { name?: string }).name ?? 'Error';
  const message = err instanceof Error ? err.message : String(err);
  return message.startsWith(name) ? message : `${name}: ${message}`;
}

/** Names of the connections that `@auto` data sources of `deployment` import from. */
function autoConnections(deployment: Deployment): Set<string> {
  const names = new Set<string>();
  for (const { def } of Object.values(deployment.dataSources)) {
    if (def.import && followsEvents(def)) names.add(def.import.connectionName);
  }
  return names;
}

/** The buckets that `@auto` data sources of `deployment` on connection `conn` follow. */
function autoBuckets(deployment: Deployment, conn: string): Set<string> {
  const buckets = new Set<string>();
  for (const { def } of Object.values(deployment.dataSources)) {
    if (def.import?.connectionName === conn && followsEvents(def)) buckets.add(listPrefix(def.import.bucketUri).bucket);
  }
  return buckets;
}

/**
 * Turns EventBridge delivery off on the buckets that no `@auto` data source
 * of the connection follows any more, where deploy had turned it on (the
 * queue's tags say so); the owner's other notifications stay as they were.
 * Bucket names are not shown: a URI may come from a secret.
 */
async function restoreBuckets(a: QueueIntakeApply, conn: ConnectionDef): Promise<string[]> {
  const sqs = a.options.s3.sqsFor(conn);
  const url = await queueUrl(sqs, intakeQueueNames(a.options.workspace.workspace, conn.name).queue);
  if (!url) return [];
  const followed = autoBuckets(a.next, conn.name);
  let turnedOff = 0;
  for (const bucket of await bucketsEnabledByUs(sqs, url)) {
    if (followed.has(bucket)) continue;
    if ((await disableEventBridge(a.options.s3.clientFor(conn), bucket)).changed) turnedOff++;
    await unmarkEventBridgeEnabled(sqs, url, bucket);
  }
  return turnedOff > 0
    ? [
        `events: EventBridge delivery turned off again on ${turnedOff} bucket(s) of connection ${conn.name} that deploy had turned it on for`,
      ]
    : [];
}

/** Starts a connection's intake when its queue exists (wiring may have failed: then its data sources poll). */
async function startIntake(a: QueueIntakeApply, conn: ConnectionDef): Promise<string | undefined> {
  const workspace = a.options.workspace.workspace;
  const queueName = intakeQueueNames(workspace, conn.name).queue;
  if (!(await queueUrl(a.options.s3.sqsFor(conn), queueName))) return undefined;
  const workflowId = queueIntakeWorkflowId(workspace, conn.name);
  const input: QueueIntakeInput = {
    workspace,
    connectionName: conn.name,
    queueName,
    activityTaskQueue: eventsTaskQueue(a.options.temporal.taskQueues.ingest),
  };
  try {
    await a.client.workflow.start('queueIntakeWorkflow', {
      workflowId,
      taskQueue: a.options.temporal.taskQueues.control,
      args: [input],
      staticSummary: `S3 events of connection ${conn.name} from SQS queue ${queueName}`,
    });
    return `started workflow ${workflowId} (drains SQS queue ${queueName})`;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
    throw err;
  }
}

/** Stops a connection's intake and deletes its queues. */
async function stopIntake(a: QueueIntakeApply, conn: ConnectionDef): Promise<string[]> {
  const workspace = a.options.workspace.workspace;
  const done: string[] = [];
  const workflowId = queueIntakeWorkflowId(workspace, conn.name);
  try {
    await a.client.workflow.getHandle(workflowId).signal(stopQueueIntakeSignal);
    done.push(`stopped workflow ${workflowId}`);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  try {
    const deleted = await deleteIntakeQueue(a.options.s3.sqsFor(conn), workspace, conn.name);
    if (deleted.length > 0) done.push(`events: deleted SQS queue(s) ${deleted.join(', ')}`);
  } catch (err) {
    done.push(`events: could not delete the SQS queues of connection ${conn.name} (${describe(err)})`);
  }
  return done;
}

/** Starts and stops the connections' queue intakes for the new snapshot; returns lines for the user. */
export async function syncQueueIntakes(a: QueueIntakeApply): Promise<string[]> {
  const done: string[] = [];
  const wanted = autoConnections(a.next);
  const had = autoConnections(a.previous);
  for (const conn of a.connections.values()) {
    if (intakeMode(conn, a.options.workspace) !== 'queue') continue;
    if (wanted.has(conn.name)) {
      try {
        const started = await startIntake(a, conn);
        if (started) done.push(started);
      } catch (err) {
        done.push(
          `events: could not start the queue intake of connection ${conn.name} (${describe(err)}); its @auto data sources poll`,
        );
      }
    }
    if (!had.has(conn.name)) continue;
    try {
      done.push(...(await restoreBuckets(a, conn)));
    } catch (err) {
      done.push(`events: could not restore the bucket notifications of connection ${conn.name} (${describe(err)})`);
    }
    if (!wanted.has(conn.name)) done.push(...(await stopIntake(a, conn)));
  }
  return done;
}
