/**
 * Faults of the object store, on a real MinIO behind a fault-injecting proxy
 * (test/helpers/faultProxy.ts), with a real Temporal dev server and worker:
 *
 * - MinIO stopped for a while mid-sync; 503 SlowDown and 500 answers; a
 *   response body cut mid-stream (scenario 3);
 * - an object overwritten (new ETag) during its download, between its
 *   listing and its download, and after its ingest (5);
 * - a multipart upload in progress across two syncs (6);
 * - AssumeRole denied (8), and the ExternalId sent on every AssumeRole;
 * - temporary credentials refused as expired during a long download (9):
 *   the role is really assumed through MinIO's STS; MinIO's shortest session
 *   is 15 minutes, so the expiry itself is simulated by the proxy refusing the
 *   first session token (as S3 answers `ExpiredToken`);
 * - keys with spaces, '+', '%', unicode and glob characters (10).
 *
 * Each scenario ends comparing the table with the files, with exact counts.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { dataSourceState, jobReport } from '../../src/client/dataSources';
import { deriveExternalId, loadWorkspaceSecret } from '../../src/aws/externalId';
import { defaultSecretsFile, SecretStore } from '../../src/datafiles';
import type { DataSourceState, JobReport } from '../../src/contract';
import { startFaultProxy, objectGet, type FaultProxy } from '../helpers/faultProxy';
import {
  allHistoriesText,
  assertNoSecrets,
  assertTableMatchesFiles,
  csvRows,
  eventually,
  range,
  syncAndWait,
} from '../helpers/faults';
import { idNameDataSource, minioConnection, startTestStack, type TestStack } from '../helpers/stack';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/s3c-ingest';

function datasource(uri: string, connection = 'minio'): string {
  return idNameDataSource(uri, { connection });
}

/** A connection that assumes a role through MinIO's STS, from static base keys. */
function roleConnection(keySecret: string, secretSecret: string): string {
  return [
    'TYPE s3',
    'S3_REGION "us-east-1"',
    'S3_ENDPOINT {{ tb_secret("TEST_S3_ENDPOINT") }}',
    `S3_ARN {{ tb_secret("TEST_ROLE_ARN") }}`,
    `S3_ACCESS_KEY {{ tb_secret("${keySecret}") }}`,
    `S3_SECRET {{ tb_secret("${secretSecret}") }}`,
    '',
  ].join('\n');
}

