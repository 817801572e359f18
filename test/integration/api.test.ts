/**
 * The HTTP API end to end on real parts (R6, R7.2, R9.2): a real MinIO whose
 * webhook points at the API, a Temporal dev server, a worker in process.
 *
 * - every call needs the token, and an unauthenticated call changes nothing;
 * - a sample job imports at most max_files into the sample table
 *   `<name>__sample` (replaced by each sample job), never the production
 *   table, and leaves the data source's next sync unaffected (it still loads
 *   every file, each row once: issue #19 item 3);
 * - jobs report, list, and cancel;
 * - scheduling runs / state / pause / resume;
 * - the trust and access policy endpoints;
 * - a file put into MinIO reaches the table through MinIO's webhook →
 *   /v0/events/s3 → signal, long before the poll interval (1 hour here).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { enableMinioWebhook, MINIO_WEBHOOK_ARN } from '../../src/aws/notifications';
import { deriveExternalId } from '../../src/aws/externalId';
import type { RunningApi } from '../../src/api';
import { freePort } from '../../src/local/processes';
import { SecretStore, defaultSecretsFile } from '../../src/datafiles';
import { minioConnection, startTestApi, startTestStack, type TestStack } from '../helpers/stack';

const TOKEN = 'test-token-0123456789abcdef';
const WORKSPACE_SECRET = 'workspace-secret-for-tests';
const CLOUD_ACCOUNT = '123456789012';

const SCHEMA = `SCHEMA >
    \`id\` Int32 \`json:$.id\`,
    \`name\` String \`json:$.name\`

ENGINE "MergeTree"
ENGINE_SORTING_KEY "id"
`;

function datasource(connection: string, uri: string, schedule: string): string {
  return `${SCHEMA}
IMPORT_CONNECTION_NAME ${connection}
IMPORT_BUCKET_URI ${uri}
IMPORT_SCHEDULE ${schedule}
`;
}

function csv(id: number): string {
  return `id,name\n${id},row-${id}\n`;
}

type Json = Record<string, unknown>;

describe('HTTP API', () => {
  let t: TestStack;
  let api: RunningApi;

  async function call(
    method: string,
    path: string,
    options: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; json: Json }> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? TOKEN : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    assert.ok(!text.includes(TOKEN), `the response of ${method} ${path} must not hold the token`);
    return { status: res.status, json: JSON.parse(text) as Json };
  }

  async function waitForJob(id: string, statuses: string[], timeoutMs = 60_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    let last: Json | undefined;
    while (Date.now() < deadline) {
      const res = await call('GET', `/v0/jobs/${id}`);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      last = res.json;
      if (statuses.includes(String(last.status))) return last;
      await sleep(250);
    }
    throw new Error(`job ${id} did not reach ${statuses.join('/')}; last: ${JSON.stringify(last)}`);
  }

  before(async () => {
    const apiPort = await freePort();
    t = await startTestStack({
      // Only an event can explain a load of the @auto data source within the test.
      workspace: { pollIntervalSeconds: 3600, filesPerMinute: 0 },
      minioEnv: {
        MINIO_NOTIFY_WEBHOOK_ENABLE_S3C: 'on',
        MINIO_NOTIFY_WEBHOOK_ENDPOINT_S3C: `http://127.0.0.1:${apiPort}/v0/events/s3`,
        MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_S3C: TOKEN,
      },
    });
    api = await startTestApi(t, {
      token: TOKEN,
      workspaceSecret: WORKSPACE_SECRET,
      cloudAccountId: CLOUD_ACCOUNT,
      port: apiPort,
    });
    await t.createBucket('landing');
    await t.createBucket('live');
    for (let i = 1; i <= 4; i++) await t.put('landing', `sample/file-${i}.csv`, csv(i));
    await t.put('live', 'in/first.csv', csv(100));
    t.write('minio.connection', minioConnection());
    // A second connection whose endpoint is made unreachable after deploy: its jobs retry, so they can be cancelled.
    t.write('slow.connection', minioConnection().replace('TEST_S3_ENDPOINT', 'SLOW_S3_ENDPOINT'));
    new SecretStore(defaultSecretsFile(t.projectDir)).set('SLOW_S3_ENDPOINT', t.minio.endpoint);
    t.write('sampled.datasource', datasource('minio', 's3://landing/sample/*.csv', '@on-demand'));
    t.write('slow.datasource', datasource('slow', 's3://landing/sample/*.csv', '@on-demand'));
    t.write('live.datasource', datasource('minio', 's3://live/in/*.csv', '@auto'));
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr + out.stdout);
    assert.match(out.stdout, /events: webhook notifications of s3:\/\/live\/in\/ turned on/);
    new SecretStore(defaultSecretsFile(t.projectDir)).set('SLOW_S3_ENDPOINT', `http://127.0.0.1:${await freePort()}`);
  });

  after(async () => {
    await api?.close();
    await t?.stop();
  });

  it('refuses calls without the token or with a wrong one, and changes nothing', async () => {
    for (const token of [null, 'wrong-token']) {
      const sample = await call('POST', '/v0/datasources/sampled/sample', { token, body: { max_files: 1 } });
      assert.equal(sample.status, 401);
      assert.match(String(sample.json.error), /unauthorized/);
      const pause = await call('PUT', '/v0/datasources/sampled/scheduling/state', { token, body: { state: 'paused' } });
      assert.equal(pause.status, 401);
      const run = await call('POST', '/v0/datasources/sampled/scheduling/runs', { token });
      assert.equal(run.status, 401);
      assert.equal((await call('GET', '/v0/jobs', { token })).status, 401);
      assert.equal((await call('GET', '/v0/nowhere', { token })).status, 401);
      assert.equal((await call('POST', '/v0/events/s3', { token, body: { Records: [] } })).status, 401);
    }
    const wrongQuery = await fetch(`${api.url}/v0/jobs?token=nope`);
    assert.equal(wrongQuery.status, 401);
    // Nothing changed: no sample job was started, the data source runs and did not sync.
    assert.deepEqual((await call('GET', '/v0/jobs?kind=sample')).json.jobs, []);
    assert.deepEqual((await call('GET', '/v0/jobs?datasource=sampled')).json.jobs, []);
    const state = await call('GET', '/v0/datasources/sampled/scheduling/state');
    assert.equal(state.json.state, 'running');
    assert.equal((state.json.counters as Json).syncs, 0);
    // The query parameter works as well as the header.
    const byQuery = await fetch(`${api.url}/v0/datasources/sampled/scheduling/state?token=${TOKEN}`);
    assert.equal(byQuery.status, 200);
  });

  it('validates bodies and names with clear errors', async () => {
    const tooMany = await call('POST', '/v0/datasources/sampled/sample', { body: { max_files: 11 } });
    assert.equal(tooMany.status, 400);
    assert.match(String(tooMany.json.error), /max_files: .*10/);
    const badState = await call('PUT', '/v0/datasources/sampled/scheduling/state', { body: { state: 'sleeping' } });
    assert.equal(badState.status, 400);
    assert.match(String(badState.json.error), /^invalid body: state: /);
    const notJson = await fetch(`${api.url}/v0/datasources/sampled/sample`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: '{',
    });
    assert.equal(notJson.status, 400);
    const unknown = await call('POST', '/v0/datasources/nope/sample', { body: { max_files: 1 } });
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.json.error), /data source nope is not deployed/);
    assert.equal((await call('GET', '/v0/jobs/no-such-job')).status, 404);
    assert.equal((await call('GET', '/v0/jobs?status=finished')).status, 400);
    // Issue 18 item 12: a workflow that is not a job is not found as one (never queried, never cancelled).
    for (const id of [`datasource/${t.workspace.workspace}/sampled`, `limiter/${t.workspace.workspace}`]) {
      for (const [method, path] of [
        ['GET', ''],
        ['POST', '/cancel'],
      ] as const) {
        const res = await call(method, `/v0/jobs/${encodeURIComponent(id)}${path}`);
        assert.equal(res.status, 404, `${method} ${id}${path}: ${JSON.stringify(res.json)}`);
        assert.match(String(res.json.error), /not found \(that workflow is not a job\)/);
      }
    }
    assert.equal((await call('GET', '/v0/datasources/sampled/scheduling/state')).json.state, 'running');
  });

  it('a sample job imports at most max_files into <name>__sample and reports done; the next sync loads every file into <name> once', async () => {
    const res = await call('POST', '/v0/datasources/sampled/sample', { body: { max_files: 2 } });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const jobId = String(res.json.job_id);
    assert.match(jobId, /^sampled-sample-/);
    assert.equal(res.json.job_url, `${api.url}/v0/jobs/${jobId}`);
    assert.equal((res.json.job as Json).kind, 'sample');
    assert.equal(res.json.table, 'sampled__sample');

    const job = await waitForJob(jobId, ['done', 'error']);
    assert.equal(job.status, 'done', JSON.stringify(job));
    assert.equal(job.kind, 'sample');
    assert.equal(job.datasource, 'sampled');
    const stats = job.statistics as Json;
    assert.equal(stats.found_files, 2);
    assert.equal(stats.files_done, 2);
    assert.equal(stats.row_count, 2);
    assert.ok(typeof job.created_at === 'string' && typeof job.updated_at === 'string');
    // Issue #19 item 3: the sampled rows are in the sample table, not in production.
    assert.equal(await t.stack.worker!.sink.rowCount('sampled__sample'), 2);
    assert.equal(await t.stack.worker!.sink.rowCount('sampled__sample_quarantine'), 0);
    assert.equal(await t.stack.worker!.sink.rowCount('sampled'), 0);

    // Sync now through the API: every one of the 4 files is loaded, the sampled ones too.
    const run = await call('POST', '/v0/datasources/sampled/scheduling/runs', {
      headers: { 'idempotency-key': 'run-1' },
    });
    assert.equal(run.status, 202, JSON.stringify(run.json));
    const state = await t.waitForState(
      'sampled',
      (s) => s.counters.syncs >= 1 && s.status !== 'syncing' && s.pendingSyncs === 0,
    );
    const sync = await waitForJob(String(state.lastJobId), ['done', 'error']);
    assert.equal(sync.kind, 'sync');
    assert.equal(sync.status, 'done');

    // The same idempotency key again is ignored by the workflow.
    const again = await call('POST', '/v0/datasources/sampled/scheduling/runs', {
      headers: { 'idempotency-key': 'run-1' },
    });
    assert.equal(again.status, 202);
    await sleep(1500);
    const after = await call('GET', '/v0/datasources/sampled/scheduling/state');
    assert.equal((after.json.counters as Json).syncs, 1);

    // Listing: by kind, by status, by data source.
    const samples = await call('GET', '/v0/jobs?kind=sample');
    assert.deepEqual(
      (samples.json.jobs as Json[]).map((j) => j.id),
      [jobId],
    );
    const syncs = await call('GET', '/v0/jobs?kind=sync&datasource=sampled&status=done');
    assert.deepEqual(
      (syncs.json.jobs as Json[]).map((j) => j.id),
      [state.lastJobId],
    );
    const cancelled = await call('GET', '/v0/jobs?status=cancelled&datasource=sampled');
    assert.deepEqual(cancelled.json.jobs, []);

    // R6.1: the sample moved neither the sync point nor the ledger, so the
    // sync loaded all 4 files (the 2 sampled ones included), each row once.
    assert.equal(
      (sync.statistics as Json).files_done,
      4,
      `the sync must load every file, sampled or not: ${JSON.stringify(sync)}`,
    );
    const ids = await t.stack.worker!.sink.query('SELECT id FROM sampled ORDER BY id');
    assert.deepEqual(
      ids.map((r) => Number(r.id)),
      [1, 2, 3, 4],
    );
    assert.equal((await t.stack.worker!.sink.ledger('sampled')).length, 4);
    assert.equal(await t.stack.worker!.sink.rowCount('sampled__sample'), 2);

    // The next sample job replaces the sample table: its 1 row only; production keeps its 4.
    const second = await call('POST', '/v0/datasources/sampled/sample', { body: { max_files: 1 } });
    assert.equal(second.status, 202, JSON.stringify(second.json));
    assert.equal((await waitForJob(String(second.json.job_id), ['done', 'error'])).status, 'done');
    assert.equal(await t.stack.worker!.sink.rowCount('sampled__sample'), 1);
    assert.equal(await t.stack.worker!.sink.rowCount('sampled'), 4);
  });

  it('a job can be cancelled, and then reports cancelled', async () => {
    const res = await call('POST', '/v0/datasources/slow/sample', { body: { max_files: 1 } });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const jobId = String(res.json.job_id);
    await waitForJob(jobId, ['working']);
    const cancel = await call('POST', `/v0/jobs/${jobId}/cancel`);
    assert.equal(cancel.status, 200, JSON.stringify(cancel.json));
    const job = await waitForJob(jobId, ['cancelled', 'done', 'error']);
    assert.equal(job.status, 'cancelled');
    const again = await call('POST', `/v0/jobs/${jobId}/cancel`);
    assert.equal(again.status, 409);
    const listed = await call('GET', '/v0/jobs?status=cancelled');
    assert.deepEqual(
      (listed.json.jobs as Json[]).map((j) => j.id),
      [jobId],
    );
  });

  it('scheduling state: pause, sync refused while paused, resume', async () => {
    const paused = await call('PUT', '/v0/datasources/sampled/scheduling/state', { body: { state: 'paused' } });
    assert.equal(paused.status, 200, JSON.stringify(paused.json));
    assert.equal(paused.json.state, 'paused');
    assert.equal((await call('GET', '/v0/datasources/sampled/scheduling/state')).json.state, 'paused');
    const run = await call('POST', '/v0/datasources/sampled/scheduling/runs');
    assert.equal(run.status, 409);
    assert.match(String(run.json.error), /paused/);
    // Issue 18 item 14: the CLI follows the API's rule: refused, nothing queued.
    const cli = await t.cli(['datasource', 'sync', 'sampled', '--yes', '--no-wait']);
    assert.notEqual(cli.code, 0, cli.stdout + cli.stderr);
    assert.match(cli.stderr, /data source sampled is paused: resume it/);
    assert.equal((await call('GET', '/v0/datasources/sampled/scheduling/state')).json.pending_syncs, 0);
    const resumed = await call('PUT', '/v0/datasources/sampled/scheduling/state', { body: { state: 'running' } });
    assert.equal(resumed.json.state, 'running');
    const listed = await call('GET', '/v0/datasources');
    const names = (listed.json.datasources as Json[]).map((d) => [d.name, d.state, d.schedule]);
    assert.deepEqual(names, [
      ['live', 'running', '@auto'],
      ['sampled', 'running', '@on-demand'],
      ['slow', 'running', '@on-demand'],
    ]);
  });

  it('lists connections without secrets', async () => {
    const res = await call('GET', '/v0/connections');
    assert.equal(res.status, 200);
    assert.deepEqual(
      (res.json.connections as Json[]).map((c) => [c.name, c.region, c.auth]),
      [
        ['minio', 'us-east-1', 'static_keys'],
        ['slow', 'us-east-1', 'static_keys'],
      ],
    );
    const text = JSON.stringify(res.json);
    assert.ok(!text.includes(t.minio.secretKey));
    assert.ok(!text.includes(t.minio.accessKey));
  });

  it('returns the trust policy with the derived external id, and the access policy', async () => {
    const res = await call('GET', '/v0/integrations/s3/policies/trust-policy?external_id_seed=my_conn');
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json, {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { AWS: `arn:aws:iam::${CLOUD_ACCOUNT}:root` },
          Condition: { StringEquals: { 'sts:ExternalId': deriveExternalId(WORKSPACE_SECRET, 'local', 'my_conn') } },
        },
      ],
    });
    const missing = await call('GET', '/v0/integrations/s3/policies/trust-policy');
    assert.equal(missing.status, 400);
    assert.match(String(missing.json.error), /external_id_seed/);
    const access = await call('GET', '/v0/integrations/s3/policies/access-policy?bucket=a-bucket&bucket=b-bucket');
    assert.equal(access.status, 200);
    assert.deepEqual((access.json.Statement as Json[])[0]!.Resource, [
      'arn:aws:s3:::a-bucket',
      'arn:aws:s3:::a-bucket/*',
      'arn:aws:s3:::b-bucket',
      'arn:aws:s3:::b-bucket/*',
    ]);
    const bad = await call('GET', '/v0/integrations/s3/policies/access-policy?bucket=Bad_Bucket');
    assert.equal(bad.status, 400);
  });

  it("a file put into MinIO reaches the table through MinIO's webhook, well before the poll interval", async () => {
    await t.waitForState('live', (s) => s.initialSyncDone && s.status !== 'syncing', 60_000);
    assert.equal(await t.stack.worker!.sink.rowCount('live'), 1);
    // Deploy of the @auto data source turned the bucket's webhook notification on (R9.1) ...
    const wired = await enableMinioWebhook(t.s3, 'live', { prefix: 'in/', queueArn: MINIO_WEBHOOK_ARN });
    assert.equal(wired.changed, false, 'deploy should have turned on the webhook notification already');

    const started = Date.now();
    await t.put('live', 'in/new file+1 été.csv', csv(101));
    await t.put('live', 'out/ignored.csv', csv(999));
    const state = await t.waitForState('live', (s) => s.counters.filesLoaded >= 2, 30_000);
    assert.ok(Date.now() - started < 30_000);
    assert.equal(state.counters.filesLoaded, 2);
    assert.equal(await t.stack.worker!.sink.rowCount('live'), 2);
    const keys = (await t.stack.worker!.sink.ledger('live')).map((e) => e.key).sort();
    assert.deepEqual(keys, ['in/first.csv', 'in/new file+1 été.csv']);

    // A duplicate delivery of the same event loads nothing more.
    const replay = await call('POST', '/v0/events/s3', {
      body: {
        Records: [
          {
            eventName: 'ObjectCreated:Put',
            eventTime: new Date().toISOString(),
            s3: {
              bucket: { name: 'live' },
              object: {
                key: 'in/new+file%2B1+%C3%A9t%C3%A9.csv',
                eTag: (await t.stack.worker!.sink.ledger('live')).find((e) => e.key.startsWith('in/new'))!.etag,
                size: 16,
              },
            },
          },
        ],
      },
    });
    assert.equal(replay.status, 200, JSON.stringify(replay.json));
    assert.deepEqual(replay.json.routed, { live: 1 });
    await sleep(2000);
    assert.equal(await t.stack.worker!.sink.rowCount('live'), 2);
  });

  it('CLI: datasource sample starts a job and, with --wait, prints its statistics', async () => {
    const bad = await t.cli(['datasource', 'sample', 'sampled', '--max-files', '11']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--max-files: expected an integer from 1 to 10, found '11'/);
    const out = await t.cli(['datasource', 'sample', 'sampled', '--max-files', '1', '--wait']);
    assert.equal(out.code, 0, out.stderr + out.stdout);
    assert.match(out.stdout, /Sample job sampled-sample-\S+ started \(up to 1 file of sampled\)/);
    assert.match(out.stdout, /\(sample\) done/);
    assert.match(out.stdout, /files: 1 found, 1 done, 0 failed/);
  });

  it('CLI: api serves with a token file it creates, never printing the token', async () => {
    const port = await freePort();
    const { spawn } = await import('node:child_process');
    const { join } = await import('node:path');
    const { readFileSync } = await import('node:fs');
    const { repoRoot } = await import('../../src/local/tools');
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 's3c.js'), 'api', '--port', String(port)], {
      cwd: t.projectDir,
      env: { ...process.env, TEMPORAL_ADDRESS: t.stack.temporal.temporal.address, S3C_API_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
    try {
      const deadline = Date.now() + 60_000;
      while (!stdout.includes('Ctrl-C stops.') && Date.now() < deadline) await sleep(100);
      assert.match(stdout, new RegExp(`API listening on http://127\\.0\\.0\\.1:${port}`));
      assert.match(stdout, /Token: created in .*\.s3c\/api-token/);
      const token = readFileSync(join(t.projectDir, '.s3c', 'api-token'), 'utf8').trim();
      assert.ok(!stdout.includes(token), 'the token is never printed');
      const res = await fetch(`http://127.0.0.1:${port}/v0/datasources?token=${token}`);
      assert.equal(res.status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/v0/datasources`)).status, 401);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    }
    assert.match(stdout, /API stopped\./);
  });

  it('the event endpoint answers counts, ignores deletes and refuses what is not an event', async () => {
    const res = await call('POST', '/v0/events/s3', {
      body: [
        {
          'detail-type': 'Object Deleted',
          source: 'aws.s3',
          detail: { bucket: { name: 'live' }, object: { key: 'in/x.csv' } },
        },
        {
          'detail-type': 'Object Created',
          source: 'aws.s3',
          time: new Date().toISOString(),
          detail: { bucket: { name: 'nobody' }, object: { key: 'a.csv', etag: 'e', size: 1 } },
        },
      ],
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.accepted, 1);
    assert.equal(res.json.ignored, 1);
    assert.deepEqual(res.json.routed, {});
    assert.equal(res.json.unmatched, 1);
    const bad = await call('POST', '/v0/events/s3', { body: { hello: 'world' } });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.error), /^not an S3 event/);
  });
});
