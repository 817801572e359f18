/**
 * The SQS queue intake of one connection (SPEC R9.3, docs/events-aws.md):
 * rounds of the `drainQueue` activity, which turns the queue's EventBridge
 * events into `objectsCreated` signals of the data source workflows and
 * deletes each message only after its signals were accepted. This workflow
 * keeps the counters (`queueIntakeStateQuery`) and survives worker restarts:
 * a round cut by a restart is retried, and the messages it had not deleted
 * come back to the next one.
 *
 * Like every workflow here it never throws on what a stranger sends it
 * (src/workflows/payloads.ts): an unknown signal is recorded and ignored,
 * `stopQueueIntake` stops whatever it carries, and an input that does not
 * fit ends the workflow at once with the reason (nothing to retry).
 */
import {
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setDefaultSignalHandler,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  addCounters,
  noCounters,
  QUEUE_INTAKE_SIGNALS,
  queueIntakeStateQuery,
  stopQueueIntakeSignal,
  type QueueIntakeInput,
  type QueueIntakeState,
} from '../contract/queueIntake';
import { checkPayload, QueueIntakeInputPayload, SignalLog } from './payloads';

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

/** The input as sent, or a non-retryable failure that says what does not fit (a retry could not fix it). */
function checkedInput(args: unknown[]): QueueIntakeInput {
  const checked = checkPayload<QueueIntakeInput>(QueueIntakeInputPayload, args);
  if (checked.ok) return checked.value;
  throw ApplicationFailure.nonRetryable(
    `input does not fit: ${checked.reason}`.slice(0, 300),
    'QueueIntakeInvalidInput',
  );
}

/** The query, the stop signal and unknown signals; set before the first await, so no signal waits. */
function wireHandlers(state: QueueIntakeState, signals: SignalLog, round: CancellationScope): void {
  setHandler(queueIntakeStateQuery, () => state);
  setHandler(stopQueueIntakeSignal, () => {
    state.stopping = true;
    round.cancel();
  });
  // Set after every handler: a signal of another name is recorded, not left waiting for a handler.
  setDefaultSignalHandler((name: string) => {
    signals.reject(name, `unknown signal: the queue intake takes ${QUEUE_INTAKE_SIGNALS.join(', ')}`);
    state.rejectedSignals = signals.snapshot();
  });
}

export async function queueIntakeWorkflow(...args: unknown[]): Promise<void> {
  const input = checkedInput(args);
  const signals = new SignalLog(input.rejectedSignals);
  const state: QueueIntakeState = {
    connectionName: input.connectionName,
    queueName: input.queueName,
    counters: input.counters ?? noCounters(),
    stopping: false,
    rejectedSignals: signals.snapshot(),
  };
  const round = new CancellationScope();
  wireHandlers(state, signals, round);
  const drainQueue = drainer(input);
  const drainArgs = {
    workspace: input.workspace,
    connectionName: input.connectionName,
    queueName: input.queueName,
    idleSeconds: IDLE_SECONDS,
    busySeconds: BUSY_SECONDS,
  };
  for (let n = 0; n < ROUNDS_PER_RUN && !state.stopping; n++) {
    try {
      const counted = await round.run(() => drainQueue(drainArgs));
      state.counters = addCounters(state.counters, counted);
      state.lastRoundAt = new Date().toISOString();
    } catch (err) {
      if (!(state.stopping && isCancellation(err))) throw err;
    }
    if (workflowInfo().continueAsNewSuggested) break;
  }
  if (state.stopping) return;
  await continueAsNew<typeof queueIntakeWorkflow>({
    ...input,
    counters: state.counters,
    rejectedSignals: signals.snapshot(),
  });
}
