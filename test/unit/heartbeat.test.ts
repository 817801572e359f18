import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { heartbeater } from '../../src/activities/heartbeat';

describe('heartbeater', () => {
  it('lets one heartbeat per interval through, the first at once', async () => {
    const env = new MockActivityEnvironment();
    const seen: unknown[] = [];
    env.on('heartbeat', (d: unknown) => seen.push(d));
    await env.run(async () => {
      const beat = heartbeater(200);
      for (let n = 1; n <= 500; n++) beat({ n });
      assert.deepEqual(seen, [{ n: 1 }]);
      await sleep(250);
      beat({ n: 501 });
      beat({ n: 502 });
    });
    assert.deepEqual(seen, [{ n: 1 }, { n: 501 }]);
  });

  it('throttles each activity on its own', async () => {
    const seen: string[] = [];
    const run = (name: string) => {
      const env = new MockActivityEnvironment();
      env.on('heartbeat', () => seen.push(name));
      return env.run(async () => {
        const beat = heartbeater(10_000);
        beat(name);
        beat(name);
      });
    };
    await Promise.all([run('a'), run('b')]);
    assert.deepEqual(seen.sort(), ['a', 'b']);
  });
});
