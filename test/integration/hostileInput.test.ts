/**
 * Hostile and careless input on the real stack (issue #18, items 1, 2, 3, 4, 8):
 * a Temporal dev server, MinIO, the worker's DuckDB, the s3c CLI, and raw
 * signals sent by hand with the Temporal CLI (`.tools/bin/temporal`). One
 * stack for the file; the tests run in order.
 *
 * - A DEFAULT that would run SQL, and names the destination cannot create or
 *   tell apart, are refused by `deploy --check` and `deploy` with file:line,
 *   and nothing runs or changes.
 * - The worker's DuckDB reads no file outside its folders; loads still work.
 * - Every signal, sent with no input, null, wrong types, an undecodable
 *   encoding and oversized payloads, is ignored and recorded (or, for
 *   syncNow without input, and pause/resume, taken as meant); every workflow
 *   keeps answering its query and working.
 * - The queue intake and the query workflow, started by hand with inputs that
 *   do not fit, end at once with the reason (no failing workflow task); a
 *   running intake records unknown signals, answers its query whatever the
 *   query carries, and stops on `stopQueueIntake` whatever that carries.
 * - `s3c datasource ls` and `GET /v0/datasources` list every data source and
 *   mark the one whose workflow does not answer.
 * - A tolerant load leaves the user's tables named like its scratch tables alone.
 * - A bucket URI from a secret reaches workflow payloads only as its reference.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createApi } from '../../src/api';
import { defaultSecretsFile, SecretStore } from '../../src/datafiles';
import { deploymentPath } from '../../src/util/stateLayout';
import { repoRoot } from '../../src/local/tools';
import { queueIntakeStateQuery, type QueueIntakeInput, type QueueIntakeState } from '../../src/contract/queueIntake';
import {
  dataSourceWorkflowId,
  jobStatusQuery,
  limiterStateQuery,
  limiterWorkflowId,
  objectsCreatedSignal,
  SA_BUCKET,
  stateQuery,
  type DataSourceState,
  type JobInput,
} from '../../src/contract';
import { eventually } from '../helpers/faults';
import { minioConnection, startTestStack, type TestStack } from '../helpers/stack';

const run = promisify(execFile);
const TEMPORAL = join(repoRoot, '.tools', 'bin', 'temporal');
const TOKEN = 'hostile-test-token-0123456789abcdef';
/** Text that must never show in a state, a listing or an error. */
const MARKER = 'pAyLoAd-MaRkEr-7c1d';

function datasource(
  uri: string,
  schedule: string,
  schema = '    `id` Int32 `json:$.id`,\n    `name` String `json:$.name`',
): string {
  return `SCHEMA >\n${schema}\n\nIMPORT_CONNECTION_NAME minio\nIMPORT_BUCKET_URI ${uri}\nIMPORT_SCHEDULE ${schedule}\n`;
}

