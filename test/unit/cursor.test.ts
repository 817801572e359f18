import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundFailed, cursorAfterSync, nextWatermark } from '../../src/workflows/cursor';

describe('sync cursor (R5.4)', () => {
  it('moves the watermark to the start of the listing', () => {
    assert.equal(nextWatermark('2024-05-01T10:00:00.000Z', undefined), '2024-05-01T10:00:00.000Z');
  });

  it('never moves the watermark past the start of an upload in progress', () => {
    // S3 stamps the finished object with 09:00, when its upload began: the next
    // listing must still consider objects from 09:00 on.
    assert.equal(nextWatermark('2024-05-01T10:00:00.000Z', '2024-05-01T09:00:00.000Z'), '2024-05-01T09:00:00.000Z');
    assert.equal(nextWatermark('2024-05-01T10:00:00.000Z', '2024-05-01T11:00:00.000Z'), '2024-05-01T10:00:00.000Z');
  });

  it('keeps the previous watermark when the listing did not complete', () => {
    const previous = { watermark: '2024-05-01T08:00:00.000Z', failed: {} };
    assert.deepEqual(
      cursorAfterSync(previous, {}, { complete: false, listedAt: '2024-05-01T10:00:00.000Z' }),
      previous,
    );
    assert.deepEqual(
      cursorAfterSync(
        previous,
        { k: 'e' },
        { complete: true, listedAt: '2024-05-01T10:00:00.000Z', oldestUploadInProgress: '2024-05-01T07:00:00.000Z' },
      ),
      { watermark: '2024-05-01T07:00:00.000Z', failed: { k: 'e' } },
    );
  });

  it('holds the watermark when the uploads in progress could not be seen (none yet: stays unset)', () => {
    const listing = { complete: true, listedAt: '2024-05-01T10:00:00.000Z', uploadsUnseen: true };
    assert.deepEqual(cursorAfterSync({ watermark: '2024-05-01T08:00:00.000Z', failed: {} }, { k: 'e' }, listing), {
      watermark: '2024-05-01T08:00:00.000Z',
      failed: { k: 'e' },
    });
    assert.deepEqual(cursorAfterSync({ failed: {} }, {}, listing), { watermark: undefined, failed: {} });
  });

  it('bounds the failed versions, forgetting the oldest', () => {
    const failed = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, `e${i}`]));
    assert.deepEqual(boundFailed(failed, 3), { k2: 'e2', k3: 'e3', k4: 'e4' });
    assert.equal(boundFailed(failed, 10), failed);
  });
});
