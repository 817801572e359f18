/**
 * Faults of the event path (R9.2, R5.3, R8.1, R6), on real parts: the HTTP
 * API's /v0/events/s3 in front of a Temporal dev server and a worker, MinIO
 * for the objects. Events are S3 event notification records, built from the
 * objects' real ETags (the shape MinIO's webhook and S3 send).
 *
 * - duplicate, out-of-order and stale events; an event for a deleted key;
 * - keys with spaces, '+', '%', unicode and glob characters, URL-encoded as S3 does;
 * - a flood of events (thousands of requests) forcing continue-as-new;
 * - bad API requests: clear errors, nothing started or changed;
 * - issue 18: a forged size or ETag hides no file (S3 decides), keys the store
 *   refuses fail at once, and every payload stays bounded (1,000 failures of
 *   long keys, a 20,000-record batch, an over-limit body).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { RunningApi } from '../../src/api';
import { dataSourceState, jobReport } from '../../src/client/dataSources';
import { dataSourceWorkflowId, type DataSourceState } from '../../src/contract';
import { allHistoriesText, assertNoSecrets, assertTableMatchesFiles, csvRows, range } from '../helpers/faults';
import { idNameDataSource, minioConnection, startTestApi, startTestStack, type TestStack } from '../helpers/stack';

const TOKEN = 'events-test-token-0123456789';

function datasource(uri: string, schedule: string): string {
  return idNameDataSource(uri, { schedule });
}

/** S3's form URL-encoding of keys in event records: space → '+', '+' → %2B. */
function encodeKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

interface Obj {
  key: string;
  etag: string;
  size: number;
}

function record(o: Obj, sequencer: string, eventName = 'ObjectCreated:Put'): Record<string, unknown> {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    eventTime: new Date().toISOString(),
    eventName,
    s3: { bucket: { name: 'evts' }, object: { key: encodeKey(o.key), eTag: o.etag, size: o.size, sequencer } },
  };
}