describe('hostile and careless input on a real stack', () => {
  let t: TestStack;
  let ws: string;
  let deployment: string;
  const secretValues = (): string[] => [t.minio.secretKey, t.minio.accessKey];

  /** `temporal workflow signal` as an operator would type it; resolves to the CLI's exit code and output. */
  async function signal(
    workflowId: string,
    name: string,
    input: { json?: string; file?: string; meta?: string } = {},
  ): Promise<void> {
    const args = [
      'workflow',
      'signal',
      '--address',
      t.stack.temporal.temporal.address,
      '--namespace',
      t.stack.temporal.temporal.namespace,
      '--workflow-id',
      workflowId,
      '--name',
      name,
    ];
    if (input.json !== undefined) args.push('--input', input.json);
    if (input.file !== undefined) args.push('--input-file', input.file);
    if (input.meta !== undefined) args.push('--input-meta', input.meta);
    const { stdout } = await run(TEMPORAL, args, { timeout: 60_000, maxBuffer: 1 << 20 });
    assert.match(stdout, /Signal workflow succeeded/, `${name} ${JSON.stringify(input).slice(0, 200)}`);
  }

  /** The Temporal CLI's connection flags for the stack's dev server. */
  const server = (): string[] => [
    '--address',
    t.stack.temporal.temporal.address,
    '--namespace',
    t.stack.temporal.temporal.namespace,
  ];

  /** `temporal workflow start` of `type` on the control queue with a hand-written input, as an operator would. */
  async function startByHand(type: string, workflowId: string, input: { json?: string; meta?: string }) {
    const args = ['workflow', 'start', ...server(), '--task-queue', t.stack.temporal.taskQueues.control];
    args.push('--type', type, '--workflow-id', workflowId);
    if (input.json !== undefined) args.push('--input', input.json);
    if (input.meta !== undefined) args.push('--input-meta', input.meta);
    await run(TEMPORAL, args, { timeout: 60_000 });
    return t.stack.client.workflow.getHandle(workflowId);
  }

  /** `temporal workflow query` by hand: the answer's text, or the CLI's error. */
  async function queryByHand(workflowId: string, name: string, json?: string): Promise<string> {
    const args = ['workflow', 'query', ...server(), '--workflow-id', workflowId, '--name', name];
    if (json !== undefined) args.push('--input', json);
    try {
      return (await run(TEMPORAL, args, { timeout: 60_000 })).stdout;
    } catch (err) {
      return `failed: ${(err as { stderr?: string }).stderr ?? String(err)}`;
    }
  }

  /** Whether a workflow task of the workflow failed: what a handler or an input check that throws leaves. */
  async function aTaskFailed(workflowId: string): Promise<boolean> {
    const history = await t.stack.client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).some((e) => e.workflowTaskFailedEventAttributes);
  }

  /** A workflow's failure: its type and whether it was retryable, from the failure the client reports. */
  async function failureOf(workflowId: string): Promise<{ type?: string; nonRetryable?: boolean; message: string }> {
    try {
      await t.stack.client.workflow.getHandle(workflowId).result();
    } catch (err) {
      const cause = (err as { cause?: { type?: string; nonRetryable?: boolean; message: string } }).cause;
      if (cause) return { type: cause.type, nonRetryable: cause.nonRetryable, message: cause.message };
    }
    throw new Error(`${workflowId} did not fail`);
  }

  /** A JSON file of about 1.5 MB (under Temporal's 2 MB payload limit, over every bound of ours). */
  function oversized(name: string, value: unknown): string {
    const path = join(t.root, `${name}.json`);
    writeFileSync(path, JSON.stringify(value));
    return path;
  }
  const BIG = `${MARKER}${'x'.repeat(1_500_000)}`;

  const state = (name: string): Promise<DataSourceState> =>
    t.stack.client.workflow.getHandle(dataSourceWorkflowId(ws, name)).query(stateQuery);
  const api = () =>
    createApi({
      client: t.stack.client,
      projectDir: t.projectDir,
      workspace: t.workspace,
      temporal: t.stack.temporal,
      token: TOKEN,
      workspaceSecret: 'hostile-workspace-secret',
    });

  before(async () => {
    t = await startTestStack({ workspace: { filesPerMinute: 0, pollIntervalSeconds: 3600 } });
    ws = t.workspace.workspace;
    await t.createBucket('hostile');
    await t.put('hostile', 'good/1.csv', 'id,name\n1,a\n2,b\n');
    await t.put('hostile', 'victim/1.csv', 'id,name\n7,v\n');
    t.write('minio.connection', minioConnection());
    t.write('good.datasource', datasource('s3://hostile/good/*.csv', '@on-demand'));
    t.write('events.datasource', datasource('s3://hostile/auto/*.csv', '@auto'));
    t.write('victim.datasource', datasource('s3://hostile/victim/*.csv', '@once'));
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr + out.stdout);
    await t.waitForState('victim', (s) => s.status === 'resting', 120_000);
    await t.waitForState('events', (s) => s.initialSyncDone, 120_000);
    deployment = readFileSync(deploymentPath(t.projectDir), 'utf8');
  });

  after(async () => {
    await t?.stop();
  });

  it('deploy --check and deploy refuse a DEFAULT that would run SQL, with file:line, and nothing runs', async () => {
    const pwned = join(t.root, 'pwned.csv');
    t.write(
      'evil.datasource',
      datasource(
        's3://hostile/good/*.csv',
        '@on-demand',
        `    \`id\` Int32,\n    \`b\` String DEFAULT 'x') AS VARCHAR); COPY (SELECT 'pwned' AS p) TO '${pwned}' (HEADER); SELECT CAST(('y'`,
      ),
    );
    t.write(
      'leak.datasource',
      datasource(
        's3://hostile/good/*.csv',
        '@on-demand',
        `    \`id\` Int32,\n    \`s\` String DEFAULT (SELECT content FROM read_text('.s3c/secrets.json'))`,
      ),
    );
    try {
      for (const args of [['deploy', '--check'], ['deploy']]) {
        const out = await t.cli(args);
        assert.notEqual(out.code, 0, out.stdout);
        const problems = out.stderr.split('\n').filter((l) => l.startsWith('✗ '));
        assert.equal(problems.length, 2, out.stderr);
        assert.match(
          problems[0]!,
          /^✗ \/.*\/evil\.datasource:3: Invalid character in DEFAULT: found ";" at character 17 of "'x'\) AS VARCHAR\); COPY/,
        );
        assert.match(
          problems[1]!,
          /^✗ \/.*\/leak\.datasource:3: Unknown function in DEFAULT: found "SELECT" at character 2 of "\(SELECT content FROM read_text\('\.s3c\/secrets\.json'\)\)", expected one of now\(\), /,
        );
        assert.match(out.stderr, /deploy refused: 2 problem\(s\); nothing was changed/);
        for (const secret of secretValues()) assert.ok(!(out.stdout + out.stderr).includes(secret));
      }
      assert.equal(existsSync(pwned), false);
      assert.equal(existsSync(join(t.projectDir, 'pwned.csv')), false);
      assert.equal(readFileSync(deploymentPath(t.projectDir), 'utf8'), deployment);
      assert.deepEqual(
        await t.stack.worker!.sink.query("SELECT table_name FROM duckdb_tables() WHERE table_name IN ('evil', 'leak')"),
        [],
      );
    } finally {
      rmSync(join(t.projectDir, 'evil.datasource'));
      rmSync(join(t.projectDir, 'leak.datasource'));
    }
  });

  it("the worker's DuckDB loads files but cannot read the project's secrets or write elsewhere", async () => {
    const out = await t.cli(['datasource', 'sync', 'good', '--yes']);
    assert.equal(out.code, 0, out.stderr + out.stdout);
    assert.deepEqual(
      (await t.stack.worker!.sink.query('SELECT id, name FROM good ORDER BY id')).map((r) => [r.id, r.name]),
      [
        [1, 'a'],
        [2, 'b'],
      ],
    );
    assert.deepEqual(
      (await t.stack.worker!.sink.query('SELECT id FROM victim')).map((r) => r.id),
      [7],
    );
    const secrets = join(t.projectDir, '.s3c', 'secrets.json');
    assert.ok(existsSync(secrets));
    await assert.rejects(t.stack.worker!.sink.query(`SELECT content FROM read_text('${secrets}')`), (e: Error) => {
      assert.match(
        e.message,
        /^Permission Error: Cannot access file ".*secrets\.json" - file system operations are disabled by configuration/,
      );
      for (const secret of secretValues()) assert.ok(!e.message.includes(secret));
      return true;
    });
    await assert.rejects(
      t.stack.worker!.sink.query(`COPY (SELECT 1 AS x) TO '${join(t.projectDir, 'out.csv')}'`),
      /^Error: Permission Error/,
    );
    assert.equal(existsSync(join(t.projectDir, 'out.csv')), false);
  });

  it('deploy --check and deploy refuse reserved names and names that differ only in case, with file:line', async () => {
    t.write('s3c_bad_rows.datasource', datasource('s3://hostile/good/*.csv', '@on-demand'));
    t.write('events_quarantine.datasource', datasource('s3://hostile/good/*.csv', '@on-demand'));
    t.write(
      'cols.datasource',
      datasource(
        's3://hostile/good/*.csv',
        '@on-demand',
        '    `id` Int32,\n    `insertion_date` DateTime,\n    `a` String,\n    `A` String',
      ),
    );
    t.write('Good.datasource', datasource('s3://hostile/good/*.csv', '@on-demand'));
    try {
      for (const args of [['deploy', '--check'], ['deploy']]) {
        const out = await t.cli(args);
        assert.notEqual(out.code, 0, out.stdout);
        const problems = out.stderr
          .split('\n')
          .filter((l) => l.startsWith('✗ '))
          .map((l) => l.replaceAll(t.projectDir, '<project>'));
        assert.deepEqual(problems, [
          '✗ <project>/cols.datasource:3: Reserved column name: found "insertion_date", expected a name other than c__error_column, c__error, c__import_id, insertion_date, c__object_key, c__line (in any case): the quarantine table adds these columns',
          '✗ <project>/cols.datasource:5: Duplicate column name: found "A", the same as "a" on line 4 but for case, expected column names that differ in more than case (the destination does not tell them apart)',
          '✗ <project>/events_quarantine.datasource:1: Reserved data source name: found "events_quarantine", expected a name that does not end in _quarantine (in any case): the data source events would put its quarantined rows in that table',
          '✗ <project>/good.datasource:1: Duplicate data source name: found "good", the same as "Good" (<project>/Good.datasource) but for case, expected data source names that differ in more than case (each is a table, and table names are case-insensitive)',
          '✗ <project>/s3c_bad_rows.datasource:1: Reserved data source name: found "s3c_bad_rows", expected a name that does not start with s3c_ (in any case): the product\'s own tables use that prefix',
        ]);
      }
      assert.equal(readFileSync(deploymentPath(t.projectDir), 'utf8'), deployment);
      assert.deepEqual(
        await t.stack.worker!.sink.query(
          "SELECT table_name FROM duckdb_tables() WHERE lower(table_name) IN ('s3c_bad_rows', 'events_quarantine_quarantine', 'cols')",
        ),
        [],
      );
    } finally {
      for (const f of ['s3c_bad_rows', 'events_quarantine', 'cols', 'Good'])
        rmSync(join(t.projectDir, `${f}.datasource`));
    }
  });

  /** Payloads of every data-carrying signal: none, null, wrong types, an undecodable encoding. */
  const GENERIC: { json?: string; meta?: string }[] = [
    {},
    { json: 'null' },
    { json: '"now"' },
    { json: '42' },
    { json: 'true' },
    { json: '[]' },
    { json: '{}' },
    { json: '"x"', meta: 'encoding=foo/bar' },
  ];

  it('raw signals with no input, null, wrong types, undecodable and oversized payloads are ignored and recorded; the data source keeps working', async () => {
    const good = dataSourceWorkflowId(ws, 'good');
    const before = await state('good');
    // syncNow: no input and null are a plain request from a signal; anything else that does not fit is refused.
    for (const input of GENERIC) await signal(good, 'syncNow', input);
    await signal(good, 'syncNow', { json: JSON.stringify({ origin: 5, requestId: MARKER }) });
    await signal(good, 'syncNow', { file: oversized('sync', { origin: 'api', requestId: BIG }) });
    for (const input of GENERIC) await signal(good, 'redeploy', input);
    const deployedDef = JSON.parse(readFileSync(deploymentPath(t.projectDir), 'utf8')).dataSources.good.def;
    await signal(good, 'redeploy', { json: JSON.stringify({ ...deployedDef, name: 'other' }) });
    await signal(good, 'redeploy', {
      file: oversized('redeploy', {
        name: 'good',
        path: 'x',
        engine: 'MergeTree',
        description: BIG,
        schema: [{ name: 'id', typeText: 'Int32', type: { kind: 'Int', bits: 32, signed: true }, line: 2 }],
        import: { connectionName: 'minio', bucketUri: 's3://hostile/good/*.csv', schedule: { kind: 'auto' } },
      }),
    });
    for (const input of GENERIC) await signal(good, 'jobProgress', input);
    await signal(good, 'jobProgress', {
      file: oversized('progress', { jobId: BIG, tokens: { held: 1, waiting: false } }),
    });
    await signal(good, 'noSuchSignal', { json: JSON.stringify(MARKER) });
    // Pause and resume carry nothing: whatever they carry, they do what they say.
    await signal(good, 'pause', { json: '"please"' });
    await t.waitForState('good', (s) => s.paused);
    await signal(good, 'resume', { json: '"x"', meta: 'encoding=foo/bar' });
    const after = await t.waitForState(
      'good',
      (s) => !s.paused && s.status === 'idle' && s.pendingSyncs === 0 && s.counters.syncs > before.counters.syncs,
    );

    // syncNow: 6 of the 8 generic payloads + 2; redeploy 8 + 2; jobProgress 8 + 1; one unknown signal.
    const refused = 6 + 2 + 8 + 2 + 8 + 1 + 1;
    const r = after.rejectedSignals!;
    assert.equal(r.count, refused);
    assert.equal(r.last.length, 20);
    const reasons = r.last.map((x) => `${x.signal}: ${x.reason}`);
    assert.deepEqual(reasons.slice(-9), [
      'jobProgress: payload: Invalid input: expected object, received null',
      'jobProgress: payload: Invalid input: expected object, received string',
      'jobProgress: payload: Invalid input: expected object, received number',
      'jobProgress: payload: Invalid input: expected object, received boolean',
      'jobProgress: payload: Invalid input: expected object, received array',
      'jobProgress: jobId: Invalid input: expected string, received undefined; tokens: Invalid input: expected object, received undefined',
      'jobProgress: payload could not be decoded: Unknown encoding: foo/bar',
      'jobProgress: jobId: Too big: expected string to have <=1000 characters',
      'noSuchSignal: unknown signal: a data source takes syncNow, objectsCreated, redeploy, settings, jobProgress, pause, resume',
    ]);
    assert.ok(reasons.includes('redeploy: name: the definition of other, not of good'), reasons.join('\n'));
    assert.ok(
      reasons.includes('redeploy: description: Too big: expected string to have <=100000 characters'),
      reasons.join('\n'),
    );
    // jobProgress with no input is the first of its kind that the list still holds.
    assert.equal(reasons[reasons.length - 10], 'jobProgress: no payload');
    // Two plain requests (no input, null) came in while one could wait: at least one more sync ran, nothing else changed.
    assert.equal(after.schedule, '@on-demand');
    assert.equal(after.bucketUri, 's3://hostile/good/*.csv');
    assert.deepEqual(after.tokens, { held: 0, waiting: false });
    const text = JSON.stringify(after);
    assert.ok(!text.includes(MARKER), 'a payload reached the state');
    assert.ok(text.length < 20_000, `state of ${text.length} characters`);

    // It still syncs: a new file is loaded by a sync asked the ordinary way.
    await t.put('hostile', 'good/2.csv', 'id,name\n3,c\n');
    const out = await t.cli(['datasource', 'sync', 'good', '--yes']);
    assert.equal(out.code, 0, out.stderr + out.stdout);
    assert.deepEqual(
      (await t.stack.worker!.sink.query('SELECT id FROM good ORDER BY id')).map((row) => row.id),
      [1, 2, 3],
    );
  });

  it('objectsCreated: malformed payloads and objects of another bucket are refused; the selected ones load', async () => {
    const events = dataSourceWorkflowId(ws, 'events');
    for (const input of GENERIC) await signal(events, 'objectsCreated', input);
    await t.put('hostile', 'auto/a.csv', 'id,name\n10,ten\n');
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: 'hostile', Key: 'auto/a.csv' }));
    const object = (bucket: string, key: string) => ({
      bucket,
      key,
      etag: head.ETag,
      size: head.ContentLength,
      lastModified: head.LastModified!.toISOString(),
      format: 'csv',
      compression: 'none',
    });
    await signal(events, 'objectsCreated', {
      json: JSON.stringify([{ ...object('hostile', 'auto/x.csv'), size: -1 }]),
    });
    await signal(events, 'objectsCreated', { file: oversized('objects', [object('hostile', `auto/${BIG}.csv`)]) });
    await signal(events, 'objectsCreated', {
      json: JSON.stringify([
        object('hostile', 'auto/a.csv'),
        object('victim-bucket', 'auto/a.csv'),
        object('hostile', 'elsewhere/b.csv'),
      ]),
    });
    const s = await t.waitForState(
      'events',
      (x) => x.counters.filesLoaded >= 1 && x.status === 'idle' && x.queuedObjects === 0,
    );
    assert.deepEqual(
      (await t.stack.worker!.sink.query('SELECT id FROM events')).map((row) => row.id),
      [10],
    );
    const reasons = s.rejectedSignals!.last.map((x) => `${x.signal}: ${x.reason}`);
    assert.equal(s.rejectedSignals!.count, 11);
    assert.deepEqual(reasons, [
      'objectsCreated: no payload',
      'objectsCreated: payload: Invalid input: expected array, received null',
      'objectsCreated: payload: Invalid input: expected array, received string',
      'objectsCreated: payload: Invalid input: expected array, received number',
      'objectsCreated: payload: Invalid input: expected array, received boolean',
      'objectsCreated: payload: Too small: expected array to have >=1 items',
      'objectsCreated: payload: Invalid input: expected array, received object',
      'objectsCreated: payload could not be decoded: Unknown encoding: foo/bar',
      'objectsCreated: 0.size: Too small: expected number to be >=0',
      'objectsCreated: 0.key: Too big: expected string to have <=4096 characters',
      'objectsCreated: 2 of 3 objects are not selected by IMPORT_BUCKET_URI (another bucket, or a key the pattern does not match)',
    ]);
    assert.ok(!JSON.stringify(s).includes(MARKER));
  });

  it('the limiter and a job refuse and record malformed signals, and keep answering', async () => {
    const limiter = limiterWorkflowId(ws);
    for (const input of GENERIC) await signal(limiter, 'tokenRequest', input);
    for (const input of GENERIC) await signal(limiter, 'configureLimiter', input);
    await signal(limiter, 'configureLimiter', { json: JSON.stringify({ filesPerPeriod: -1, periodSeconds: 0 }) });
    await signal(limiter, 'tokenRequest', { file: oversized('tokens', { requester: BIG, requestId: 'r', count: 1 }) });
    const handle = t.stack.client.workflow.getHandle(limiter);
    let ls = await handle.query(limiterStateQuery);
    for (let i = 0; i < 100 && (ls.rejectedSignals?.count ?? 0) < 18; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ls = await handle.query(limiterStateQuery);
    }
    assert.equal(ls.rejectedSignals?.count, 18);
    assert.deepEqual(ls.config, { filesPerPeriod: 0, periodSeconds: 60 });
    assert.deepEqual(ls.waiting, []);
    assert.ok(!JSON.stringify(ls).includes(MARKER));

    // A job waiting for its first activity (no worker on that queue) takes junk token grants.
    const jobId = `hostile-job-${Date.now()}`;
    const good = JSON.parse(readFileSync(deploymentPath(t.projectDir), 'utf8')).dataSources.good.def;
    const job = await t.stack.client.workflow.start('jobWorkflow', {
      workflowId: jobId,
      taskQueue: t.stack.temporal.taskQueues.control,
      args: [
        {
          kind: 'sample',
          workspace: ws,
          dataSource: good,
          ingestTaskQueue: 'no-worker-here',
          cursor: { failed: {} },
          maxFiles: 1,
          list: true,
          origin: 'test',
          rateLimited: false,
        } satisfies JobInput,
      ],
    });
    try {
      for (const input of GENERIC) await signal(jobId, 'tokenGrant', input);
      await signal(jobId, 'tokenGrant', { json: JSON.stringify({ requestId: 'r', count: 'many' }) });
      let report = await job.query(jobStatusQuery);
      for (let i = 0; i < 100 && (report.rejectedSignals?.count ?? 0) < 9; i++) {
        await new Promise((r) => setTimeout(r, 100));
        report = await job.query(jobStatusQuery);
      }
      assert.equal(report.rejectedSignals?.count, 9);
      assert.equal(
        report.rejectedSignals?.last.at(-1)?.reason,
        'count: Invalid input: expected number, received string',
      );
      assert.equal(report.status, 'working');
    } finally {
      await job.terminate('test done');
    }
  });

  it('datasource ls and GET /v0/datasources list every data source and mark the one that does not answer', async () => {
    // Another workflow (the limiter's type, without a `state` query) takes the place of victim's.
    const victim = dataSourceWorkflowId(ws, 'victim');
    await t.stack.client.workflow.getHandle(victim).terminate('replaced by a workflow that does not answer');
    const intruder = await t.stack.client.workflow.start('workspaceLimiterWorkflow', {
      workflowId: victim,
      taskQueue: t.stack.temporal.taskQueues.control,
      args: [{ config: { filesPerPeriod: 0, periodSeconds: 60 } }],
    });
    try {
      const out = await t.cli(['datasource', 'ls']);
      assert.equal(out.code, 0, out.stderr + out.stdout);
      const rows = out.stdout.split('\n');
      // NAME SCHEDULE STATUS FILES FAILED SKIPPED ROWS QUARANTINED LAST SYNC LAST ERROR
      assert.match(
        rows.find((l) => l.startsWith('events '))!,
        /^events\s+@auto\s+idle\s+1\s+0\s+0\s+1\s+0\s/,
      );
      assert.match(
        rows.find((l) => l.startsWith('good '))!,
        /^good\s+@on-demand\s+idle\s+2\s+0\s+0\s+3\s+0\s/,
      );
      assert.match(
        rows.find((l) => l.startsWith('victim '))!,
        /^victim\s+-\s+not answering\s+-\s+-\s+-\s+-\s+-\s+-\s+\S/,
      );
      assert.match(
        out.stdout,
        /^good: 28 malformed signal\(s\) ignored; last: noSuchSignal at \S+: unknown signal: a data source takes /m,
      );
      assert.match(out.stdout, /^events: 11 malformed signal\(s\) ignored; last: objectsCreated at /m);

      const res = await api().request('/v0/datasources', { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.status, 200);
      const listed = ((await res.json()) as { datasources: Record<string, unknown>[] }).datasources;
      assert.deepEqual(
        listed.map((d) => [d.name, d.state, d.status]),
        [
          ['events', 'running', 'idle'],
          ['good', 'running', 'idle'],
          ['victim', 'not answering', null],
        ],
      );
      assert.equal(typeof listed[2]!.state_error, 'string');
      assert.equal((listed[1]!.rejected_signals as { count: number }).count, 28);
      assert.ok(!JSON.stringify(listed).includes(MARKER));
    } finally {
      await intruder.terminate('test done');
    }
  });

  it("a tolerant load leaves the destination's tables named like its scratch tables alone (item 3)", async () => {
    // Tables of these names exist in the user's schema (made by hand, or a data source deployed before the prefix was reserved).
    const names = ['s3c_bad_rows', 's3c_rej', 's3c_rejects', 's3c_rejects_scan'];
    for (const name of names) await t.stack.worker!.sink.query(`CREATE TABLE main.${name} AS SELECT 42 AS kept`);
    // A bad value and a row with too many fields: both tolerant passes and read_csv's rejects run.
    await t.put('hostile', 'good/scratch.csv', 'id,name\n30,c\nx,d\n40,e,extra\n50,f\n');
    const out = await t.cli(['datasource', 'sync', 'good', '--yes']);
    assert.equal(out.code, 0, out.stderr + out.stdout);
    await t.waitForState('good', (s) => s.status === 'idle' && s.counters.quarantined >= 2, 60_000);
    assert.deepEqual(
      (await t.stack.worker!.sink.query('SELECT id FROM good WHERE id >= 30 ORDER BY id')).map((r) => r.id),
      [30, 50],
    );
    assert.equal(
      (
        await t.stack.worker!.sink.query(
          "SELECT count(*)::INT AS n FROM good_quarantine WHERE c__object_key = 'good/scratch.csv'",
        )
      )[0]!.n,
      2,
    );
    for (const name of names)
      assert.deepEqual(await t.stack.worker!.sink.query(`SELECT kept FROM main.${name}`), [{ kept: 42 }], name);
    const scratch = await t.stack.worker!.sink.query(
      "SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE 's3c_%'",
    );
    assert.deepEqual(scratch, [], 'scratch tables are dropped after the load');
  });

  it('a bucket URI from a secret stays out of workflow inputs, memos, summaries and search attributes; the activities resolve it (item 8)', async () => {
    const hidden = 's3://hostile/hidden-7f3a/*.csv';
    const reference = '{{ tb_secret("HIDDEN_URI") }}';
    new SecretStore(defaultSecretsFile(t.projectDir)).set('HIDDEN_URI', hidden);
    await t.put('hostile', 'hidden-7f3a/1.csv', 'id,name\n11,h\n');
    t.write('hidden.datasource', datasource(reference, '@auto'));
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr + out.stdout);
    assert.ok(!(out.stdout + out.stderr).includes('hidden-7f3a'), out.stdout + out.stderr);
    await t.waitForState('hidden', (s) => s.initialSyncDone && s.status === 'idle', 120_000);
    assert.deepEqual(
      (await t.stack.worker!.sink.query('SELECT id FROM hidden')).map((r) => r.id),
      [11],
    );

    // Events: one the URI selects loads; a forged one of another folder is refused by the activity, which alone knows the URI.
    await t.put('hostile', 'hidden-7f3a/2.csv', 'id,name\n12,i\n');
    const version = async (key: string) => {
      const head = await t.s3.send(new HeadObjectCommand({ Bucket: 'hostile', Key: key }));
      return {
        bucket: 'hostile',
        key,
        etag: (head.ETag ?? '').replace(/"/g, ''),
        size: Number(head.ContentLength),
        lastModified: head.LastModified!.toISOString(),
        format: 'csv' as const,
        compression: 'none' as const,
      };
    };
    const handle = t.stack.client.workflow.getHandle(dataSourceWorkflowId(ws, 'hidden'));
    await handle.signal(objectsCreatedSignal, [await version('hidden-7f3a/2.csv'), await version('victim/1.csv')]);
    const state = await t.waitForState(
      'hidden',
      (s) => s.counters.filesLoaded + s.counters.filesFailed >= 3 && s.status === 'idle',
      60_000,
    );
    assert.equal(state.counters.filesLoaded, 2);
    assert.equal(state.counters.filesFailed, 1);
    assert.deepEqual(
      (await t.stack.worker!.sink.query('SELECT id FROM hidden ORDER BY id')).map((r) => r.id),
      [11, 12],
    );

    const described = await handle.describe();
    assert.equal((await described.memo)?.bucketUri, reference);
    assert.equal(described.typedSearchAttributes.get(SA_BUCKET), undefined);
    assert.equal(state.bucketUri, reference);
    let histories = '';
    for await (const wf of t.stack.client.workflow.list()) {
      if (!wf.workflowId.includes('hidden')) continue;
      const h = t.stack.client.workflow.getHandle(wf.workflowId, wf.runId);
      // A history in its JSON form holds payloads as base64 `data`: decoded, so that text is searched whatever its offset.
      histories += JSON.stringify(await h.fetchHistory(), (k, v: unknown) =>
        k === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v,
      );
      histories += JSON.stringify((await h.describe()).staticSummary ?? '');
    }
    assert.ok(histories.includes('HIDDEN_URI'), `the histories name the secret: ${histories.slice(0, 300)}`);
    assert.ok(!histories.includes('hidden-7f3a/*.csv'), 'no history holds the URI');
  });

  it('settings (the signal deploy sends since issue 18 item 10), sent by hand with bad payloads: refused and recorded, the data source keeps syncing', async () => {
    const good = dataSourceWorkflowId(ws, 'good');
    const before = await state('good');
    const bad = [
      ...GENERIC,
      { json: JSON.stringify({ pollIntervalSeconds: -1 }) },
      { json: JSON.stringify({ pollIntervalSeconds: 1e12, rateLimited: 'yes' }) },
    ];
    for (const input of bad) await signal(good, 'settings', input);
    await signal(good, 'syncNow', { json: JSON.stringify({ origin: 'test', requestId: 'after-bad-settings' }) });
    const after = await t.waitForState(
      'good',
      (s) => s.status === 'idle' && s.pendingSyncs === 0 && s.counters.syncs > before.counters.syncs,
      60_000,
    );
    assert.equal(after.rejectedSignals!.count, before.rejectedSignals!.count + bad.length);
    const reasons = after.rejectedSignals!.last.slice(-bad.length).map((x) => `${x.signal}: ${x.reason}`);
    assert.ok(
      reasons.every((r) => r.startsWith('settings: ')),
      reasons.join('\n'),
    );
    assert.ok(
      reasons.includes('settings: pollIntervalSeconds: Too small: expected number to be >0'),
      reasons.join('\n'),
    );
  });

  it('the queue intake and the query workflow, started by hand with inputs that do not fit, end at once with the reason', async () => {
    const intakeInput: QueueIntakeInput = {
      workspace: ws,
      connectionName: 'minio',
      queueName: 's3c-hostile',
      activityTaskQueue: 'no-worker-here',
    };
    // The generic payloads as inputs: none, null, wrong types, undecodable; then ones of the right shape that do not fit.
    const intakeBad = [
      ...GENERIC,
      { json: JSON.stringify({ ...intakeInput, queueName: MARKER.repeat(10) }) },
      { json: JSON.stringify({ ...intakeInput, counters: { received: -1 } }) },
    ];
    const sqlInput = { sql: 'SELECT 1', rowLimit: 1, timeoutMs: 1000, maxBytes: 1000, sqlTaskQueue: 'no-worker-here' };
    const sqlBad = [...GENERIC, { json: JSON.stringify({ ...sqlInput, rowLimit: 'all', sql: MARKER }) }];
    const started: [string, string][] = [];
    for (const [i, input] of intakeBad.entries()) {
      await startByHand('queueIntakeWorkflow', `queue/hostile/${i}`, input);
      started.push([`queue/hostile/${i}`, 'QueueIntakeInvalidInput']);
    }
    for (const [i, input] of sqlBad.entries()) {
      await startByHand('sqlQueryWorkflow', `sql/hostile/${i}`, input);
      started.push([`sql/hostile/${i}`, 'SqlInvalidInput']);
    }
    for (const [id, type] of started) {
      const failure = await failureOf(id);
      assert.deepEqual([failure.type, failure.nonRetryable], [type, true], `${id}: ${failure.message}`);
      assert.match(failure.message, /^input does not fit: /, id);
      assert.ok(!failure.message.includes(MARKER), id);
      assert.equal(await aTaskFailed(id), false, `${id}: a workflow task failed`);
    }
    assert.match(
      (await failureOf('queue/hostile/7')).message,
      /payload could not be decoded: Unknown encoding: foo\/bar/,
    );
    assert.match((await failureOf('queue/hostile/9')).message, /counters\.received: Too small/);
  });

  it('a running queue intake records unknown signals, answers its query whatever it carries, and stops on stopQueueIntake whatever that carries', async () => {
    const id = 'queue/hostile/running';
    const input: QueueIntakeInput = {
      workspace: ws,
      connectionName: 'minio',
      queueName: 's3c-hostile',
      // No worker drains here: the round waits, the handlers are what is tested.
      activityTaskQueue: 'no-worker-here',
    };
    const handle = await startByHand('queueIntakeWorkflow', id, { json: JSON.stringify(input) });
    for (const input of GENERIC) await signal(id, 'objectsCreated', input);
    await signal(id, 'noSuchSignal', { file: oversized('intake', { x: BIG }) });
    // The state query takes no arguments: whatever it is given, it answers the same.
    for (const json of [undefined, 'null', '42', JSON.stringify({ x: MARKER })]) {
      const answer = await queryByHand(id, 'queueIntakeState', json);
      assert.match(answer, /"queueName":\s*"s3c-hostile"/, answer);
    }
    assert.match(await queryByHand(id, 'noSuchQuery', '"x"'), /^failed: .*noSuchQuery/s);
    const state: QueueIntakeState = await eventually('rejected signals recorded', async () => {
      const answer = await handle.query(queueIntakeStateQuery);
      return (answer.rejectedSignals?.count ?? 0) >= GENERIC.length + 1 ? answer : undefined;
    });
    assert.equal(state.rejectedSignals?.count, GENERIC.length + 1);
    assert.deepEqual(
      [...new Set(state.rejectedSignals!.last.map((x) => `${x.signal}: ${x.reason}`))],
      [
        'objectsCreated: unknown signal: the queue intake takes stopQueueIntake',
        'noSuchSignal: unknown signal: the queue intake takes stopQueueIntake',
      ],
    );
    assert.equal(state.stopping, false);
    assert.ok(!JSON.stringify(state).includes(MARKER));
    await signal(id, 'stopQueueIntake', { json: '"please"', meta: 'encoding=foo/bar' });
    await handle.result();
    assert.equal((await handle.describe()).status.name, 'COMPLETED');
    assert.equal(await aTaskFailed(id), false);
  });

  it('the query workflow ignores signals sent by hand and answers unknown queries with an error, never a failed task', async () => {
    const id = 'sql/hostile/running';
    // No worker takes queries on that queue: the workflow waits for its activity while it is sent junk.
    const input = { sql: 'SELECT 1', rowLimit: 1, timeoutMs: 1000, maxBytes: 1000, sqlTaskQueue: 'no-worker-here' };
    const handle = await startByHand('sqlQueryWorkflow', id, { json: JSON.stringify(input) });
    try {
      for (const input of GENERIC) await signal(id, 'cancel', input);
      await signal(id, 'noSuchSignal', { file: oversized('sql', { x: BIG }) });
      assert.match(await queryByHand(id, 'noSuchQuery', JSON.stringify(MARKER)), /^failed: .*noSuchQuery/s);
      assert.equal((await handle.describe()).status.name, 'RUNNING');
      assert.equal(await aTaskFailed(id), false);
    } finally {
      await handle.terminate('test done');
    }
  });
});
