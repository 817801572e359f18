/**
 * The queue intake's workflows and queues, per connection (docs/events-aws.md):
 * after the data sources were wired, deploy starts `queueIntakeWorkflow` for
 * each connection whose `@auto` data sources use the queue, and stops it, and
 * deletes the queue, when the last of them is gone. A second deploy of the
 * same project finds everything running and changes nothing.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { deleteIntakeQueue, intakeQueueNames, queueUrl } from '../aws/queueIntake';
import { queueIntakeWorkflowId, stopQueueIntakeSignal, type QueueIntakeInput } from '../contract/queueIntake';
import type { ConnectionDef } from '../datafiles/types';
import { followsEvents } from '../events/route';
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

/** Starts a connection's intake when its queue exists (wiring may have failed: then its data sources poll). */
async function startIntake(a: QueueIntakeApply, conn: ConnectionDef): Promise<string | undefined> {
  const workspace = a.options.workspace.workspace;
  const queueName = intakeQueueNames(workspace, conn.name).queue;
  if (!(await queueUrl(a.options.s3.sqsFor(conn), queueName))) return undefined;
  const workflowId = queueIntakeWorkflowId(workspace, conn.name);
  const input: QueueIntakeInput = { workspace, connectionName: conn.name, queueName, activityTaskQueue: a.options.temporal.taskQueues.ingest };
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
        done.push(`events: could not start the queue intake of connection ${conn.name} (${describe(err)}); its @auto data sources poll`);
      }
    } else if (had.has(conn.name)) {
      done.push(...(await stopIntake(a, conn)));
    }
  }
  return done;
}
