/**
 * Where a job's time goes: its workflow history as a timeline of activities
 * (scheduled → started → closed, in ms from the workflow's start), plus the
 * events between them (timers, signals, child workflows, updates). Printed
 * by `npm run bench` when BENCH_TIMELINE=1.
 */
import type { Client } from '@temporalio/client';

function ms(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!t) return 0;
  return Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6;
}

/** Timeline lines of one workflow execution (events are told apart by their attributes). */
export async function timeline(client: Client, workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const t0 = ms(events[0]?.eventTime);
  const activities = new Map<string, { type: string; scheduled: number; started?: number }>();
  const lines: string[] = [];
  const line = (at: number, text: string) => lines.push(`${at.toFixed(0).padStart(6)} ms  ${text}`);
  let wftMs = 0;
  let wfts = 0;
  let wftStart = 0;
  for (const e of events) {
    const at = ms(e.eventTime) - t0;
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    if (e.activityTaskScheduledEventAttributes) {
      activities.set(String(e.eventId), {
        type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?',
        scheduled: at,
      });
    } else if (e.activityTaskStartedEventAttributes) {
      const a = activities.get(String(e.activityTaskStartedEventAttributes.scheduledEventId));
      if (a) a.started = at;
    } else if (closed) {
      const a = activities.get(String(closed.scheduledEventId));
      if (a) {
        const started = a.started ?? a.scheduled;
        const outcome = e.activityTaskCompletedEventAttributes ? '' : ' (failed)';
        line(
          a.scheduled,
          `${a.type}${outcome}: waited ${(started - a.scheduled).toFixed(0)} ms for a worker, ran ${(at - started).toFixed(0)} ms (until ${at.toFixed(0)})`,
        );
      }
    } else if (e.workflowTaskStartedEventAttributes) {
      wftStart = at;
    } else if (e.workflowTaskCompletedEventAttributes) {
      wfts++;
      wftMs += at - wftStart;
    } else if (e.timerStartedEventAttributes) {
      line(at, `timer of ${ms(e.timerStartedEventAttributes.startToFireTimeout as never).toFixed(0)} ms`);
    } else if (e.workflowExecutionSignaledEventAttributes) {
      line(at, `signal ${e.workflowExecutionSignaledEventAttributes.signalName}`);
    } else if (e.signalExternalWorkflowExecutionInitiatedEventAttributes) {
      line(at, `sends ${e.signalExternalWorkflowExecutionInitiatedEventAttributes.signalName}`);
    } else if (e.workflowExecutionUpdateAcceptedEventAttributes) {
      line(at, `update ${e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input?.name}`);
    } else if (e.workflowExecutionCompletedEventAttributes) {
      line(at, 'completed');
    }
  }
  lines.push(`${events.length} events, ${wfts} workflow tasks taking ${wftMs.toFixed(0)} ms in all`);
  return lines;
}
