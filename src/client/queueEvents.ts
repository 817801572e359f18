/**
 * What `datasource ls` (and the Web UI, through the intake workflow's query)
 * shows of the SQS queue intake: per `@auto` data source, how many objects
 * its events announced and when the last came, or that its connection has
 * no intake running (then it polls).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { queueIntakeStateQuery, queueIntakeWorkflowId, type QueueIntakeState } from '../contract/queueIntake';
import type { WorkspaceConfig } from '../config';
import { intakeMode } from '../deploy/wiring';
import type { Deployment } from '../deploy/store';
import { followsEvents } from '../events/route';

/** The intake's state of a connection; undefined when none runs, an Error when it does not answer. */
async function intakeState(
  client: Client,
  workspace: string,
  connection: string,
): Promise<QueueIntakeState | Error | undefined> {
  try {
    return await client.workflow.getHandle(queueIntakeWorkflowId(workspace, connection)).query(queueIntakeStateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    return err instanceof Error ? err : new Error(String(err));
  }
}

function eventLine(
  name: string,
  state: QueueIntakeState | Error | undefined,
  connection: string,
  pollSeconds: number,
): string {
  if (state instanceof Error)
    return `events: the queue intake of connection ${connection} does not answer (${state.message.split('\n')[0]})`;
  if (!state || state.stopping)
    return `events: no queue intake runs for connection ${connection} (see \`s3c deploy\`); ${name} polls every ${pollSeconds}s`;
  const seen = state.counters.byDataSource[name];
  const via = `through SQS queue ${state.queueName}`;
  return seen ? `events: ${seen.objects} object(s) ${via}, the last at ${seen.lastEventAt}` : `events: none yet ${via}`;
}

/** Data source name → its events line, for the `@auto` data sources whose connection uses the queue intake. */
export async function queueEventLines(
  client: Client,
  workspace: WorkspaceConfig,
  deployment: Deployment,
): Promise<Map<string, string>> {
  const byConnection = new Map<string, string[]>();
  for (const [name, { def }] of Object.entries(deployment.dataSources)) {
    const conn = def.import && deployment.connections[def.import.connectionName];
    if (!conn || !followsEvents(def) || intakeMode(conn, workspace) !== 'queue') continue;
    byConnection.set(conn.name, [...(byConnection.get(conn.name) ?? []), name]);
  }
  const lines = new Map<string, string>();
  await Promise.all(
    [...byConnection].map(async ([connection, names]) => {
      const state = await intakeState(client, workspace.workspace, connection);
      for (const name of names) lines.set(name, eventLine(name, state, connection, workspace.pollIntervalSeconds));
    }),
  );
  return lines;
}
