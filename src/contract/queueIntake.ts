/**
 * The queue intake's messages (SPEC R9.3, docs/events-aws.md): one workflow
 * per workspace and connection drains the connection's SQS queue with the
 * `drainQueue` activity and keeps counters that `datasource ls` shows.
 *
 * Deterministic and I/O-free: imported by workflow code.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RejectedSignals } from './dataSources';

/** `queue/<workspace>/<connection>`: one intake per connection (its one queue). */
export function queueIntakeWorkflowId(workspace: string, connection: string): string {
  return `queue/${workspace}/${connection}`;
}

/**
 * The task queue of `drainQueue`: the ingest queue's, with `-events`. Its
 * long polls never hold one of the ingest queue's activity slots, so that a
 * queue intake leaves the loads their whole capacity (as `-sql` does for queries).
 */
export function eventsTaskQueue(ingestTaskQueue: string): string {
  return `${ingestTaskQueue}-events`;
}

/** Events that reached one data source. */
export interface DataSourceEvents {
  /** Objects signalled to it. */
  objects: number;
  /** When the last of them was signalled (ISO). */
  lastEventAt: string;
}

/** What the intake has done since deploy started it (kept across continue-as-new). */
export interface QueueIntakeCounters {
  /** SQS messages received (a message received twice counts twice). */
  received: number;
  /** Messages deleted after their signals were accepted. */
  deleted: number;
  /** Messages whose body is no event; left in the queue for the dead-letter queue. */
  invalid: number;
  /** Object creations that no deployed `@auto` data source selects. */
  unmatched: number;
  /** Object creations for data sources whose workflow was not running (the next poll lists them). */
  notRunning: number;
  /** Data source name → what reached it. */
  byDataSource: Record<string, DataSourceEvents>;
}

/** Input of `queueIntakeWorkflow`. */
export interface QueueIntakeInput {
  workspace: string;
  connectionName: string;
  /** The queue's name (src/aws/queueIntake.ts `intakeQueueNames`). */
  queueName: string;
  /**
   * Task queue of `drainQueue`: {@link eventsTaskQueue} of the ingest queue, served by the workers with the
   * credentials and the deployment. (Intakes started before it existed name the ingest queue itself.)
   */
  activityTaskQueue: string;
  /** Carried over by continue-as-new. */
  counters?: QueueIntakeCounters;
  /** Carried over by continue-as-new. */
  rejectedSignals?: RejectedSignals;
}

/** What `queueIntakeStateQuery` answers. */
export interface QueueIntakeState {
  connectionName: string;
  queueName: string;
  counters: QueueIntakeCounters;
  /** When the last drain round ended (ISO). */
  lastRoundAt?: string;
  stopping: boolean;
  /** Signals it ignored (unknown names), absent when none was. */
  rejectedSignals?: RejectedSignals;
}

/** Input of one `drainQueue` activity. */
export interface DrainQueueInput {
  workspace: string;
  connectionName: string;
  queueName: string;
  /** Return after this long without messages (a round's history stays small). */
  idleSeconds: number;
  /** Return this long after the first message handled, so counters reach the query soon. */
  busySeconds: number;
}

export const queueIntakeStateQuery = defineQuery<QueueIntakeState>('queueIntakeState');
/** Ends the intake after its current round (teardown by deploy). Carries nothing; whatever it carries, it stops. */
export const stopQueueIntakeSignal = defineSignal<[]>('stopQueueIntake');
/** The signals the intake takes, named in the reason it records for any other. */
export const QUEUE_INTAKE_SIGNALS = ['stopQueueIntake'] as const;

/** Empty counters. */
export function noCounters(): QueueIntakeCounters {
  return { received: 0, deleted: 0, invalid: 0, unmatched: 0, notRunning: 0, byDataSource: {} };
}

/** Adds one round's counters to the totals (pure: used by the workflow). */
export function addCounters(total: QueueIntakeCounters, round: QueueIntakeCounters): QueueIntakeCounters {
  const byDataSource = { ...total.byDataSource };
  for (const [name, events] of Object.entries(round.byDataSource)) {
    const before = byDataSource[name];
    byDataSource[name] = { objects: (before?.objects ?? 0) + events.objects, lastEventAt: events.lastEventAt };
  }
  return {
    received: total.received + round.received,
    deleted: total.deleted + round.deleted,
    invalid: total.invalid + round.invalid,
    unmatched: total.unmatched + round.unmatched,
    notRunning: total.notRunning + round.notRunning,
    byDataSource,
  };
}