describe('faults: S3 errors, outages, overwrites, credentials, odd keys', () => {
  let t: TestStack;
  let proxy: FaultProxy;
  const secrets = () => new SecretStore(defaultSecretsFile(t.projectDir));

  before(async () => {
    t = await startTestStack({ workspace: { filesPerMinute: 0, pollIntervalSeconds: 3600 } });
    proxy = await startFaultProxy(t.minio.endpoint);
    const store = secrets();
    store.set('TEST_S3_ENDPOINT', proxy.endpoint);
    store.set('TEST_ROLE_ARN', ROLE_ARN);
    store.set('DENIED_KEY', 'not-a-minio-user');
    store.set('DENIED_SECRET', 'not-the-secret-of-anyone');
    await t.createBucket('faults');
    t.write('minio.connection', minioConnection());
    t.write('role.connection', roleConnection('TEST_S3_ACCESS_KEY', 'TEST_S3_SECRET'));
    for (const name of ['outage', 'errors', 'overwrite', 'multipart', 'weird', 'literal', 'stall']) {
      const uri = name === 'literal' ? 's3://faults/literal/[a]*(1).csv' : `s3://faults/${name}/*.csv`;
      t.write(`${name}.datasource`, datasource(uri));
    }
    t.write('creds.datasource', datasource('s3://faults/creds/*.csv', 'role'));
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
  });

  after(async () => {
    await proxy?.close();
    await t?.stop();
  });

  const sink = () => t.stack.worker!.sink;

  const sync = (name: string, during?: () => Promise<void>, timeoutMs = 120_000) =>
    syncAndWait(t.stack.client, name, { during, timeoutMs });

  it('MinIO stopped for a while, mid-listing and mid-download: the sync waits it out, every row once', async () => {
    // 2 MB, streamed for ~6 s: more than the sockets buffer, so stopping MinIO cuts it.
    await t.put('faults', 'outage/long.csv', csvRows(1, 150_000));
    await t.put('faults', 'outage/short.csv', csvRows(500_000, 100));
    proxy.throttleNext(1, { chunkBytes: 32 * 1024, delayMs: 100 }, objectGet('outage/long.csv'));
    const { state, job } = await sync('outage', async () => {
      // Mid-download: the answer is streaming (not merely requested, which MinIO may not have answered yet).
      await eventually(
        'long.csv mid-download',
        async () =>
          proxy.log.some((r) => r.path.endsWith('outage/long.csv') && r.action.startsWith('throttled'))
            ? true
            : undefined,
        60_000,
        20,
      );
      // Down for 6 s: the download breaks, and the retries meet a closed port until MinIO is back.
      // MinIO's data is already in the sockets' buffers: break the streams in flight as a crash would.
      proxy.breakConnections();
      await t.restartMinio(6000);
    });
    assert.equal(job.status, 'done', JSON.stringify(job.errors));
    assert.equal(job.statistics.files_done, 2);
    assert.equal(job.statistics.files_failed, 0);
    assert.equal(job.statistics.row_count, 150_100);
    assert.equal(state.counters.rows, 150_100);
    const longGets = proxy.log.filter((r) => r.path.endsWith('outage/long.csv'));
    assert.ok(
      longGets[0]!.action.startsWith('throttled') && longGets.length >= 2,
      `the outage broke the first download of long.csv, which was fetched again: ${JSON.stringify(longGets.map((r) => r.action))}`,
    );
    assert.ok(
      longGets.some((r) => r.action.startsWith('upstream error')),
      'a retry met MinIO down',
    );
    assert.ok(
      longGets.some((r) => r.status === 200 && r.action === 'forwarded'),
      'long.csv was downloaded again after the outage',
    );
    await assertTableMatchesFiles(sink(), 'outage', {
      ids: [...range(1, 150_000), ...range(500_000, 100)],
      files: { 'outage/long.csv': 150_000, 'outage/short.csv': 100 },
    });
  });

  it('503 SlowDown, 500 InternalError and a body cut mid-stream are retried; nothing partial is loaded', async () => {
    await t.put('faults', 'errors/a.csv', csvRows(1, 500));
    await t.put('faults', 'errors/b.csv', csvRows(1000, 500));
    await t.put('faults', 'errors/c.csv', csvRows(2000, 3000));
    const listing = (r: { method: string; url: string }) =>
      r.method === 'GET' && r.url.includes('list-type=2') && r.url.includes('errors');
    proxy.failNext(3, { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' }, listing);
    proxy.failNext(
      4,
      { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
      objectGet('errors/a.csv'),
    );
    proxy.failNext(
      4,
      { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
      objectGet('errors/b.csv'),
    );
    proxy.cutNext(2, 4096, objectGet('errors/c.csv'));
    const { state, job } = await sync('errors');
    assert.equal(proxy.armed(), 0, 'every injected fault was met');
    assert.equal(job.status, 'done', JSON.stringify(job.errors));
    assert.equal(job.statistics.files_done, 3);
    assert.equal(job.statistics.files_failed, 0);
    assert.equal(job.statistics.row_count, 4000);
    assert.equal(state.counters.rows, 4000);
    assert.equal(proxy.log.filter((r) => r.path.endsWith('errors/c.csv') && r.action.startsWith('cut')).length, 2);
    await assertTableMatchesFiles(sink(), 'errors', {
      ids: [...range(1, 500), ...range(1000, 500), ...range(2000, 3000)],
      files: { 'errors/a.csv': 500, 'errors/b.csv': 500, 'errors/c.csv': 3000 },
    });
  });

  it('a file retried again and again is never a silent stall: datasource ls and the job report show the retried error', async () => {
    await t.put('faults', 'stall/a.csv', csvRows(1, 100));
    // The download fails until both places have shown it (then the store heals): a fixed number of
    // failures left a window of seconds, which a loaded machine's CLI calls could miss.
    proxy.failNext(
      1000,
      { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
      objectGet('stall/a.csv'),
    );
    const seen: { ls?: string; job?: string[]; lastLs?: string; lastJob?: string[] } = {};
    const retried = /retrying \w+ \(attempt \d+ of 30\): .*internal ?error/i;
    const { job } = await sync(
      'stall',
      async () => {
        try {
          await eventually(
            'the retried error in datasource ls and in the job report',
            async () => {
              const ls = await t.cli(['datasource', 'ls']);
              const line = ls.stdout.split('\n').find((l) => l.startsWith('stall '));
              seen.lastLs = line ?? ls.stdout + ls.stderr;
              if (line && retried.test(line)) seen.ls = line;
              const s = await dataSourceState(t.stack.client, 'local', 'stall');
              if (s?.currentJobId) {
                const report = await jobReport(t.stack.client, s.currentJobId);
                seen.lastJob = report.retrying;
                if (report.retrying?.some((r) => retried.test(r))) seen.job = report.retrying;
              }
              return seen.ls && seen.job ? true : undefined;
            },
            90_000,
            500,
          ).catch((e: Error) => {
            throw new Error(`${e.message}; last seen: ${JSON.stringify(seen)}`);
          });
        } finally {
          proxy.clearRules();
        }
      },
      180_000,
    );
    assert.ok(seen.ls && seen.job);
    assert.equal(job.status, 'done', JSON.stringify(job.errors));
    assert.equal(job.statistics.row_count, 100);
  });

  it('an object overwritten during its download, before its download, and after its ingest: each version once', async () => {
    // during: v1 streams slowly while v2 lands; the version pinned by its ETag is loaded, then v2 on the next sync.
    await t.put('faults', 'overwrite/during.csv', csvRows(1, 2000));
    // before: v1 is listed, its download is held back (SlowDown) while v2 lands, then If-Match refuses v1.
    await t.put('faults', 'overwrite/before.csv', csvRows(10_000, 100));
    proxy.throttleNext(1, { chunkBytes: 2048, delayMs: 150 }, objectGet('overwrite/during.csv'));
    proxy.failNext(1000, { status: 503, code: 'SlowDown' }, objectGet('overwrite/before.csv'));
    const first = await sync('overwrite', async () => {
      await eventually(
        'both downloads started',
        async () =>
          proxy.log.some((r) => r.path.endsWith('overwrite/during.csv')) &&
          proxy.log.some((r) => r.path.endsWith('overwrite/before.csv'))
            ? true
            : undefined,
        60_000,
        20,
      );
      await t.put('faults', 'overwrite/during.csv', csvRows(3000, 50));
      await t.put('faults', 'overwrite/before.csv', csvRows(20_000, 70));
      proxy.clearRules();
    });
    assert.equal(first.job.statistics.files_done, 1);
    assert.equal(first.job.statistics.files_failed, 1);
    assert.equal(first.job.errors.length, 1);
    assert.equal(first.job.errors[0]!.key, 'overwrite/before.csv');
    assert.match(
      first.job.errors[0]!.error,
      /s3:\/\/faults\/overwrite\/before\.csv: object was overwritten \(ETag \w+ is gone\); the new version is loaded on its own/,
    );
    assert.equal(first.job.statistics.row_count, 2000);

    const second = await sync('overwrite');
    assert.equal(second.job.statistics.files_done, 2, 'the new versions of both files');
    assert.equal(second.job.statistics.row_count, 120);
    assert.equal(second.job.statistics.files_failed, 0);

    // after: overwritten once loaded → loaded again, the old rows stay (a new version is new data).
    await t.put('faults', 'overwrite/during.csv', csvRows(4000, 5));
    const third = await sync('overwrite');
    assert.equal(third.job.statistics.files_done, 1);
    assert.equal(third.job.statistics.row_count, 5);
    const fourth = await sync('overwrite');
    assert.equal(fourth.job.statistics.found_files, 0);

    await assertTableMatchesFiles(sink(), 'overwrite', {
      ids: [...range(1, 2000), ...range(3000, 50), ...range(4000, 5), ...range(20_000, 70)],
      files: { 'overwrite/during.csv': [2000, 50, 5], 'overwrite/before.csv': 70 } as never,
    });
  });

  it('a multipart upload in progress across two syncs is loaded once, after it completes', async () => {
    const key = 'multipart/big.csv';
    const started = await t.s3.send(new CreateMultipartUploadCommand({ Bucket: 'faults', Key: key }));
    const part1 = csvRows(100_000, 260_000, '-padding-to-five-mebibytes');
    assert.ok(Buffer.byteLength(part1) > 5 * 1024 * 1024);
    const p1 = await t.s3.send(
      new UploadPartCommand({ Bucket: 'faults', Key: key, UploadId: started.UploadId, PartNumber: 1, Body: part1 }),
    );
    await t.put('faults', 'multipart/small.csv', csvRows(1, 10));
    const first = await sync('multipart');
    assert.equal(first.job.statistics.found_files, 1);
    assert.equal(first.job.statistics.row_count, 10);
    // The second part lands after the first sync; then a sync with the upload still open.
    const part2 = csvRows(900_000, 10).replace(/^id,name\n/, '');
    const p2 = await t.s3.send(
      new UploadPartCommand({ Bucket: 'faults', Key: key, UploadId: started.UploadId, PartNumber: 2, Body: part2 }),
    );
    const second = await sync('multipart');
    assert.equal(second.job.statistics.found_files, 0);
    await t.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'faults',
        Key: key,
        UploadId: started.UploadId,
        MultipartUpload: {
          Parts: [
            { ETag: p1.ETag, PartNumber: 1 },
            { ETag: p2.ETag, PartNumber: 2 },
          ],
        },
      }),
    );
    const third = await sync('multipart');
    assert.equal(third.job.statistics.files_done, 1);
    assert.equal(third.job.statistics.row_count, 260_010);
    const fourth = await sync('multipart');
    assert.equal(fourth.job.statistics.found_files, 0);
    await assertTableMatchesFiles(sink(), 'multipart', {
      ids: [...range(1, 10), ...range(100_000, 260_000), ...range(900_000, 10)],
      files: { 'multipart/small.csv': 10, 'multipart/big.csv': 260_010 },
    });
  });

  it('keys with spaces, +, %, unicode and glob characters are listed, read and recorded exactly', async () => {
    const keys = [
      'weird/a b.csv',
      'weird/a+b.csv',
      'weird/100%.csv',
      'weird/%2B.csv',
      'weird/ünïcødé 日本.csv',
      'weird/[x]{y}(z)?*!.csv',
    ];
    for (const [i, key] of keys.entries()) await t.put('faults', key, csvRows(i * 10, 3));
    // Literal glob characters in the pattern: `[a]` and `(1)` match only themselves.
    await t.put('faults', 'literal/[a]x(1).csv', csvRows(500, 2));
    await t.put('faults', 'literal/ax(1).csv', csvRows(600, 2));
    await t.put('faults', 'literal/[a]x1.csv', csvRows(700, 2));
    const weird = await sync('weird');
    assert.equal(weird.job.status, 'done', JSON.stringify(weird.job.errors));
    assert.equal(weird.job.statistics.files_done, keys.length);
    const literal = await sync('literal');
    assert.equal(literal.job.statistics.files_done, 1);
    await assertTableMatchesFiles(sink(), 'weird', {
      ids: keys.flatMap((_, i) => range(i * 10, 3)),
      files: Object.fromEntries(keys.map((k) => [k, 3])),
    });
    await assertTableMatchesFiles(sink(), 'literal', { ids: range(500, 2), files: { 'literal/[a]x(1).csv': 2 } });
  });

  it('a role assumed through STS with the external id; credentials refused as expired during a long download are renewed', async () => {
    const externalId = deriveExternalId(
      loadWorkspaceSecret(join(t.projectDir, '.s3c', 'workspace-secret')),
      'local',
      'role',
    );
    await t.put('faults', 'creds/long.csv', csvRows(1, 20_000));
    await t.put('faults', 'creds/a.csv', csvRows(30_000, 10));
    proxy.throttleNext(1, { chunkBytes: 8 * 1024, delayMs: 80 }, objectGet('creds/long.csv'));
    let firstToken: string | undefined;
    const first = await sync('creds', async () => {
      const get = await eventually(
        'long.csv mid-download',
        async () => proxy.log.find((r) => r.path.endsWith('creds/long.csv') && r.sessionToken),
        60_000,
        20,
      );
      firstToken = get.sessionToken!;
      // From now on S3 refuses this session token, as it does once temporary credentials expire.
      proxy.expireSessionTokens([firstToken]);
    });
    assert.equal(first.job.status, 'done', JSON.stringify(first.job.errors));
    assert.equal(first.job.statistics.row_count, 20_010);

    await t.put('faults', 'creds/b.csv', csvRows(40_000, 10));
    const second = await sync('creds');
    assert.equal(second.job.status, 'done', JSON.stringify(second.job.errors));
    assert.equal(second.job.statistics.row_count, 10);
    assert.ok(
      proxy.log.some((r) => r.action === 'expired token'),
      'a request met the expired token',
    );
    const assumes = proxy.log.filter((r) => r.form?.includes('Action=AssumeRole'));
    assert.ok(
      assumes.length >= 2,
      `the role was assumed again after the token was refused (${assumes.length} AssumeRole calls)`,
    );
    for (const a of assumes) {
      const form = new URLSearchParams(a.form);
      assert.equal(form.get('ExternalId'), externalId, "every AssumeRole carries the connection's external id");
      assert.equal(form.get('RoleArn'), ROLE_ARN);
    }
    const tokens = new Set(
      proxy.log.filter((r) => r.path.includes('/faults/creds') || r.url.includes('creds')).map((r) => r.sessionToken),
    );
    assert.ok(tokens.size >= 2, 'S3 calls were signed with the renewed session');
    await assertTableMatchesFiles(sink(), 'creds', {
      ids: [...range(1, 20_000), ...range(30_000, 10), ...range(40_000, 10)],
      files: { 'creds/long.csv': 20_000, 'creds/a.csv': 10, 'creds/b.csv': 10 },
    });
    // No session token, secret key or external id in any workflow history.
    const history = await allHistoriesText(t.stack.client);
    const sessionTokens = Object.fromEntries(
      [...new Set(proxy.log.map((r) => r.sessionToken).filter((x): x is string => !!x))].map((v, i) => [
        `session token ${i}`,
        v,
      ]),
    );
    assertNoSecrets(history, { ...sessionTokens, TEST_S3_SECRET: t.minio.secretKey, externalId }, 'workflow history');
  });

  it('AssumeRole denied: deploy --check refuses with a clear error, and an ingest fails on that file alone', async () => {
    t.write('denied.connection', roleConnection('DENIED_KEY', 'DENIED_SECRET'));
    t.write('denied.datasource', datasource('s3://faults/denied/*.csv', 'denied'));
    const check = await t.cli(['deploy', '--check']);
    assert.notEqual(check.code, 0);
    const text = check.stdout + check.stderr;
    assert.match(
      text,
      /denied\.connection:\d+: connection denied cannot access bucket faults for data source denied: cannot assume role .* access denied/,
    );
    assert.match(text, /trust policy/);
    assertNoSecrets(
      text,
      { DENIED_SECRET: 'not-the-secret-of-anyone', TEST_S3_SECRET: t.minio.secretKey },
      'deploy --check output',
    );
    const deploy = await t.cli(['deploy']);
    assert.notEqual(deploy.code, 0, 'deploy refuses too');
    assert.equal(await dataSourceState(t.stack.client, 'local', 'denied'), undefined, 'nothing deployed');

    rmSync(join(t.projectDir, 'denied.connection'));
    rmSync(join(t.projectDir, 'denied.datasource'));

    // A deployed role connection whose base keys are revoked: the role cannot be assumed,
    // the job fails with the reason (no retry can fix it), and the data source goes on.
    secrets().set('TEST_S3_ACCESS_KEY', 'revoked-key-id');
    await t.put('faults', 'creds/c.csv', csvRows(50_000, 3));
    const refused = await sync('creds');
    assert.equal(refused.job.status, 'error');
    assert.equal(refused.job.statistics.files_done, 0);
    assert.ok(refused.job.errors.length >= 1);
    for (const e of refused.job.errors) {
      assert.match(
        e.error,
        /cannot assume role arn:aws:iam::123456789012:role\/s3c-ingest for connection role: access denied \(\w+\)\. Check the role's trust policy/,
      );
    }
    assert.match(refused.state.lastError ?? '', /access denied/);
    assertNoSecrets(JSON.stringify(refused.job), { TEST_S3_SECRET: t.minio.secretKey }, 'the job report');
    secrets().set('TEST_S3_ACCESS_KEY', t.minio.accessKey);
    const recovered = await sync('creds');
    assert.equal(recovered.job.status, 'done', JSON.stringify(recovered.job.errors));
    assert.equal(recovered.job.statistics.files_done, 1);
    await assertTableMatchesFiles(sink(), 'creds', {
      ids: [...range(1, 20_000), ...range(30_000, 10), ...range(40_000, 10), ...range(50_000, 3)],
      files: { 'creds/long.csv': 20_000, 'creds/a.csv': 10, 'creds/b.csv': 10, 'creds/c.csv': 3 },
    });
  });
});
