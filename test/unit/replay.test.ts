/**
 * Determinism guard: replays every recorded history (test/fixtures/histories,
 * recorded by scripts/record-histories.ts on a real stack, each named by what
 * it pins) against the current workflow code. A change that would break
 * running workflows fails here with a DeterminismViolationError naming the
 * history.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { repoRoot } from '../../src/local/tools';
import * as workflows from '../../src/workflows';
import { workflowBundle } from '../helpers/stack';

const DIR = join(repoRoot, 'test', 'fixtures', 'histories');

interface HistoryEvent {
  eventType: string;
  workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string }; continuedExecutionRunId?: string };
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  workflowExecutionSignaledEventAttributes?: { signalName?: string };
}

interface Recorded {
  file: string;
  workflowId: string;
  history: { events: HistoryEvent[] };
}

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const recorded: Recorded[] = files.map((file) => ({
  file,
  ...(JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Omit<Recorded, 'file'>),
}));
const events = recorded.flatMap((r) => r.history.events);
const seen = (of: (e: HistoryEvent) => string | undefined): Set<string> =>
  new Set(events.map(of).filter((x) => x !== undefined));

describe('replay of recorded workflow histories', () => {
  it('has histories of every workflow type the worker registers', () => {
    const types = seen((e) => e.workflowExecutionStartedEventAttributes?.workflowType?.name);
    for (const type of Object.keys(workflows)) assert.ok(types.has(type), `no recorded history of ${type} in ${DIR}`);
  });

  it('the histories go through the main paths: each activity, each signal, continue-as-new out and in, child jobs', () => {
    const activities = seen((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    for (const a of [
      'prepareDestination',
      'prepareSampleTables',
      'discoverObjects',
      'verifyObjects',
      'ingestObject',
      'ingestObjects',
      'expireRows',
    ]) {
      assert.ok(activities.has(a), `no recorded history schedules ${a}`);
    }
    const signals = seen((e) => e.workflowExecutionSignaledEventAttributes?.signalName);
    for (const s of [
      'syncNow',
      'objectsCreated',
      'pause',
      'resume',
      'redeploy',
      'settings',
      'jobProgress',
      'tokenRequest',
      'tokenGrant',
      'configureLimiter',
    ]) {
      assert.ok(signals.has(s), `no recorded history receives ${s}`);
    }
    const types = seen((e) => e.eventType);
    assert.ok(types.has('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW'), 'no recorded history continues as new');
    assert.ok(types.has('EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED'), 'no recorded history starts a job');
    assert.ok(
      events.some((e) => e.workflowExecutionStartedEventAttributes?.continuedExecutionRunId),
      'no recorded history of a continued run',
    );
  });

  it('names every history in the folder README with what it pins', () => {
    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    for (const file of files)
      assert.match(
        readme,
        new RegExp(`^\\| \`${file.replace(/\./g, '\\.')}\` \\| \\w+ \\| .{10,}`, 'm'),
        `${file} is not described in README.md`,
      );
  });

  it('replays every history without a determinism error', async () => {
    const histories = recorded.map((r) => ({
      workflowId: `${r.file}:${r.workflowId}`,
      history: historyFromJSON(r.history),
    }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.equal(replayed, files.length);
    assert.deepEqual(failures, []);
  });
});
