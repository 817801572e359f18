/**
 * The first vertical slice, end to end on real parts: CSV files in MinIO,
 * `s3c deploy` of an `@once` data source, a Temporal workflow that lists and
 * ingests them, rows in DuckDB, `s3c datasource ls` showing the count.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { minioConnection, startTestStack, type TestStack } from '../helpers/stack';
import { dataSourceWorkflowId } from '../../src/contract';

const DATASOURCE = `DESCRIPTION >
    Events landing from CSV files

SCHEMA >
    \`timestamp\` DateTime \`json:$.timestamp\`,
    \`session_id\` String \`json:$.session_id\`,
    \`action\` LowCardinality(String) \`json:$.action\`,
    \`amount\` Float32 \`json:$.amount\`

ENGINE "MergeTree"
ENGINE_SORTING_KEY "timestamp"

IMPORT_CONNECTION_NAME minio
IMPORT_BUCKET_URI s3://landing/events/*.csv
IMPORT_SCHEDULE @once
`;

describe('first sync: CSV from MinIO to DuckDB through a Temporal workflow', () => {
  let t: TestStack;

  before(async () => {
    t = await startTestStack();
    await t.createBucket('landing');
    await t.put(
      'landing',
      'events/2024-01.csv',
      'timestamp,session_id,action,amount\n2024-01-01 10:00:00,s1,view,1.5\n2024-01-01 10:00:05,s1,buy,20\n',
    );
    await t.put('landing', 'events/2024-02.csv', 'timestamp,session_id,action,amount\n2024-02-01 08:30:00,s2,view,0\n');
    // Not matched: another folder, and an extension that the pattern excludes.
    await t.put(
      'landing',
      'events/old/2023-12.csv',
      'timestamp,session_id,action,amount\n2023-12-01 00:00:00,s0,view,1\n',
    );
    await t.put('landing', 'events/readme.txt', 'not data');
    t.write('minio.connection', minioConnection());
    t.write('events.datasource', DATASOURCE);
  });

  after(async () => {
    await t?.stop();
  });

  it('deploy --check validates and changes nothing', async () => {
    const out = await t.cli(['deploy', '--check']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /\+ datasource events: create/);
    assert.match(out.stdout, /s3:\/\/landing\/events\/ is listable with connection minio/);
    const listed = await t.stack.client.workflow.list({ query: `WorkflowType = 'dataSourceWorkflow'` });
    for await (const _ of listed) assert.fail('deploy --check started a workflow');
  });

  it('deploy starts the workflow, which loads every matching file once', async () => {
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /started workflow datasource\/local\/events/);
    const state = await t.waitForState('events', (s) => s.initialSyncDone && s.status === 'resting');
    assert.equal(state.counters.filesLoaded, 2);
    assert.equal(state.counters.rows, 3);
    assert.equal(state.counters.quarantined, 0);
    assert.equal(state.counters.filesFailed, 0);

    const sink = t.stack.worker!.sink;
    assert.equal(await sink.rowCount('events'), 3);
    const rows = await sink.query(
      `SELECT strftime("timestamp", '%Y-%m-%d %H:%M:%S') AS ts, session_id, action, amount FROM events ORDER BY "timestamp"`,
    );
    assert.deepEqual(rows, [
      { ts: '2024-01-01 10:00:00', session_id: 's1', action: 'view', amount: 1.5 },
      { ts: '2024-01-01 10:00:05', session_id: 's1', action: 'buy', amount: 20 },
      { ts: '2024-02-01 08:30:00', session_id: 's2', action: 'view', amount: 0 },
    ]);
    const ledger = await sink.ledger('events');
    assert.deepEqual(ledger.map((e) => [e.key, e.rows]).sort(), [
      ['events/2024-01.csv', 2],
      ['events/2024-02.csv', 1],
    ]);
  });

  it('the workflow carries search attributes and answers the state query', async () => {
    const handle = t.stack.client.workflow.getHandle(dataSourceWorkflowId('local', 'events'));
    const description = await handle.describe();
    assert.equal(description.status.name, 'RUNNING');
    const sa = description.searchAttributes as Record<string, unknown[]>;
    assert.deepEqual(sa.S3cDataSource, ['events']);
    assert.deepEqual(sa.S3cBucket, ['landing']);
    assert.deepEqual(sa.S3cSchedule, ['@once']);
  });

  it('the Temporal Web UI lists the workflow, with its data source, bucket and schedule', async () => {
    const query = encodeURIComponent(`WorkflowType = 'dataSourceWorkflow' AND S3cDataSource = 'events'`);
    const res = await fetch(`${t.stack.temporalServer.uiUrl}/api/v1/namespaces/default/workflows?query=${query}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      executions?: { execution: { workflowId: string }; searchAttributes?: unknown }[];
    };
    assert.deepEqual(
      body.executions?.map((e) => e.execution.workflowId),
      ['datasource/local/events'],
    );
    const attributes = JSON.stringify(body.executions?.[0]?.searchAttributes);
    assert.match(attributes, /S3cBucket/);
    assert.match(attributes, /S3cSchedule/);
  });

  it('datasource ls shows the row count', async () => {
    const out = await t.cli(['datasource', 'ls']);
    assert.equal(out.code, 0, out.stderr);
    const line = out.stdout.split('\n').find((l) => l.startsWith('events'));
    assert.ok(line, out.stdout);
    assert.match(line, /^events\s+@once\s+resting\s+2\s+0\s+0\s+3\s+0\s/);
  });

  it('deploying the same files again changes nothing', async () => {
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /= datasource events: unchanged/);
    assert.match(out.stdout, /No changes\./);
    assert.equal(await t.stack.worker!.sink.rowCount('events'), 3);
  });

  it('sync now loads only files that landed since, never twice', async () => {
    await t.put('landing', 'events/2024-03.csv', 'timestamp,session_id,action,amount\n2024-03-01 09:00:00,s3,view,2\n');
    const out = await t.cli(['datasource', 'sync', 'events', '--yes']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /files: 1 found, 1 done, 0 failed/);
    assert.match(out.stdout, /rows: 1 loaded, 0 quarantined/);
    assert.equal(await t.stack.worker!.sink.rowCount('events'), 4);
    const again = await t.cli(['datasource', 'sync', 'events', '--yes']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /files: 0 found, 0 done/);
    assert.equal(await t.stack.worker!.sink.rowCount('events'), 4);
  });

  it('sync without --yes and without a terminal refuses', async () => {
    const out = await t.cli(['datasource', 'sync', 'events']);
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /sync needs confirmation: run it in a terminal, or pass --yes/);
  });
});
