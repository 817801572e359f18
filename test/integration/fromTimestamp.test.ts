/**
 * IMPORT_FROM_TIMESTAMP on real parts (MinIO, Temporal dev server, worker,
 * the HTTP API's event endpoint): objects last modified before the instant
 * are ignored whether a listing finds them or an event announces them;
 * objects at the instant and after it are loaded. Objects get exact
 * LastModified instants (MinIO's `x-minio-source-mtime`, as replication sets it),
 * one millisecond on each side of the instant.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { RunningApi } from '../../src/api';
import { dataSourceState, jobReport, requestSync } from '../../src/client/dataSources';
import { dataSourceWorkflowId, objectsCreatedSignal, type DataSourceState } from '../../src/contract';
import { assertTableMatchesFiles, csvRows, range } from '../helpers/faults';
import { minioConnection, startTestApi, startTestStack, type TestStack } from '../helpers/stack';

const TOKEN = 'from-timestamp-test-token-0123456789';
const BUCKET = 'since';
const FROM = '2025-06-01T12:00:00.000Z';
const at = (deltaMs: number): string => new Date(Date.parse(FROM) + deltaMs).toISOString();

function datasource(name: string): string {
  return [
    'SCHEMA >',
    '    `id` Int32 `json:$.id`,',
    '    `name` String `json:$.name`',
    '',
    'IMPORT_CONNECTION_NAME minio',
    `IMPORT_BUCKET_URI s3://${BUCKET}/${name}/*.csv`,
    'IMPORT_SCHEDULE @auto',
    `IMPORT_FROM_TIMESTAMP ${FROM.replace('.000', '')}`,
    '',
  ].join('\n');
}

describe('IMPORT_FROM_TIMESTAMP: listings and events, on both sides of the instant', () => {
  let t: TestStack;
  let api: RunningApi;

  /** Puts an object whose LastModified is `mtime`; answers what an event tells of it. */
  async function putAt(
    key: string,
    body: string,
    mtime: string,
  ): Promise<{ key: string; etag: string; size: number; lastModified: string }> {
    const put = new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body });
    put.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-minio-source-mtime'] = mtime;
        return next(args);
      },
      { step: 'build' },
    );
    await t.s3.send(put);
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return { key, etag: head.ETag!.replace(/"/g, ''), size: head.ContentLength!, lastModified: mtime };
  }

  /** An S3 event record of `o`, sent when the object was created (a late or replayed delivery keeps that time). */
  function record(
    o: { key: string; etag: string; size: number; lastModified: string },
    sequencer: string,
  ): Record<string, unknown> {
    return {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      eventTime: o.lastModified,
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: BUCKET }, object: { key: o.key, eTag: o.etag, size: o.size, sequencer } },
    };
  }

  async function postEvents(body: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${api.url}/v0/events/s3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  }

  async function idle(name: string, predicate: (s: DataSourceState) => boolean): Promise<DataSourceState> {
    return t.waitForState(
      name,
      (s) => s.status === 'idle' && s.queuedObjects === 0 && s.pendingSyncs === 0 && predicate(s),
    );
  }

  before(async () => {
    t = await startTestStack({ workspace: { filesPerMinute: 0, pollIntervalSeconds: 3600 } });
    api = await startTestApi(t, { token: TOKEN, workspaceSecret: 'from-timestamp-workspace-secret' });
    await t.createBucket(BUCKET);
    t.write('minio.connection', minioConnection());
  });

  after(async () => {
    await api?.close();
    await t?.stop();
  });

  it('a listing skips objects modified before the instant and loads those at and after it', async () => {
    await putAt('listed/before.csv', csvRows(1, 3), at(-1));
    await putAt('listed/at.csv', csvRows(10, 4), at(0));
    await putAt('listed/after.csv', csvRows(20, 5), at(1));
    await t.put(BUCKET, 'listed/now.csv', csvRows(30, 6));
    t.write('listed.datasource', datasource('listed'));
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const state = await idle('listed', (s) => s.initialSyncDone);
    const job = await jobReport(t.stack.client, state.lastJobId!);
    assert.equal(job.statistics.found_files, 3, 'at, after and now; not before');
    assert.equal(job.statistics.files_done, 3);
    await assertTableMatchesFiles(t.stack.worker!.sink, 'listed', {
      ids: [...range(10, 4), ...range(20, 5), ...range(30, 6)],
      files: { 'listed/at.csv': 4, 'listed/after.csv': 5, 'listed/now.csv': 6 },
    });
  });

  it('events for objects modified before the instant are ignored like listed ones; those at and after it load', async () => {
    t.write('evented.datasource', datasource('evented'));
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    await idle('evented', (s) => s.initialSyncDone);
    // Created after the first listing: only the events tell of them.
    const old = await putAt('evented/before.csv', csvRows(100, 3), at(-1));
    const atFrom = await putAt('evented/at.csv', csvRows(200, 4), at(0));
    const later = await putAt('evented/after.csv', csvRows(300, 5), at(1));
    const answer = await postEvents({ Records: [record(old, '0A'), record(atFrom, '0B'), record(later, '0C')] });
    assert.deepEqual(answer.routed, { evented: 2 }, JSON.stringify(answer));
    assert.equal(answer.older_than_from_timestamp, 1, JSON.stringify(answer));

    // Sent straight to the workflow (not through the endpoint): the workflow ignores it too.
    await t.stack.client.workflow.getHandle(dataSourceWorkflowId('local', 'evented')).signal(objectsCreatedSignal, [
      {
        bucket: BUCKET,
        key: old.key,
        etag: old.etag,
        size: old.size,
        lastModified: old.lastModified,
        format: 'csv',
        compression: 'none',
      },
    ]);
    await idle('evented', (s) => s.counters.filesLoaded >= 2);
    await sleep(2000);
    // And a listing agrees.
    await requestSync(t.stack.client, 'local', 'evented', { origin: 'test' });
    const state = await idle('evented', (s) => s.counters.syncs >= 3);
    assert.equal(state.counters.filesLoaded, 2);
    assert.equal(state.rejectedSignals, undefined, 'an old object is not a malformed signal');
    await assertTableMatchesFiles(t.stack.worker!.sink, 'evented', {
      ids: [...range(200, 4), ...range(300, 5)],
      files: { 'evented/at.csv': 4, 'evented/after.csv': 5 },
    });
    const final = await dataSourceState(t.stack.client, 'local', 'evented');
    assert.equal(final?.counters.filesFailed, 0);
  });
});
