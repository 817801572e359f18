/**
 * Permissions of the role, on a real MinIO whose users have real policies
 * (created with MinIO's admin API, test/helpers/minioAdmin.ts), with a real
 * Temporal dev server and worker:
 *
 * - a user with the reference's access policy, which lacks
 *   s3:ListBucketMultipartUploads: deploy names the missing action, and the
 *   data source says "upload race unguarded" in `datasource ls`, the job
 *   report and its workflow's memo (the Web UI), and still loses no upload;
 * - a user with the policy the product prints: no warning, and the upload
 *   race is closed by seeing the upload.
 *
 * The look-back window is 1 s here, so that a multipart upload stays open
 * across several windows; its object is stamped with the upload's start, as
 * S3 does (MinIO stamps the completion unless told otherwise).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { accessPolicy } from '../../src/aws/policies';
import { defaultSecretsFile, SecretStore } from '../../src/datafiles';
import { dataSourceWorkflowId, type JobReport } from '../../src/contract';
import {
  allHistoriesText,
  assertNoSecrets,
  assertTableMatchesFiles,
  csvRows,
  range,
  syncAndWait,
} from '../helpers/faults';
import { addPolicy, addUserWithPolicy } from '../helpers/minioAdmin';
import { idNameDataSource, startTestStack, type TestStack } from '../helpers/stack';

const BUCKET = 'access';
const LOOK_BACK_S = 1;
/** The reference's access policy ("AWS permissions"): no s3:ListBucketMultipartUploads. */
const REFERENCE_ACTIONS = [
  's3:GetObject',
  's3:ListBucket',
  's3:GetBucketNotification',
  's3:PutBucketNotification',
  's3:GetBucketLocation',
];
const USERS = {
  reference: { accessKey: 'reference-user', secretKey: 'reference-user-secret-0451' },
  printed: { accessKey: 'printed-user', secretKey: 'printed-user-secret-0452' },
  silent: { accessKey: 'silent-user', secretKey: 'silent-user-secret-0453' },
};
const UNGUARDED = /upload race unguarded: s3:ListBucketMultipartUploads denied/;

function keyConnection(user: keyof typeof USERS): string {
  return [
    'TYPE s3',
    'S3_REGION "us-east-1"',
    'S3_ENDPOINT {{ tb_secret("TEST_S3_ENDPOINT") }}',
    `S3_ACCESS_KEY {{ tb_secret("${user.toUpperCase()}_KEY") }}`,
    `S3_SECRET {{ tb_secret("${user.toUpperCase()}_SECRET") }}`,
    '',
  ].join('\n');
}

