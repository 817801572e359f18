import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PriorityGate } from '../../src/activities/priorityGate';

/** A task that runs until released, recording when it started. */
function controlled(log: string[], name: string): { task: () => Promise<string>; release: () => void } {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
    release: () => release(),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('PriorityGate', () => {
  it('runs at most `width` tasks at once', async () => {
    const gate = new PriorityGate(2);
    const log: string[] = [];
    const tasks = ['a', 'b', 'c', 'd'].map((n) => controlled(log, n));
    const results = tasks.map((t, i) => gate.run([1, i], t.task));
    await tick();
    assert.deepEqual(log, ['a', 'b']);
    assert.deepEqual(gate.load, { active: 2, waiting: 2 });
    tasks[0]!.release();
    await tick();
    assert.deepEqual(log, ['a', 'b', 'c']);
    for (const t of tasks) t.release();
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c', 'd']);
    assert.deepEqual(gate.load, { active: 0, waiting: 0 });
  });

  it('gives a free slot to the lowest rank: the batch that started first gets its files first', async () => {
    const gate = new PriorityGate(1);
    const log: string[] = [];
    const first = controlled(log, 'running');
    const running = gate.run([0, 0], first.task);
    // Queued out of order: batch 2's files, then batch 1's.
    const queued = [
      [2, 0],
      [2, 1],
      [1, 1],
      [1, 0],
      [3, 0],
    ].map(([batch, file]) => gate.run([batch!, file!], async () => void log.push(`${batch}.${file}`)));
    first.release();
    await Promise.all([running, ...queued]);
    assert.deepEqual(log, ['running', '1.0', '1.1', '2.0', '2.1', '3.0']);
  });

  it('a failed task frees its slot and its error reaches the caller', async () => {
    const gate = new PriorityGate(1);
    await assert.rejects(
      gate.run([1, 0], async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await gate.run([1, 1], async () => 'next'), 'next');
    assert.deepEqual(gate.load, { active: 0, waiting: 0 });
  });

  it('refuses a width below 1', () => {
    assert.throws(() => new PriorityGate(0), /at least 1/);
  });
});
