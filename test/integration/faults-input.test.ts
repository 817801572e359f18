/**
 * Bad input, on real parts (R4.3, R4.4, R1.4, R2.3): malformed CSV rows,
 * NDJSON lines that are not JSON, Parquet with a wrong schema, a file that is
 * not Parquet, truncated gzip, an empty file, a header-only CSV, a file over
 * the size limit; and bad datafiles, refused with the file and line while
 * nothing deployed changes.
 *
 * Ends comparing the table with the good rows, the quarantine with the bad
 * rows and their reasons, and the job with one clear error per failed file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DataSourceState, JobReport } from '../../src/contract';
import { assertTableMatchesFiles, csvRows, range, syncAndWait } from '../helpers/faults';
import { idNameDataSource, minioConnection, startTestStack, type TestStack } from '../helpers/stack';

const SIZE_LIMIT = 100_000;

function datasource(uri: string, schedule = '@on-demand'): string {
  return idNameDataSource(uri, { schedule });
}

async function parquet(select: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 's3c-pq-'));
  const file = join(dir, 'f.parquet');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
    return readFileSync(file);
  } finally {
    conn.closeSync();
    db.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('faults: bad files and bad datafiles', () => {
  let t: TestStack;

  before(async () => {
    t = await startTestStack({
      workspace: { filesPerMinute: 0, pollIntervalSeconds: 3600, maxFileBytes: { csv: SIZE_LIMIT } },
    });
    await t.createBucket('input');
    t.write('minio.connection', minioConnection());
    t.write('bad.datasource', datasource('s3://input/bad'));
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
  });

  after(async () => {
    await t?.stop();
  });

  const sink = () => t.stack.worker!.sink;

  const sync = (name: string) => syncAndWait(t.stack.client, name);

  it('bad rows go to quarantine with their reason, unreadable files fail alone with a clear error, the rest loads once', async () => {
    await t.put('input', 'bad/good.csv', csvRows(1, 5));
    await t.put('input', 'bad/rows.csv', 'id,name\n10,a\nabc,b\n12,c\n13,d,extra\n');
    await t.put('input', 'bad/lines.ndjson', '{"id":20,"name":"x"}\n{"id":21, oops\n{"id":22,"name":"z"}\n');
    await t.put('input', 'bad/wrong.parquet', await parquet(`SELECT i AS x, 'v' || i AS y FROM range(3) t(i)`));
    await t.put(
      'input',
      'bad/right.parquet',
      await parquet(`SELECT (30 + i)::INTEGER AS id, 'p' || i AS name FROM range(4) t(i)`),
    );
    await t.put('input', 'bad/not.parquet', 'id,name\n1,a\n'.repeat(20));
    const gz = gzipSync(csvRows(40, 5000));
    await t.put('input', 'bad/trunc.csv.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    await t.put('input', 'bad/empty.csv', '');
    await t.put('input', 'bad/header.csv', 'id,name\n');
    const huge = csvRows(100_000, 10_000);
    assert.ok(Buffer.byteLength(huge) > SIZE_LIMIT);
    await t.put('input', 'bad/huge.csv', huge);

    const { state, job } = await sync('bad');
    assert.equal(job.status, 'done');
    assert.equal(job.statistics.found_files, 10);
    const failedKeys = job.errors.map((e) => e.key).sort();
    assert.deepEqual(failedKeys, ['bad/huge.csv', 'bad/not.parquet', 'bad/trunc.csv.gz']);
    const errorOf = (key: string) => job.errors.find((e) => e.key === key)!.error;
    assert.match(errorOf('bad/trunc.csv.gz'), /^cannot read s3:\/\/input\/bad\/trunc\.csv\.gz: truncated gzip data/);
    assert.match(errorOf('bad/not.parquet'), /^cannot read s3:\/\/input\/bad\/not\.parquet: .*not a Parquet file/);
    assert.equal(
      errorOf('bad/huge.csv'),
      `s3://input/bad/huge.csv: file is ${Buffer.byteLength(huge)} bytes, over the csv size limit of ${SIZE_LIMIT} bytes`,
    );
    assert.equal(job.statistics.files_failed, 3);
    assert.equal(job.statistics.files_done, 7);
    // good 5 + rows 2 + lines 2 + right.parquet 4; wrong.parquet: every row quarantined.
    assert.equal(job.statistics.row_count, 13);
    assert.equal(job.statistics.quarantined_rows, 2 + 1 + 3);
    assert.equal(state.counters.quarantined, 6);

    await assertTableMatchesFiles(sink(), 'bad', {
      ids: [...range(1, 5), 10, 12, 20, 22, ...range(30, 4)],
      files: {
        'bad/good.csv': 5,
        'bad/rows.csv': 2,
        'bad/lines.ndjson': 2,
        'bad/wrong.parquet': 0,
        'bad/right.parquet': 4,
        'bad/empty.csv': 0,
        'bad/header.csv': 0,
      },
    });
    const quarantine = await sink().query(
      `SELECT c__object_key AS key, c__line AS line, c__error AS error, c__error_column AS cols, c__import_id AS job FROM bad_quarantine ORDER BY key, line`,
    );
    for (const q of quarantine) assert.equal(q.job, job.id, 'c__import_id is the job');
    assert.deepEqual(
      quarantine.filter((q) => q.key !== 'bad/wrong.parquet').map(({ key, line, error }) => ({ key, line, error })),
      [
        { key: 'bad/lines.ndjson', line: 2, error: [`line 2 is not valid JSON: '{"id":21, oops'`] },
        { key: 'bad/rows.csv', line: 3, error: ["value 'abc' on column 'id' is not Int32"] },
        {
          key: 'bad/rows.csv',
          line: 5,
          error: ["line 5 has the wrong number of fields (Expected Number of Columns: 2 Found: 3): '13,d,extra'"],
        },
      ],
    );
    const wrong = quarantine.filter((q) => q.key === 'bad/wrong.parquet');
    assert.equal(wrong.length, 3);
    for (const q of wrong) {
      assert.deepEqual(q.error, [
        "missing value on column 'id' (Int32 is not Nullable)",
        "missing value on column 'name' (String is not Nullable)",
      ]);
      assert.deepEqual(q.cols, ['id', 'name']);
    }

    // The data source goes on: a new file loads; the failed versions are not retried by every sync.
    await t.put('input', 'bad/later.csv', csvRows(50, 3));
    const next = await sync('bad');
    assert.equal(next.job.statistics.found_files, 1);
    assert.equal(next.job.statistics.files_done, 1);
    assert.deepEqual(next.job.errors, []);
    // A fixed version (new ETag) of a failed file is loaded.
    await t.put('input', 'bad/trunc.csv.gz', gz);
    const fixed = await sync('bad');
    assert.equal(fixed.job.statistics.files_done, 1);
    assert.equal(fixed.job.statistics.row_count, 5000);
    assert.equal(await sink().rowCount('bad'), 13 + 3 + 5000);
    assert.equal(await sink().rowCount('bad_quarantine'), 6);
  });

  it('bad datafiles are refused with file and line, and nothing deployed changes', async () => {
    const deployment = join(t.projectDir, '.s3c', 'deployment.json');
    const hash = () => createHash('sha256').update(readFileSync(deployment)).digest('hex');
    const workflows = async () => {
      const ids: string[] = [];
      for await (const wf of t.stack.client.workflow.list({
        query: `WorkflowType = 'dataSourceWorkflow' AND ExecutionStatus = 'Running'`,
      }))
        ids.push(wf.workflowId);
      return ids.sort();
    };
    const before = { hash: hash(), workflows: await workflows(), rows: await sink().rowCount('bad') };
    const cases: { files: Record<string, string>; error: RegExp }[] = [
      {
        files: {
          'ts.datasource': datasource('s3://input/ts/*.csv').replace(
            'IMPORT_SCHEDULE',
            'IMPORT_FROM_TIMESTAMP 2024-01-01 00:00:00\nIMPORT_SCHEDULE',
          ),
        },
        error: /ts\.datasource:\d+: Invalid IMPORT_FROM_TIMESTAMP/,
      },
      {
        files: { 'types.datasource': datasource('s3://input/t/*.csv').replace('Int32', 'Int33') },
        error: /types\.datasource:2: .*Int33/,
      },
      {
        files: { 'noregion.connection': 'TYPE s3\nS3_ACCESS_KEY "a"\nS3_SECRET "b"\n' },
        error: /noregion\.connection:\d+: .*S3_REGION/,
      },
      {
        files: { 'nosecret.connection': minioConnection().replace('TEST_S3_SECRET', 'NO_SUCH_SECRET') },
        error: /nosecret\.connection:\d+: .*NO_SUCH_SECRET/,
      },
      // R2.3: a deployed data source's bucket URI cannot change in place.
      {
        files: { 'bad.datasource': datasource('s3://input/elsewhere/*.csv') },
        error: /bad\.datasource.*IMPORT_BUCKET_URI/,
      },
      { files: { '9bad.datasource': datasource('s3://input/x/*.csv') }, error: /9bad\.datasource:1: / },
    ];
    for (const c of cases) {
      for (const [name, text] of Object.entries(c.files)) t.write(name, text);
      // `deploy` checks what `deploy --check` checks (the first case runs both).
      for (const args of c === cases[0] ? [['deploy', '--check'], ['deploy']] : [['deploy']]) {
        const out = await t.cli(args);
        assert.notEqual(
          out.code,
          0,
          `${args.join(' ')} with ${Object.keys(c.files).join(', ')} must fail:\n${out.stdout}`,
        );
        assert.match(out.stdout + out.stderr, c.error);
        assert.ok(!(out.stdout + out.stderr).includes(t.minio.secretKey), 'no secret value in the error');
      }
      for (const name of Object.keys(c.files)) {
        if (name === 'bad.datasource') t.write(name, datasource('s3://input/bad'));
        else rmSync(join(t.projectDir, name));
      }
      assert.equal(hash(), before.hash, 'deployment.json unchanged');
      assert.deepEqual(await workflows(), before.workflows, 'no workflow started or stopped');
    }
    assert.equal(await sink().rowCount('bad'), before.rows);
    const again = await t.cli(['deploy']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /No changes\./);
  });
});
