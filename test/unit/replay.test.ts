/**
 * Determinism guard: replays every recorded history (test/fixtures/histories,
 * recorded by scripts/record-histories.ts on a real stack) against the
 * current workflow code. A change that would break running workflows fails
 * here with a DeterminismViolationError naming the history.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { repoRoot } from '../../src/local/tools';
import { workflowBundle } from '../helpers/stack';

const DIR = join(repoRoot, 'test', 'fixtures', 'histories');

describe('replay of recorded workflow histories', () => {
  // One folder per recording (v1: one activity per file; v2: batched small files, ...).
  const files = readdirSync(DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json')).sort();

  it('has histories of every workflow type', () => {
    const types = new Set(files.map((f) => f.replace(/^.*\//, '').replace(/-\d+\.json$/, '')));
    for (const type of ['dataSourceWorkflow', 'jobWorkflow', 'workspaceLimiterWorkflow', 'scheduledSyncWorkflow']) {
      assert.ok(types.has(type), `no recorded history of ${type} in ${DIR}`);
    }
  });

  it('replays every history without a determinism error', async () => {
    const histories = files.map((f) => {
      const doc = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { workflowId: string; history: unknown };
      return { workflowId: `${f}:${doc.workflowId}`, history: historyFromJSON(doc.history) };
    });
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
