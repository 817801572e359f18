/** Which errors are DuckLake commit conflicts, and their bounded retry (src/sinks/ducklake/conflicts.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conflictWaitMs, isCommitConflict, MAX_ATTEMPTS, retryConflicts } from '../../src/sinks/ducklake/conflicts';
import { LoadedMeanwhileError } from '../../src/sinks/ducklake/tokens';

const CONFLICT =
  'TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction.\n' +
  'Transaction conflict - attempting to insert into table with index "3" - but another transaction has deleted inlined data from it';

describe('DuckLake commit conflicts', () => {
  it('knows a refused commit, a rival ledger entry seen in the transaction, and nothing else', () => {
    assert.equal(isCommitConflict(new Error(CONFLICT)), true);
    assert.equal(
      isCommitConflict(
        new Error(
          'Transaction conflict - attempting to create table "t" in schema "main" - but this table has been created by another transaction already',
        ),
      ),
      true,
    );
    assert.equal(isCommitConflict(new LoadedMeanwhileError(1)), true);
    assert.equal(isCommitConflict(new Error('Conversion Error: Could not convert string')), false);
    assert.equal(isCommitConflict('not an error'), false);
  });

  it('waits longer after each conflict, jittered, never over 7.5 s', () => {
    assert.deepEqual(
      [2, 3, 4, 5].map((a) => conflictWaitMs(a, () => 0.5)),
      [50, 100, 200, 400],
    );
    assert.equal(
      conflictWaitMs(2, () => 0),
      25,
    );
    for (let a = 2; a <= MAX_ATTEMPTS; a++) assert.ok(conflictWaitMs(a, () => 0.999) <= 7_500);
  });

  it('runs the operation again after a conflict, and never after another error', async () => {
    let calls = 0;
    const stats = { conflicts: 0 };
    const out = await retryConflicts(async () => {
      if (++calls < 3) throw new Error(CONFLICT);
      return 'done';
    }, stats);
    assert.deepEqual([out, calls, stats.conflicts], ['done', 3, 2]);
    calls = 0;
    await assert.rejects(
      retryConflicts(async () => {
        calls++;
        throw new Error('IO Error: disk full');
      }),
      /disk full/,
    );
    assert.equal(calls, 1);
  });
});
