/**
 * Payload bounds (issue 18, item 7), pure: reports, job inputs, the cursor's
 * failed map and event signals stay far below Temporal's 2 MB per payload.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signalSizedParts } from '../../src/events/intake';
import { boundFailedBytes, errorsPage, keepError, objectsForOneJob } from '../../src/workflows/bounds';
import { MAX_JOB_OBJECT_BYTES, MAX_REPORT_ERRORS } from '../../src/contract/limits';
import { newJobReport, type FileError, type JobReport, type ObjectVersion } from '../../src/contract';

function object(key: string): ObjectVersion {
  return {
    bucket: 'b',
    key,
    etag: 'e'.repeat(32),
    size: 1,
    lastModified: '2026-01-01T00:00:00.000Z',
    format: 'csv',
    compression: 'none',
  };
}

function emptyReport(): JobReport {
  return newJobReport({ id: 'j', kind: 'sync', status: 'working', datasource: 'd', created_at: '' });
}

describe('payload bounds', () => {
  it('a report keeps the first errors, counts the rest, and pages through all of them', () => {
    const report = emptyReport();
    const all: FileError[] = [];
    for (let i = 0; i < 250; i++) keepError(report, all, { key: `k${i}`, etag: 'e', error: 'x'.repeat(5000) });
    assert.equal(report.errors.length, MAX_REPORT_ERRORS);
    assert.equal(report.statistics.errors_omitted, 150);
    assert.ok(report.errors.every((e) => e.error.length <= 2000));
    assert.deepEqual(
      errorsPage(all, 200, 100).errors.map((e) => e.key),
      Array.from({ length: 50 }, (_, i) => `k${200 + i}`),
    );
    // Arguments from anyone are clamped, never thrown on.
    for (const [offset, limit] of [
      [-1, 5],
      ['x', null],
      [undefined, 10_000],
      [1.5, 0],
    ] as const) {
      const page = errorsPage(all, offset, limit);
      assert.equal(page.total, 250);
      assert.ok(page.errors.length <= MAX_REPORT_ERRORS);
    }
  });

  it('a job takes as many objects as fit its byte bound (at least one)', () => {
    const short = Array.from({ length: 2000 }, (_, i) => object(`s/${i}.csv`));
    assert.equal(objectsForOneJob(short, 1000), 1000);
    const long = Array.from({ length: 2000 }, (_, i) => object(`l/${'k'.repeat(1000)}/${i}.csv`));
    const n = objectsForOneJob(long, 1000);
    assert.ok(n > 100 && n < 1000, String(n));
    assert.ok(JSON.stringify(long.slice(0, n)).length <= MAX_JOB_OBJECT_BYTES + n);
    assert.equal(objectsForOneJob([object('x'.repeat(MAX_JOB_OBJECT_BYTES * 2))], 1000), 1);
    assert.equal(objectsForOneJob([], 1000), 0);
  });

  it('the failed map keeps its newest entries within the byte bound', () => {
    const failed: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) failed[`k/${'x'.repeat(1000)}/${i}`] = 'e'.repeat(32);
    const kept = boundFailedBytes(failed);
    const keys = Object.keys(kept);
    assert.ok(keys.length > 100 && keys.length < 1000);
    assert.equal(keys[keys.length - 1], `k/${'x'.repeat(1000)}/999`);
    assert.deepEqual(boundFailedBytes({ a: 'b' }), { a: 'b' });
  });

  it('event batches are signalled in parts under the limit, in order, nothing lost', () => {
    const objects = Array.from({ length: 20_000 }, (_, i) => object(`bulk/${i}.csv`));
    const parts = signalSizedParts(objects);
    assert.ok(parts.length > 1);
    for (const part of parts) assert.ok(JSON.stringify(part).length <= 256 * 1024);
    assert.deepEqual(parts.flat(), objects);
    assert.deepEqual(signalSizedParts([]), []);
  });
});
