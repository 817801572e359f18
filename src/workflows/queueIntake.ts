/**
 * The SQS queue intake of one connection (SPEC R9.3, docs/events-aws.md):
 * rounds of the `drainQueue` activity, which turns the queue's EventBridge
 * events into `objectsCreated` signals of the data source workflows and
 * deletes each message only after its signals were accepted. This workflow
 * keeps the counters (`queueIntakeStateQuery`) and survives worker restarts:
 * a round cut by a restart is retried, and the messages it had not deleted
 * come back to the next one.
 */
import {
  CancellationScope,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  addCounters,
  noCounters,
  queueIntakeStateQuery,
  stopQueueIntakeSignal,
  type QueueIntakeInput,
  type QueueIntakeState,
} from '../contract/queueIntake';

/** Rounds per run before continue-as-new (each adds about six history events). */
const ROUNDS_PER_RUN = 200;
/** A round ends this long after its last message, or after its first message handled plus BUSY_SECONDS. */
const IDLE_SECONDS = 300;
const BUSY_SECONDS = 5;

function drainer(input: QueueIntakeInput) {
  return proxyActivities<Activities>({
    taskQueue: input.activityTaskQueue,
    startToCloseTimeout: `${IDLE_SECONDS + 120} seconds`,
    // A dead worker is found in a minute; the messages it held come back after their visibility timeout.
    heartbeatTimeout: '60 seconds',
    // An AWS outage or a role that cannot be assumed: keep trying, at most a minute apart.
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '60 seconds' },
  }).drainQueue;
}

export async function queueIntakeWorkflow(input: QueueIntakeInput): Promise<void> {
  const state: QueueIntakeState = {
    connectionName: input.connectionName,
    queueName: input.queueName,
    counters: input.counters ?? noCounters(),
    stopping: false,
  };
  const round = new CancellationScope();
  setHandler(queueIntakeStateQuery, () => state);
  setHandler(stopQueueIntakeSignal, () => {
    state.stopping = true;
    round.cancel();
  });
  const drainQueue = drainer(input);
  const args = {
    workspace: input.workspace,
    connectionName: input.connectionName,
    queueName: input.queueName,
    idleSeconds: IDLE_SECONDS,
    busySeconds: BUSY_SECONDS,
  };
  for (let n = 0; n < ROUNDS_PER_RUN && !state.stopping; n++) {
    try {
      const counted = await round.run(() => drainQueue(args));
      state.counters = addCounters(state.counters, counted);
      state.lastRoundAt = new Date().toISOString();
    } catch (err) {
      if (!(state.stopping && isCancellation(err))) throw err;
    }
    if (workflowInfo().continueAsNewSuggested) break;
  }
  if (state.stopping) return;
  await continueAsNew<typeof queueIntakeWorkflow>({ ...input, counters: state.counters });
}
