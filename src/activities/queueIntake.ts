/**
 * `drainQueue` (SPEC R9.3, docs/events-aws.md): one round of a connection's
 * queue intake. Long-polls the SQS queue with the connection's role, hands
 * each batch of EventBridge events to `handleS3Events` (the same stale
 * filter, routing and bounded `objectsCreated` signals as the HTTP endpoint),
 * and deletes the messages only after it returned: a signal that failed
 * leaves its batch in the queue, to come back after the visibility timeout
 * (duplicates are harmless: the workflow dedupes by key + ETag, the ledger
 * loads a version once). A body that is no event is never deleted; the
 * queue's redrive policy moves it to the dead-letter queue.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { queueUrl } from '../aws/queueIntake';
import { noCounters, type DrainQueueInput, type QueueIntakeCounters } from '../contract/queueIntake';
import { handleS3Events, parseS3Events, SequencerMemory, type IntakeResult } from '../events';
import type { ActivityScope } from './scope';

/** SQS's longest poll: few empty receives while the bucket is quiet. */
const WAIT_SECONDS = 20;

/** The body of a message as JSON, or undefined when it is not an event shape the parser knows. */
function eventBody(message: Message): unknown {
  try {
    const body = JSON.parse(message.Body ?? '') as unknown;
    parseS3Events(body);
    return body;
  } catch {
    return undefined;
  }
}

/** Adds what `handleS3Events` did to a round's counters. */
function count(counters: QueueIntakeCounters, result: IntakeResult, at: string): void {
  for (const [name, objects] of Object.entries(result.routed)) {
    const before = counters.byDataSource[name]?.objects ?? 0;
    counters.byDataSource[name] = { objects: before + objects, lastEventAt: at };
  }
  counters.unmatched += result.unmatched + result.olderThanFromTimestamp;
  counters.notRunning += result.notRunning.length;
  counters.invalid += result.invalid.length;
}

/** Deletes handled messages (ten at most, one receive's worth); returns how many SQS deleted. */
async function deleteMessages(sqs: SQSClient, url: string, messages: Message[]): Promise<number> {
  if (messages.length === 0) return 0;
  const entries = messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle }));
  const out = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries }));
  // A failed delete brings the message back later: a duplicate, harmless.
  return out.Successful?.length ?? 0;
}

/** What one drain needs besides its input. */
interface Drain {
  scope: ActivityScope;
  sequencers: SequencerMemory;
  sqs: SQSClient;
  url: string;
  input: DrainQueueInput;
  counters: QueueIntakeCounters;
}

/** Signals one receive's events and deletes its messages. */
async function handleMessages(d: Drain, messages: Message[]): Promise<void> {
  const project = d.scope.deps.project;
  if (!project) throw new Error('this worker was started without its project folder; it cannot route events');
  const handled: Message[] = [];
  const bodies: unknown[] = [];
  for (const message of messages) {
    const body = eventBody(message);
    if (body === undefined) d.counters.invalid++;
    else {
      handled.push(message);
      bodies.push(body);
    }
  }
  if (bodies.length > 0) {
    const deps = {
      client: Context.current().client,
      projectDir: project.dir,
      workspace: d.input.workspace,
      environment: project.environment,
      sequencers: d.sequencers,
    };
    count(d.counters, await handleS3Events(deps, bodies), new Date().toISOString());
  }
  d.counters.deleted += await deleteMessages(d.sqs, d.url, handled);
}

/**
 * One receive, waiting at most `waitSeconds`; cancellation (worker shutdown,
 * deploy's stop) aborts the long poll. Each call links its own controller,
 * so the activity's signal does not collect a listener per receive.
 */
async function receive(d: Drain, cancelled: AbortSignal, waitSeconds: number): Promise<Message[]> {
  // A listener added to a signal already aborted never runs: the poll would go on after a cancellation.
  if (cancelled.aborted) throw new CancelledFailure('drainQueue cancelled');
  const abort = new AbortController();
  const onCancel = (): void => abort.abort();
  cancelled.addEventListener('abort', onCancel, { once: true });
  try {
    const command = new ReceiveMessageCommand({
      QueueUrl: d.url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: waitSeconds,
    });
    return (await d.sqs.send(command, { abortSignal: abort.signal })).Messages ?? [];
  } catch (err) {
    if (cancelled.aborted) throw new CancelledFailure('drainQueue cancelled');
    throw err;
  } finally {
    cancelled.removeEventListener('abort', onCancel);
  }
}

/** Seconds the next receive may wait: SQS's longest poll, or less when the round must end sooner. */
function waitFor(endsAt: number): number {
  return Math.max(0, Math.min(WAIT_SECONDS, Math.ceil((endsAt - Date.now()) / 1000)));
}

async function drainQueue(
  scope: ActivityScope,
  sequencers: SequencerMemory,
  input: DrainQueueInput,
): Promise<QueueIntakeCounters> {
  const ctx = Context.current();
  const sqs = scope.deps.s3.sqsFor(scope.deps.connection(input.connectionName));
  const url = await queueUrl(sqs, input.queueName);
  if (!url)
    throw new Error(
      `SQS queue ${input.queueName} of connection ${input.connectionName} does not exist; run \`s3c deploy\``,
    );
  const d: Drain = { scope, sequencers, sqs, url, input, counters: noCounters() };
  // The round ends when the queue was quiet for `idleSeconds`, or `busySeconds` after its first message.
  let endsAt = Date.now() + input.idleSeconds * 1000;
  let busy = false;
  while (Date.now() < endsAt) {
    ctx.heartbeat(d.counters);
    const messages = await receive(d, ctx.cancellationSignal, waitFor(endsAt));
    if (messages.length === 0) continue;
    d.counters.received += messages.length;
    if (!busy) endsAt = Math.min(endsAt, Date.now() + input.busySeconds * 1000);
    busy = true;
    await handleMessages(d, messages);
  }
  return d.counters;
}

/** The queue intake's activity, with the worker's one memory of S3 sequencers. */
export function queueIntakeActivities(scope: ActivityScope) {
  const sequencers = new SequencerMemory();
  return { drainQueue: (input: DrainQueueInput) => drainQueue(scope, sequencers, input) };
}