describe('faults: events and API requests', () => {
  let t: TestStack;
  let api: RunningApi;

  before(async () => {
    t = await startTestStack({ workspace: { filesPerMinute: 0, pollIntervalSeconds: 3600, maxHistoryEvents: 200 } });
    api = await startTestApi(t, { token: TOKEN, workspaceSecret: 'events-workspace-secret' });
    await t.createBucket('evts');
    t.write('minio.connection', minioConnection());
    // @auto, but the poll is an hour away: only events explain a load within the test.
    t.write('live.datasource', datasource('s3://evts/live/**/*.csv', '@auto'));
    t.write('flood.datasource', datasource('s3://evts/flood/*.csv', '@auto'));
    t.write('quiet.datasource', datasource('s3://evts/quiet/*.csv', '@on-demand'));
    t.write('hint.datasource', datasource('s3://evts/hint/**/*.csv', '@auto'));
    t.write('long.datasource', datasource('s3://evts/long/**/*.csv', '@auto'));
    t.write('bulk.datasource', datasource('s3://evts/bulk/*.csv', '@auto'));
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    for (const name of ['live', 'flood', 'hint', 'long', 'bulk'])
      await t.waitForState(name, (s) => s.initialSyncDone && s.status === 'idle');
  });

  after(async () => {
    await api?.close();
    await t?.stop();
  });

  const sink = () => t.stack.worker!.sink;

  async function post(
    path: string,
    body: unknown,
    token: string | null = TOKEN,
    raw?: string,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${api.url}${path}`, { method: 'POST', headers, body: raw ?? JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  async function putObj(key: string, body: string): Promise<Obj> {
    await t.put('evts', key, body);
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: 'evts', Key: key }));
    return { key, etag: head.ETag!.replace(/"/g, ''), size: head.ContentLength! };
  }

  async function idle(
    name: string,
    predicate: (s: DataSourceState) => boolean,
    timeoutMs = 60_000,
  ): Promise<DataSourceState> {
    return t.waitForState(
      name,
      (s) => s.status === 'idle' && s.queuedObjects === 0 && s.pendingSyncs === 0 && predicate(s),
      timeoutMs,
    );
  }

  it('duplicate, out-of-order and stale events load each version once; an event for a deleted key fails that file alone', async () => {
    const a = await putObj('live/a.csv', csvRows(1, 3));
    const dup = { Records: [record(a, '0A'), record(a, '0A')] };
    for (let i = 0; i < 3; i++) {
      const res = await post('/v0/events/s3', dup);
      assert.equal(res.status, 200, JSON.stringify(res.json));
    }
    // Out of order: v2 is announced before v1; v1's event is stale and dropped.
    const v1 = await putObj('live/b.csv', csvRows(100, 2));
    const v2 = await putObj('live/b.csv', csvRows(200, 4));
    const newer = await post('/v0/events/s3', { Records: [record(v2, '0C')] });
    assert.deepEqual(newer.json.routed, { live: 1 });
    const older = await post('/v0/events/s3', { Records: [record(v1, '0B')] });
    assert.equal(older.json.stale, 1);
    assert.deepEqual(older.json.routed, {});
    // An event for a key deleted before it could be loaded.
    const gone = await putObj('live/gone.csv', csvRows(300, 2));
    await t.s3.send(new DeleteObjectCommand({ Bucket: 'evts', Key: 'live/gone.csv' }));
    const deleted = await post('/v0/events/s3', {
      Records: [record(gone, '0D'), record(gone, '0E', 'ObjectRemoved:Delete')],
    });
    assert.deepEqual(deleted.json.routed, { live: 1 });
    assert.equal(deleted.json.ignored, 1);

    const state = await idle('live', (s) => s.counters.filesFailed === 1 && s.counters.rows === 7);
    assert.match(state.lastError ?? '', /s3:\/\/evts\/live\/gone\.csv: object was deleted before it could be loaded/);
    // Counted as failed, but not marked so in the cursor: only the event said that version existed.
    assert.deepEqual(state.cursor.failed, {});
    // Stale again, after the load: the old version's event changes nothing.
    const late = await post('/v0/events/s3', { Records: [record(a, '0A'), record(v2, '0C')] });
    assert.equal(late.status, 200);
    await sleep(2000);
    const settled = await idle('live', () => true);
    await assertTableMatchesFiles(sink(), 'live', {
      ids: [...range(1, 3), ...range(200, 4)],
      files: { 'live/a.csv': 3, 'live/b.csv': 4 },
    });
    // The data source reports what it loaded: two versions, 7 rows, one failed file.
    assert.equal(settled.counters.rows, 7);
    assert.equal(settled.counters.filesFailed, 1);
    assert.equal(settled.counters.filesLoaded, 2, 'duplicate events must not count a version as loaded twice');
  });

  it('keys with spaces, +, %, unicode and glob characters arrive encoded and are loaded exactly', async () => {
    const keys = [
      'live/a b.csv',
      'live/a+b.csv',
      'live/50%.csv',
      'live/%41.csv',
      'live/ünï 日本.csv',
      'live/[x]{y}(z)?*.csv',
      'live/deep/dir/x.csv',
    ];
    const objs: Obj[] = [];
    for (const [i, key] of keys.entries()) objs.push(await putObj(key, csvRows(1000 + i * 10, 2)));
    const res = await post('/v0/events/s3', { Records: objs.map((o, i) => record(o, `1${i}`)) });
    assert.deepEqual(res.json.routed, { live: keys.length }, JSON.stringify(res.json));
    const before = (await dataSourceState(t.stack.client, 'local', 'live'))!.counters.filesLoaded;
    await idle('live', (s) => s.counters.filesLoaded === before + keys.length);
    const ledger = await sink().ledger('live');
    for (const key of keys) assert.equal(ledger.filter((e) => e.key === key).length, 1, `ledger holds ${key} once`);
    const rows = await sink().query(`SELECT count(*) AS n FROM live WHERE id >= 1000 AND id < 2000`);
    assert.equal(Number(rows[0]!.n), keys.length * 2);
  });

  it('a flood of thousands of events: the workflow continues as new, nothing lost, nothing doubled', async () => {
    const FILES = 40;
    const REPEATS = 50; // 2000 requests, each one signal
    const objs: Obj[] = [];
    for (let i = 0; i < FILES; i++) objs.push(await putObj(`flood/${i}.csv`, csvRows(i * 100, 5)));
    const handle = t.stack.client.workflow.getHandle(dataSourceWorkflowId('local', 'flood'));
    const firstRun = (await handle.describe()).runId;
    const requests = Array.from({ length: FILES * REPEATS }, (_, n) => objs[n % FILES]!);
    let next = 0;
    const statuses = new Map<number, number>();
    const lane = async (): Promise<void> => {
      while (next < requests.length) {
        const o = requests[next++]!;
        const res = await post('/v0/events/s3', { Records: [record(o, '')] });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    assert.deepEqual([...statuses], [[200, FILES * REPEATS]]);
    await idle('flood', (s) => s.counters.rows >= FILES * 5, 180_000);
    await sleep(1000);
    const settled = await idle('flood', () => true);
    const runId = (await handle.describe()).runId;
    assert.notEqual(runId, firstRun, 'the flood made the workflow continue as new');
    await assertTableMatchesFiles(sink(), 'flood', {
      ids: objs.flatMap((_, i) => range(i * 100, 5)),
      files: Object.fromEntries(objs.map((o) => [o.key, 5])),
    });
    assert.equal(settled.counters.rows, FILES * 5);
    assert.equal(settled.counters.filesFailed, 0);
    assert.equal(settled.counters.filesLoaded, FILES, 'each version counted once, however many events announced it');
    const job = await jobReport(t.stack.client, settled.lastJobId!);
    assert.notEqual(job.status, 'error');
  });

  it('bad API requests get clear errors and change nothing', async () => {
    const stateBefore = await dataSourceState(t.stack.client, 'local', 'quiet');
    const cases: {
      method: string;
      path: string;
      body?: string;
      token?: string | null;
      status: number;
      error: RegExp;
    }[] = [
      {
        method: 'POST',
        path: '/v0/datasources/quiet/sample',
        body: '{"max_files": 0}',
        status: 400,
        error: /max_files/,
      },
      {
        method: 'POST',
        path: '/v0/datasources/quiet/sample',
        body: '{"max_files": 11}',
        status: 400,
        error: /max_files/,
      },
      {
        method: 'POST',
        path: '/v0/datasources/quiet/sample',
        body: '{"max_files": "3"}',
        status: 400,
        error: /max_files/,
      },
      { method: 'POST', path: '/v0/datasources/quiet/sample', body: '{not json', status: 400, error: /not valid JSON/ },
      {
        method: 'POST',
        path: '/v0/datasources/nope/sample',
        body: '{"max_files": 1}',
        status: 404,
        error: /data source nope is not deployed/,
      },
      {
        method: 'POST',
        path: '/v0/datasources/bad-name!/scheduling/runs',
        status: 400,
        error: /invalid data source name/,
      },
      {
        method: 'PUT',
        path: '/v0/datasources/quiet/scheduling/state',
        body: '{"state": "stopped"}',
        status: 400,
        error: /state/,
      },
      { method: 'GET', path: '/v0/jobs/no-such-job', status: 404, error: /not found/ },
      { method: 'POST', path: '/v0/jobs/no-such-job/cancel', status: 404, error: /not found/ },
      { method: 'POST', path: '/v0/events/s3', body: '{"Records": [', status: 400, error: /not an S3 event/ },
      { method: 'POST', path: '/v0/events/s3', body: '"hello"', status: 400, error: /not an S3 event/ },
      {
        method: 'POST',
        path: '/v0/datasources/quiet/scheduling/runs',
        token: 'wrong',
        status: 401,
        error: /unauthorized/,
      },
      {
        method: 'POST',
        path: '/v0/events/s3',
        body: '{"Records": []}',
        token: null,
        status: 401,
        error: /unauthorized/,
      },
    ];
    for (const c of cases) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const token = c.token === undefined ? TOKEN : c.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const res = await fetch(`${api.url}${c.path}`, { method: c.method, headers, body: c.body });
      const text = await res.text();
      assert.equal(res.status, c.status, `${c.method} ${c.path} ${c.body ?? ''}: ${text}`);
      const json = JSON.parse(text) as { error?: string };
      assert.match(String(json.error), c.error, `${c.method} ${c.path}`);
      assert.ok(!text.includes(TOKEN), 'the token is never echoed');
    }
    // Invalid records inside a valid body are reported, not routed.
    const invalid = await post('/v0/events/s3', {
      Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'evts' }, object: {} } }],
    });
    assert.equal(invalid.status, 200);
    assert.equal((invalid.json.invalid as string[]).length, 1);
    assert.deepEqual(invalid.json.routed, {});
    // Nothing changed: no job, no sync, still running.
    const jobs = await fetch(`${api.url}/v0/jobs?datasource=quiet`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.deepEqual(((await jobs.json()) as { jobs: unknown[] }).jobs, []);
    const stateAfter = await dataSourceState(t.stack.client, 'local', 'quiet');
    assert.equal(stateAfter?.counters.syncs, stateBefore?.counters.syncs);
    assert.equal(stateAfter?.status, 'idle');
  });

  async function apiGet(path: string): Promise<{ status: number; json: Record<string, unknown>; bytes: number }> {
    const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await res.text();
    return { status: res.status, json: JSON.parse(text) as Record<string, unknown>, bytes: text.length };
  }

  it('issue 18 item 5: a forged size or a wrong ETag hides no file: S3 decides, the file loads', async () => {
    const real = await putObj('hint/real.csv', csvRows(5000, 3));
    // The real key and ETag with a size far over any limit: only S3's size may decide.
    const forged = await post('/v0/events/s3', { Records: [record({ ...real, size: 20_000_000_000_000 }, '')] });
    assert.deepEqual(forged.json.routed, { hint: 1 }, JSON.stringify(forged.json));
    // A wrong ETag for an existing key: the key's current version is what loads.
    const other = await putObj('hint/other.csv', csvRows(5100, 2));
    await post('/v0/events/s3', {
      Records: [record({ ...other, etag: '0123456789abcdef0123456789abcdef', size: 1 }, '')],
    });
    const state = await idle('hint', (s) => s.counters.rows === 5, 60_000);
    assert.equal(state.counters.filesFailed, 0, state.lastError);
    assert.deepEqual(state.cursor.failed, {});
    await assertTableMatchesFiles(sink(), 'hint', {
      ids: [...range(5000, 3), ...range(5100, 2)],
      files: { 'hint/real.csv': 3, 'hint/other.csv': 2 },
    });
    // A later listing finds nothing left to load, and the ledger holds S3's size.
    const synced = await t.cli(['datasource', 'sync', 'hint', '--yes']);
    assert.equal(synced.code, 0, synced.stdout + synced.stderr);
    const ledger = await sink().ledger('hint');
    assert.deepEqual(ledger.map((e) => [e.key, Number(e.size)]).sort(), [
      ['hint/other.csv', other.size],
      ['hint/real.csv', real.size],
    ]);
  });

  it('issue 18 item 5: an event for a key not yet uploaded, with the ETag its content will have, hides no later upload', async () => {
    const before = (await dataSourceState(t.stack.client, 'local', 'hint'))!;
    const body = csvRows(7000, 2);
    // A single-part upload's ETag is the MD5 of its content: anyone who knows the content can name it in advance.
    const etag = createHash('md5').update(body).digest('hex');
    const early = await post('/v0/events/s3', {
      Records: [record({ key: 'hint/future.csv', etag, size: body.length }, '')],
    });
    assert.deepEqual(early.json.routed, { hint: 1 }, JSON.stringify(early.json));
    const failed = await idle('hint', (s) => s.counters.filesFailed === before.counters.filesFailed + 1);
    assert.deepEqual(failed.cursor.failed, {});
    // The real upload, with no event of its own: the next listing must load it.
    const real = await putObj('hint/future.csv', body);
    assert.equal(real.etag, etag);
    const synced = await t.cli(['datasource', 'sync', 'hint', '--yes']);
    assert.equal(synced.code, 0, synced.stdout + synced.stderr);
    await idle('hint', (s) => s.counters.rows === before.counters.rows + 2);
    const rows = await sink().query(`SELECT count(*) AS n FROM hint WHERE id >= 7000 AND id < 7002`);
    assert.equal(Number(rows[0]!.n), 2);
  });

  it('issue 18 item 6: keys the store refuses (HTTP 400) fail at once with the reason; the good file does not wait', async () => {
    const before = (await dataSourceState(t.stack.client, 'local', 'hint'))!;
    const good = await putObj('hint/good.csv', csvRows(6000, 2));
    const dots = { key: 'hint/../x.csv', etag: good.etag, size: 10 };
    const longSegment = { key: `hint/${'a'.repeat(300)}.csv`, etag: good.etag, size: 10 };
    const started = Date.now();
    const res = await post('/v0/events/s3', { Records: [record(dots, ''), record(longSegment, ''), record(good, '')] });
    assert.deepEqual(res.json.routed, { hint: 3 }, JSON.stringify(res.json));
    const state = await idle(
      'hint',
      (s) => s.counters.filesFailed === before.counters.filesFailed + 2 && s.counters.rows === before.counters.rows + 2,
      40_000,
    );
    assert.ok(Date.now() - started < 40_000);
    const job = await jobReport(t.stack.client, state.lastJobId!);
    const errors = job.errors.map((e) => e.error).sort();
    assert.equal(errors.length, 2, JSON.stringify(job.errors));
    for (const e of errors)
      assert.match(e, /^s3:\/\/evts\/hint\/.*: the store refused the key \(HTTP 400\); not retried$/);
    assert.ok(errors.some((e) => e.includes('hint/../x.csv')));
    const rows = await sink().query(`SELECT count(*) AS n FROM hint WHERE id >= 6000 AND id < 6002`);
    assert.equal(Number(rows[0]!.n), 2);
  });

  it('issue 18 item 7: 1,000 failures of long keys: every job ends with a bounded report; every error is retrievable', async () => {
    const dir = Array.from({ length: 4 }, () => 'k'.repeat(200)).join('/');
    const missing = Array.from({ length: 1000 }, (_, i) => ({
      key: `long/${dir}/${i}.csv`,
      etag: 'f'.repeat(32),
      size: 10,
    }));
    const body = JSON.stringify({ Records: missing.map((o) => record(o, '')) });
    assert.ok(body.length > 1_000_000, `the request is ${body.length} bytes`);
    const res = await post('/v0/events/s3', undefined, TOKEN, body);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const state = await idle('long', (s) => s.counters.filesFailed === 1000, 240_000);
    assert.equal(state.counters.rows, 0);
    const jobs = (await apiGet('/v0/jobs?datasource=long')).json.jobs as {
      id: string;
      status: string;
      statistics: { files_failed: number; errors_omitted?: number };
      errors: unknown[];
    }[];
    let failed = 0;
    let retrievable = 0;
    for (const job of jobs) {
      const one = await apiGet(`/v0/jobs/${encodeURIComponent(job.id)}`);
      assert.equal(one.status, 200);
      assert.ok(one.bytes < 512 * 1024, `job ${job.id} report is ${one.bytes} bytes`);
      assert.notEqual(job.status, 'cancelled');
      assert.ok(job.errors.length <= 100);
      assert.equal(job.errors.length + (job.statistics.errors_omitted ?? 0), job.statistics.files_failed);
      failed += job.statistics.files_failed;
      // The rest are counted, and retrievable a page at a time.
      for (let offset = 0; ; offset += 100) {
        const page = (await apiGet(`/v0/jobs/${encodeURIComponent(job.id)}/errors?offset=${offset}&limit=100`))
          .json as { total: number; errors: { error: string }[] };
        assert.equal(page.total, job.statistics.files_failed);
        for (const e of page.errors)
          assert.match(e.error, /^s3:\/\/evts\/long\/k+\/.*: object was deleted before it could be loaded$/);
        retrievable += page.errors.length;
        if (page.errors.length < 100) break;
      }
    }
    assert.equal(failed, 1000);
    assert.equal(retrievable, 1000);
  });

  it('issue 18 item 7: a 3 MB batch of 20,000 records is accepted (signalled in parts); an over-limit body gets 413 with the limit', async () => {
    const paused = await fetch(`${api.url}/v0/datasources/bulk/scheduling/state`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'paused' }),
    });
    assert.equal(paused.status, 200);
    const objs = Array.from({ length: 20_000 }, (_, i) => ({ key: `bulk/${i}.csv`, etag: 'e'.repeat(32), size: 100 }));
    const body = JSON.stringify({ Records: objs.map((o) => record(o, '')) });
    assert.ok(body.length > 3_000_000 && body.length < 5 * 1024 * 1024, `the request is ${body.length} bytes`);
    const res = await post('/v0/events/s3', undefined, TOKEN, body);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json.routed, { bulk: 20_000 });
    // Paused: every object waits, none lost between the parts.
    await t.waitForState('bulk', (s) => s.queuedObjects === 20_000, 60_000);
    const over = await post(
      '/v0/events/s3',
      undefined,
      TOKEN,
      JSON.stringify({ Records: [], pad: 'x'.repeat(6 * 1024 * 1024) }),
    );
    assert.equal(over.status, 413);
    assert.match(String(over.json.error), /over the limit of 5 MB \(5242880 bytes\)/);
    assert.equal(over.json.limit_bytes, 5 * 1024 * 1024);
  });

  it('no secret value in workflow histories', async () => {
    assertNoSecrets(
      await allHistoriesText(t.stack.client),
      { TEST_S3_SECRET: t.minio.secretKey, API_TOKEN: TOKEN },
      'workflow history',
    );
  });
});
