/**
 * waitForState outlives a late answer: a worker busy with 150 loads (the
 * real-world corpus under load) answered a state query after the client's
 * deadline, and the wait ended with "Failed to query Workflow" although the
 * data source was fine. The client here is a stand-in for Temporal's: a local
 * dev server gives DEADLINE_EXCEEDED only after its query timeout, too slow
 * for a unit test; the stand-in throws the ServiceError the real client
 * builds from that gRPC answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceError, type Client } from '@temporalio/client';
import { waitForState } from '../../src/client/dataSources';
import type { DataSourceState } from '../../src/contract';

/** The error @temporalio/client throws when a query's gRPC call fails with `code`. */
function queryFailure(code: number): ServiceError {
  const grpc = Object.assign(new Error(`${code} query failed`), { code, details: 'query failed', metadata: {} });
  return new ServiceError('Failed to query Workflow', { cause: grpc });
}

/** A client whose state queries answer from `answers` in turn (an Error is thrown). */
function clientAnswering(answers: (DataSourceState | Error)[]): { client: Client; asked: () => number } {
  let asked = 0;
  const handle = {
    query: async () => {
      const answer = answers[Math.min(asked++, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { client: { workflow: { getHandle: () => handle } } as unknown as Client, asked: () => asked };
}

/** Only what the predicates below read. */
const synced = (): DataSourceState => ({ status: 'idle' }) as DataSourceState;

describe('waitForState', () => {
  it('asks again after a late answer (DEADLINE_EXCEEDED) or an unreachable server (UNAVAILABLE)', async () => {
    const { client, asked } = clientAnswering([queryFailure(4), queryFailure(14), synced()]);
    const state = await waitForState(client, 'local', 'ds', (s) => s.status === 'idle', { intervalMs: 1 });
    assert.equal(state.status, 'idle');
    assert.equal(asked(), 3);
  });

  it('ends at once on any other failure', async () => {
    const { client, asked } = clientAnswering([queryFailure(7), synced()]);
    await assert.rejects(
      waitForState(client, 'local', 'ds', () => true, { intervalMs: 1 }),
      /Failed to query Workflow/,
    );
    assert.equal(asked(), 1);
  });

  it('at its deadline, names the last failure', async () => {
    const { client } = clientAnswering([queryFailure(4)]);
    await assert.rejects(
      waitForState(client, 'local', 'ds', () => true, { intervalMs: 1, timeoutMs: 20 }),
      /the expected state was not reached in time; last: undefined; last query failed: Failed to query Workflow/,
    );
  });
});