describe("faults: the role's permissions", () => {
  let t: TestStack;

  before(async () => {
    t = await startTestStack({
      workspace: { filesPerMinute: 0, pollIntervalSeconds: 3600, lookBackSeconds: LOOK_BACK_S },
    });
    await t.createBucket(BUCKET);
    const resources = [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`];
    await addPolicy(t.minio, 'reference', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: REFERENCE_ACTIONS, Resource: resources }],
    });
    // What `s3c connection create s3` prints, as the user would paste it.
    await addPolicy(t.minio, 'printed', accessPolicy([BUCKET]));
    await addUserWithPolicy(t.minio, USERS.reference, 'reference');
    await addUserWithPolicy(t.minio, USERS.printed, 'printed');
    // Every action but the notification ones: an @auto data source then polls, and deploy says why.
    const silentActions = accessPolicy([BUCKET]).Statement[0]!.Action.filter((a) => !a.includes('BucketNotification'));
    await addPolicy(t.minio, 'silent', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: silentActions, Resource: resources }],
    });
    await addUserWithPolicy(t.minio, USERS.silent, 'silent');
    const store = new SecretStore(defaultSecretsFile(t.projectDir));
    for (const [name, user] of Object.entries(USERS)) {
      store.set(`${name.toUpperCase()}_KEY`, user.accessKey);
      store.set(`${name.toUpperCase()}_SECRET`, user.secretKey);
    }
    t.write('reference.connection', keyConnection('reference'));
    t.write('printed.connection', keyConnection('printed'));
    t.write('silent.connection', keyConnection('silent'));
    t.write(
      'polled.datasource',
      idNameDataSource(`s3://${BUCKET}/polled/*.csv`, { connection: 'silent', schedule: '@auto' }),
    );
    t.write('unguarded.datasource', idNameDataSource(`s3://${BUCKET}/unguarded/*.csv`, { connection: 'reference' }));
    t.write('guarded.datasource', idNameDataSource(`s3://${BUCKET}/guarded/*.csv`, { connection: 'printed' }));
  });

  after(async () => {
    await t?.stop();
  });

  const sync = (name: string) => syncAndWait(t.stack.client, name, { timeoutMs: 60_000, everyMs: 200 });

  it("deploy --check and deploy name the action the reference's policy lacks, and deploy goes on", async () => {
    const check = await t.cli(['deploy', '--check']);
    // Deployed first, so that the next test runs whatever this one finds.
    const deploy = await t.cli(['deploy']);
    assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const text = check.stdout + check.stderr;
    assert.match(
      text,
      /unguarded\.datasource:\d+: connection reference may not list multipart uploads \(s3:ListBucketMultipartUploads denied\)/,
    );
    assert.match(text, /upload race unguarded/);
    assert.doesNotMatch(text, /connection printed may not/, 'the printed policy allows every action the product uses');
    assert.match(
      text,
      /polled\.datasource:\d+: connection silent may not read the notifications of bucket access \(s3:GetBucketNotification denied\): events cannot be turned on for @auto data source polled, which polls every 3600s/,
    );
    assert.doesNotMatch(text, /connection silent may not list/);
    assertNoSecrets(
      text + deploy.stdout + deploy.stderr,
      Object.fromEntries(Object.entries(USERS).map(([k, u]) => [k, u.secretKey])),
      'deploy output',
    );
    assert.match(deploy.stdout + deploy.stderr, /s3:ListBucketMultipartUploads denied/);
    // PutBucketNotification cannot be probed without a write: turning the events on says it.
    assert.match(
      deploy.stdout,
      /events: could not turn on notifications for s3:\/\/access\/polled\/ \(AccessDenied.*s3:PutBucketNotification\); polled is polling every 3600s/,
    );
  });

  it('an upload open across more than one look-back window is loaded once; without the permission the data source says so', async () => {
    const names = ['unguarded', 'guarded'] as const;
    const uploads = new Map<string, { key: string; uploadId: string; etag: string }>();
    for (const name of names) {
      const key = `${name}/big.csv`;
      const started = await t.s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      const part = await t.s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: started.UploadId,
          PartNumber: 1,
          Body: csvRows(1000, 50),
        }),
      );
      uploads.set(name, { key, uploadId: started.UploadId!, etag: part.ETag! });
      await t.put(BUCKET, `${name}/small.csv`, csvRows(1, 10));
    }
    const jobs: Record<string, JobReport[]> = { unguarded: [], guarded: [] };
    for (const name of names) jobs[name]!.push((await sync(name)).job);
    // Two syncs, each more than a look-back window after the one before, with the uploads open.
    for (let i = 0; i < 2; i++) {
      await sleep(LOOK_BACK_S * 2500);
      for (const name of names) jobs[name]!.push((await sync(name)).job);
    }
    await sleep(LOOK_BACK_S * 2500);
    const open = await t.s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    for (const name of names) {
      const upload = uploads.get(name)!;
      const initiated = open.Uploads?.find((u) => u.UploadId === upload.uploadId)?.Initiated;
      assert.ok(initiated, `the upload of ${upload.key} is listed`);
      const complete = new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: upload.key,
        UploadId: upload.uploadId,
        MultipartUpload: { Parts: [{ ETag: upload.etag, PartNumber: 1 }] },
      });
      // S3 stamps a multipart object with the start of its upload: make MinIO do the same.
      complete.middlewareStack.add(
        (next) => async (args) => {
          (args.request as { headers: Record<string, string> }).headers['x-minio-source-mtime'] =
            initiated.toISOString();
          return next(args);
        },
        { step: 'build' },
      );
      await t.s3.send(complete);
    }
    for (const name of names) jobs[name]!.push((await sync(name)).job, (await sync(name)).job);

    for (const name of names) {
      const [first, second, third, completed, after] = jobs[name]!;
      assert.equal(first!.statistics.files_done, 1, `${name}: the small file`);
      assert.equal(second!.statistics.found_files, 0, `${name}: nothing new while the upload is open`);
      assert.equal(third!.statistics.found_files, 0, `${name}: nothing new while the upload is open`);
      assert.equal(completed!.status, 'done', JSON.stringify(completed!.errors));
      assert.equal(
        completed!.statistics.files_done,
        1,
        `${name}: the completed upload is loaded, older than the look-back window though it is`,
      );
      assert.equal(completed!.statistics.row_count, 50);
      assert.equal(after!.statistics.found_files, 0, `${name}: loaded once`);
      await assertTableMatchesFiles(t.stack.worker!.sink, name, {
        ids: [...range(1, 10), ...range(1000, 50)],
        files: { [`${name}/small.csv`]: 10, [`${name}/big.csv`]: 50 },
      });
    }
    for (const job of jobs.unguarded!)
      assert.match((job.warnings ?? []).join('\n'), UNGUARDED, `job ${job.id} says the race is unguarded`);
    for (const job of jobs.guarded!) assert.deepEqual(job.warnings ?? [], [], `job ${job.id} has no warning`);

    // The same warning in `datasource ls`, `s3c job` and the workflow's memo (what the Web UI shows).
    const ls = await t.cli(['datasource', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(`^unguarded: ${UNGUARDED.source}`, 'm'));
    assert.doesNotMatch(ls.stdout, /^guarded: /m);
    const job = await t.cli(['job', jobs.unguarded!.at(-1)!.id]);
    assert.match(job.stdout, new RegExp(`warning: ${UNGUARDED.source}`));
    const memo = async (name: string): Promise<unknown> =>
      (await t.stack.client.workflow.getHandle(dataSourceWorkflowId('local', name)).describe()).memo?.warnings;
    assert.match(String(await memo('unguarded')), UNGUARDED);
    assert.equal(await memo('guarded'), undefined);

    const history = await allHistoriesText(t.stack.client);
    assertNoSecrets(
      history + ls.stdout + job.stdout,
      { REFERENCE_SECRET: USERS.reference.secretKey, PRINTED_SECRET: USERS.printed.secretKey },
      'histories and CLI output',
    );
  });
});
