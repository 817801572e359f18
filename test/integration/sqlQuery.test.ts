/**
 * Queries while loading (issue 21, item 4) end to end on real parts: files
 * in MinIO loaded by a worker on a Temporal dev server, then `s3c sql`
 * (CLI) and `GET /v0/sql` (API) answered by that worker through a
 * `sqlQueryWorkflow`:
 *
 * - the exact rows, as a table, JSON and CSV; the row limit and its note;
 * - every refused statement with its reason (400), the table unchanged;
 * - every attempt to read a file refused, the secrets never in an answer;
 * - a query past its time limit stopped (400); a bad query DuckDB's error;
 * - no token → 401; a bad parameter → 400; no worker → 503;
 * - each query a workflow `sql/<workspace>/<uuid>` in Temporal;
 * - while a large file loads, queries answer with the rows committed so far.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningApi } from '../../src/api';
import { runSqlQuery, sqlFailure } from '../../src/client/sql';
import { SqlRefusedError, SqlUnavailableError } from '../../src/contract/sql';
import { minioConnection, startTestApi, startTestStack, type TestStack } from '../helpers/stack';

const TOKEN = 'test-token-sql-0123456789abcdef';

const DATASOURCE = `SCHEMA >
    \`id\` Int32 \`json:$.id\`,
    \`big\` Int64 \`json:$.big\`,
    \`name\` String \`json:$.name\`,
    \`ts\` DateTime \`json:$.ts\`

IMPORT_CONNECTION_NAME minio
IMPORT_BUCKET_URI s3://landing/events/*.csv
IMPORT_SCHEDULE @once
`;

/** The rows loaded, in id order, as the JSON answer has them (Int64 as a string, DateTime ISO 8601). */
const ROWS = [
  { id: 1, big: '9007199254740993', name: 'one', ts: '2024-01-01T10:00:00' },
  { id: 2, big: '-5', name: 'two, with a comma', ts: '2024-01-02T11:30:00' },
  { id: 3, big: '0', name: 'say "three"', ts: '2024-02-01T00:00:05' },
];
const SELECT_ALL = 'SELECT id, big, name, ts FROM events ORDER BY id';

describe('s3c sql and GET /v0/sql: read-only queries answered by the worker that owns the database', () => {
  let t: TestStack;
  let api: RunningApi;

  async function get(params: Record<string, string>, token: string | null = TOKEN): Promise<Response> {
    const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
    return fetch(`${api.url}/v0/sql?${new URLSearchParams(params).toString()}`, { headers });
  }
  async function getJson(params: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await get(params);
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }
  /** Every row of the table, to prove a refused statement changed nothing. */
  const tableNow = (): Promise<Record<string, unknown>[]> =>
    t.stack.worker!.sink.query('SELECT * FROM events ORDER BY id');

  before(async () => {
    t = await startTestStack();
    api = await startTestApi(t, { token: TOKEN, workspaceSecret: 'workspace-secret-for-sql-tests' });
    await t.createBucket('landing');
    await t.put(
      'landing',
      'events/a.csv',
      'id,big,name,ts\n1,9007199254740993,one,2024-01-01 10:00:00\n2,-5,"two, with a comma",2024-01-02 11:30:00\n',
    );
    await t.put('landing', 'events/b.csv', 'id,big,name,ts\n3,0,"say ""three""",2024-02-01 00:00:05\n');
    t.write('minio.connection', minioConnection());
    t.write('events.datasource', DATASOURCE);
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr + out.stdout);
    const state = await t.waitForState('events', (s) => s.initialSyncDone && s.status === 'resting');
    assert.equal(state.counters.rows, 3);
  });

  after(async () => {
    await api?.close();
    await t?.stop();
  });

  it('CLI: the exact rows as a table, JSON and CSV', async () => {
    const table = await t.cli(['sql', SELECT_ALL]);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(
      table.stdout,
      [
        'id | big              | name              | ts',
        '---+------------------+-------------------+--------------------',
        '1  | 9007199254740993 | one               | 2024-01-01T10:00:00',
        '2  | -5               | two, with a comma | 2024-01-02T11:30:00',
        '3  | 0                | say "three"       | 2024-02-01T00:00:05',
        '(3 rows)',
        '',
      ].join('\n'),
    );
    const json = await t.cli(['sql', SELECT_ALL, '--format', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const answer = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.deepEqual(answer.data, ROWS);
    assert.deepEqual(answer.meta, [
      { name: 'id', type: 'INTEGER' },
      { name: 'big', type: 'BIGINT' },
      { name: 'name', type: 'VARCHAR' },
      { name: 'ts', type: 'TIMESTAMP' },
    ]);
    assert.deepEqual([answer.rows, answer.limit, answer.truncated], [3, 1000, false]);
    const csv = await t.cli(['sql', SELECT_ALL, '--format', 'csv']);
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(
      csv.stdout,
      'id,big,name,ts\r\n1,9007199254740993,one,2024-01-01T10:00:00\r\n2,-5,"two, with a comma",2024-01-02T11:30:00\r\n3,0,"say ""three""",2024-02-01T00:00:05\r\n',
    );
  });

  it('CLI: --limit cuts the rows and says so; a refused statement fails with its reason', async () => {
    const limited = await t.cli(['sql', SELECT_ALL, '--limit', '2', '--format', 'csv']);
    assert.equal(limited.code, 0, limited.stderr);
    assert.equal(limited.stdout.split('\r\n').length - 2, 2);
    assert.match(limited.stderr, /truncated: the first 2 rows \(limit 2\)/);
    const before = await tableNow();
    const refused = await t.cli(['sql', 'DELETE FROM events']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused: DELETE is not a read-only query/);
    const badLimit = await t.cli(['sql', 'SELECT 1', '--limit', '10001']);
    assert.notEqual(badLimit.code, 0);
    assert.match(badLimit.stderr, /expected a whole number from 1 to 10000/);
    assert.deepEqual(await tableNow(), before);
  });

  it('API: the exact rows as JSON and CSV', async () => {
    const json = await getJson({ q: SELECT_ALL });
    assert.equal(json.status, 200, JSON.stringify(json.json));
    assert.deepEqual(json.json.data, ROWS);
    assert.deepEqual([json.json.rows, json.json.limit, json.json.truncated], [3, 1000, false]);
    assert.equal(typeof (json.json.statistics as Record<string, unknown>).elapsed_ms, 'number');
    const csv = await get({ q: SELECT_ALL, format: 'csv' });
    assert.equal(csv.status, 200);
    assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(csv.headers.get('x-s3c-truncated'), null);
    assert.equal(
      await csv.text(),
      'id,big,name,ts\r\n1,9007199254740993,one,2024-01-01T10:00:00\r\n2,-5,"two, with a comma",2024-01-02T11:30:00\r\n3,0,"say ""three""",2024-02-01T00:00:05\r\n',
    );
  });

  it('API: the row limit cuts the answer and says so, in JSON and in a CSV header', async () => {
    const json = await getJson({ q: SELECT_ALL, limit: '2' });
    assert.equal(json.status, 200);
    assert.deepEqual(json.json.data, ROWS.slice(0, 2));
    assert.deepEqual(
      [json.json.rows, json.json.limit, json.json.truncated, json.json.truncated_by],
      [2, 2, true, 'rows'],
    );
    const csv = await get({ q: SELECT_ALL, format: 'csv', limit: '1' });
    assert.equal(await csv.text(), 'id,big,name,ts\r\n1,9007199254740993,one,2024-01-01T10:00:00\r\n');
    assert.match(csv.headers.get('x-s3c-truncated') ?? '', /^truncated: the first 1 rows \(limit 1\)/);
    // 10,000 rows at most; more is a 400, as is a limit that is not a number.
    assert.equal((await getJson({ q: 'SELECT * FROM range(20000)', limit: '10000' })).json.rows, 10000);
    for (const limit of ['10001', '0', 'ten']) {
      const bad = await getJson({ q: SELECT_ALL, limit });
      assert.equal(bad.status, 400, limit);
      assert.match(String(bad.json.error), /^invalid query: limit: /);
    }
  });

  it('API: refuses every statement that is not one read-only query, with its reason (400), and changes nothing', async () => {
    const before = await tableNow();
    const refused: [string, RegExp][] = [
      ["INSERT INTO events VALUES (9, 9, 'x', now())", /^refused: INSERT is not a read-only query/],
      ['DELETE FROM events', /^refused: DELETE is not a read-only query/],
      ['UPDATE events SET name = 1', /^refused: UPDATE is not a read-only query/],
      ['DROP TABLE events', /^refused: DROP is not a read-only query/],
      ["ATTACH '/tmp/x.duckdb' AS x", /^refused: ATTACH is not a read-only query/],
      ["COPY events TO '/tmp/events.csv'", /^refused: COPY is not a read-only query/],
      ['SET threads = 1', /^refused: SET is not a read-only query/],
      ["PRAGMA table_info('events')", /^refused: PRAGMA is not a read-only query/],
      ['CALL checkpoint()', /^refused: CALL is not a read-only query/],
      ['LOAD httpfs', /^refused: LOAD is not a read-only query/],
      ['SELECT 1; DROP TABLE events', /^refused: 2 statements; send exactly one read-only query/],
      ['EXPLAIN ANALYZE DELETE FROM events', /^refused: EXPLAIN of a statement that is not a read-only query/],
    ];
    for (const [q, reason] of refused) {
      const res = await getJson({ q });
      assert.equal(res.status, 400, `${q}: ${JSON.stringify(res.json)}`);
      assert.match(String(res.json.error), reason, q);
    }
    assert.deepEqual(await tableNow(), before);
  });

  it('API: refuses every attempt to read a file, never answering its content', async () => {
    const secrets = join(t.projectDir, '.s3c', 'secrets.json');
    const attempts: [string, RegExp][] = [
      ["SELECT * FROM read_text('/etc/passwd')", /table function read_text\(\) is not allowed/],
      [`SELECT * FROM read_text('${secrets}')`, /table function read_text\(\) is not allowed/],
      [`SELECT * FROM read_json_auto('${secrets}')`, /table function read_json_auto\(\) is not allowed/],
      [`SELECT * FROM '${secrets}'`, /is not a table name \(DuckDB would read it as a file\)/],
      ["SELECT * FROM glob('/etc/*')", /table function glob\(\) is not allowed/],
      [`SELECT * FROM query('SELECT * FROM read_text(''${secrets}'')')`, /table function query\(\) is not allowed/],
    ];
    for (const [q, reason] of attempts) {
      const res = await get({ q });
      const text = await res.text();
      assert.equal(res.status, 400, `${q}: ${text}`);
      assert.match(text, reason, q);
      assert.ok(!text.includes('root:') && !text.includes(t.minio.secretKey), `${q}: the answer holds the file`);
    }
  });

  it("API: a query past its time limit is stopped (400); DuckDB's error on a bad query is a 400", async () => {
    const slow = await getJson({ q: 'SELECT count(*) FROM range(100000000000)', timeout: '1' });
    assert.equal(slow.status, 400, JSON.stringify(slow.json));
    assert.match(String(slow.json.error), /the query ran longer than 1 s and was stopped/);
    const unknown = await getJson({ q: 'SELECT * FROM nope' });
    assert.equal(unknown.status, 400);
    assert.match(String(unknown.json.error), /Table with name nope does not exist/);
    // The worker goes on answering.
    assert.deepEqual((await getJson({ q: 'SELECT count(*) AS n FROM events' })).json.data, [{ n: '3' }]);
  });

  it('API: no token is a 401, and a missing or unknown parameter a 400', async () => {
    for (const token of [null, 'wrong']) {
      const res = await get({ q: SELECT_ALL }, token);
      assert.equal(res.status, 401);
      assert.doesNotMatch(await res.text(), /one|9007199254740993/);
    }
    const noQuery = await getJson({});
    assert.equal(noQuery.status, 400);
    assert.match(String(noQuery.json.error), /^invalid query: q: /);
    assert.equal((await getJson({ q: SELECT_ALL, format: 'xml' })).status, 400);
    assert.equal((await getJson({ q: SELECT_ALL, extra: '1' })).status, 400);
  });

  it('no worker serving queries is SqlUnavailableError (503 in the API)', async () => {
    const temporal = { ...t.stack.temporal, taskQueues: { ...t.stack.temporal.taskQueues, ingest: 'no-worker-here' } };
    await assert.rejects(
      runSqlQuery(t.stack.client, 'SELECT 1', { temporal, workspace: t.workspace }),
      (e: Error) =>
        e instanceof SqlUnavailableError &&
        /no worker serves queries \(task queue no-worker-here-sql\)/.test(e.message),
    );
  });

  it('the workflow checks its input: one started by hand past the limits fails, nothing run', async () => {
    const started = t.stack.client.workflow.execute('sqlQueryWorkflow', {
      workflowId: `sql/local/by-hand-${Date.now()}`,
      taskQueue: t.stack.temporal.taskQueues.control,
      args: [
        {
          sql: 'SELECT * FROM range(100000)',
          rowLimit: 100_000,
          timeoutMs: 1000,
          maxBytes: 10,
          sqlTaskQueue: 's3c-ingest-sql',
        },
      ],
    });
    await assert.rejects(
      started.catch((e: unknown) => Promise.reject(sqlFailure(e))),
      (e: Error) => e instanceof SqlRefusedError && /^input does not fit: /.test(e.message),
    );
  });

  it('each query is a workflow sql/<workspace>/<uuid> in Temporal, its text as the summary', async () => {
    const deadline = Date.now() + 15_000;
    const ids: string[] = [];
    while (ids.length === 0 && Date.now() < deadline) {
      for await (const info of t.stack.client.workflow.list({ query: `WorkflowType = 'sqlQueryWorkflow'` }))
        ids.push(info.workflowId);
      if (ids.length === 0) await sleep(250);
    }
    assert.ok(ids.length > 0, 'no sqlQueryWorkflow listed');
    for (const id of ids.filter((i) => !i.includes('by-hand'))) assert.match(id, /^sql\/local\/[0-9a-f-]{36}$/);
    const summaries = await Promise.all(
      ids.map(async (id) => (await t.stack.client.workflow.getHandle(id).describe()).staticSummary()),
    );
    assert.ok(summaries.includes(`sql: ${SELECT_ALL}`), summaries.join('\n'));
  });

  it('while a large file loads, queries answer at once with the rows committed so far: none of the file, then all of it', async () => {
    const rows = 1_000_000;
    const lines = ['id,big,name,ts'];
    for (let i = 0; i < rows; i++) lines.push(`${i},${i * 7},bulk row ${i},2024-03-01 00:00:00`);
    await t.put('landing', 'bulk/big.csv', `${lines.join('\n')}\n`);
    t.write('bulk.datasource', DATASOURCE.replace('events/*.csv', 'bulk/*.csv').replace('@once', '@on-demand'));
    const deployed = await t.cli(['deploy']);
    assert.equal(deployed.code, 0, deployed.stderr + deployed.stdout);
    // When the sink loads (the worker runs in this process): a query answered inside that span did not wait for it.
    const sink = t.stack.worker!.sink;
    const loading: { start: number; end: number } = { start: Infinity, end: Infinity };
    const ingestFile = sink.ingestFile.bind(sink);
    sink.ingestFile = async (input) => {
      loading.start = Date.now();
      try {
        return await ingestFile(input);
      } finally {
        loading.end = Date.now();
      }
    };
    const sync = await fetch(`${api.url}/v0/datasources/bulk/scheduling/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(sync.status, 202, await sync.text());
    /** Each answer: the count, and when the query was asked and answered. */
    const seen: { n: number; asked: number; answered: number }[] = [];
    const deadline = Date.now() + 120_000;
    while (seen.at(-1)?.n !== rows) {
      assert.ok(
        Date.now() < deadline,
        `the load did not finish; counts seen: ${[...new Set(seen.map((a) => a.n))].join(', ')}`,
      );
      const asked = Date.now();
      const res = await getJson({ q: 'SELECT count(*)::INTEGER AS n FROM bulk' });
      // Before the job's first step the table does not exist yet: nothing committed.
      seen.push({
        n: res.status === 200 ? Number((res.json.data as { n: number }[])[0]?.n) : 0,
        asked,
        answered: Date.now(),
      });
      await sleep(50);
    }
    sink.ingestFile = ingestFile;
    assert.ok(
      seen.every((a) => a.n === 0 || a.n === rows),
      `a query saw part of a file: ${[...new Set(seen.map((a) => a.n))].join(', ')}`,
    );
    const during = seen.filter((a) => a.asked > loading.start && a.answered < loading.end);
    assert.ok(
      during.length >= 2,
      `queries answered while the sink loaded (${loading.end - loading.start} ms): ${during.length}`,
    );
    assert.ok(
      during.every((a) => a.n === 0),
      'while the load runs, none of its rows',
    );
    assert.equal(await sink.rowCount('bulk'), rows);
  });
});
