/**
 * A plain CSV loaded while it is still being downloaded (IngestFileInput's
 * `downloaded`): DuckDB reads it through a pipe fed as the file grows. The
 * download is played here by appending to the file in parts. A good file
 * loads whole and fast; a bad row still ends in quarantine (the tolerant
 * path reads the complete file); a cut download commits nothing and leaves
 * no pipe or temporary file behind.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DataSourceDef } from '../../src/datafiles/types';
import { DuckDbSink, type IngestFileInput } from '../../src/sinks/duckdb';

const events: DataSourceDef = {
  name: 'events',
  path: 'events.datasource',
  engine: 'MergeTree',
  schema: [
    { name: 'id', type: { kind: 'Int', bits: 64, signed: true }, typeText: 'Int64', line: 1 },
    { name: 'name', type: { kind: 'String' }, typeText: 'String', line: 2 },
  ],
};

/** Rows enough for a few MB: more than the head the sink waits for (1 MiB) before it plans the read. */
const ROWS = 10_000;
const PAD = 'x'.repeat(240);

function csvLines(rows: number, bad: Map<number, string> = new Map()): string[] {
  const lines = ['id,name'];
  for (let i = 1; i <= rows; i++) lines.push(bad.get(i) ?? `${i},name-${i}-${PAD}`);
  return lines;
}

let dir: string;
let seq = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3c-streaming-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A download in progress: the file grows part by part; `cut` fails it after `cutAfter` parts. */
function downloading(path: string, text: string | Buffer, options: { parts?: number; cutAfter?: number } = {}) {
  const parts = options.parts ?? 8;
  let settle!: { resolve: (n: number) => void; reject: (e: Error) => void };
  const downloaded = new Promise<number>((resolve, reject) => {
    settle = { resolve, reject };
  });
  downloaded.catch(() => undefined);
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const sawPipe = { value: false };
  const run = async (): Promise<void> => {
    const step = Math.ceil(bytes.length / parts);
    for (let k = 0; k < parts; k++) {
      if (k === options.cutAfter) {
        settle.reject(Object.assign(new Error('connection reset'), { name: 'TimeoutError' }));
        return;
      }
      await appendFile(path, bytes.subarray(k * step, (k + 1) * step));
      await sleep(20);
      // The sink reads the file through a pipe beside it while it is still incomplete.
      if ((await readdir(dir)).some((f) => f.endsWith('.fifo'))) sawPipe.value = true;
    }
    settle.resolve(bytes.length);
  };
  return { downloaded, run, sawPipe };
}

async function openSink(): Promise<{ sink: DuckDbSink; dbPath: string }> {
  const dbPath = join(dir, `db${++seq}.duckdb`);
  return { sink: await DuckDbSink.open(dbPath, { fileDirectories: [dir] }), dbPath };
}

async function rowsOf(dbPath: string, sql: string): Promise<unknown[]> {
  const inst = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  const conn = await inst.connect();
  try {
    return JSON.parse(JSON.stringify((await conn.runAndReadAll(sql)).getRowObjectsJson())) as unknown[];
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

async function objectFile(): Promise<{ path: string; input: (downloaded: Promise<number>) => IngestFileInput }> {
  const path = join(dir, `object-${++seq}`);
  await writeFile(path, '');
  const input = (downloaded: Promise<number>): IngestFileInput => ({
    dataSource: events,
    localPath: path,
    format: 'csv',
    compression: 'none',
    bucket: 'bkt',
    key: `data/${seq}.csv`,
    etag: '"etag-1"',
    size: 1,
    lastModified: '2024-05-01T00:00:00Z',
    jobId: 'job-1',
    downloaded,
  });
  return { path, input };
}

/** The files beside the object that the load left (pipes, temporary copies). */
async function leftovers(path: string): Promise<string[]> {
  const name = path.slice(dir.length + 1);
  return (await readdir(dir)).filter((f) => f.startsWith(`${name}.`));
}

describe('a plain CSV loaded while it downloads', () => {
  it('loads every row in one pass through the pipe, and commits once the download is complete', async () => {
    const { path, input } = await objectFile();
    const dl = downloading(path, csvLines(ROWS).join('\n') + '\n');
    const { sink, dbPath } = await openSink();
    try {
      const [result] = await Promise.all([sink.ingestFile(input(dl.downloaded)), dl.run()]);
      assert.deepEqual([result.rows, result.quarantined], [ROWS, 0]);
      assert.equal(sink.lastLoadPath, 'fast');
      assert.ok(dl.sawPipe.value, 'DuckDB read the file through a pipe while it downloaded');
    } finally {
      await sink.close();
    }
    assert.deepEqual(await rowsOf(dbPath, 'SELECT count(*) AS n, sum(id) AS s FROM events'), [
      { n: String(ROWS), s: String((ROWS * (ROWS + 1)) / 2) },
    ]);
    assert.deepEqual(await rowsOf(dbPath, 'SELECT count(*) AS n FROM s3c_ledger'), [{ n: '1' }]);
    assert.deepEqual(await leftovers(path), []);
  });

  it('a download cut while DuckDB reads commits nothing and leaves no pipe behind', async () => {
    const { path, input } = await objectFile();
    const dl = downloading(path, csvLines(ROWS).join('\n') + '\n', { cutAfter: 5 });
    const { sink, dbPath } = await openSink();
    try {
      const [load] = await Promise.allSettled([sink.ingestFile(input(dl.downloaded)), dl.run()]);
      assert.equal(load.status, 'rejected');
      assert.ok(dl.sawPipe.value, 'DuckDB was reading the file when the download was cut');
    } finally {
      await sink.close();
    }
    assert.deepEqual(await rowsOf(dbPath, 'SELECT count(*) AS n FROM events'), [{ n: '0' }]);
    assert.deepEqual(await rowsOf(dbPath, 'SELECT count(*) AS n FROM s3c_ledger'), [{ n: '0' }]);
    assert.deepEqual(await leftovers(path), []);
  });

  it('a bad row met while streaming is quarantined from the complete file', async () => {
    const bad = new Map([
      [ROWS - 10, 'not-a-number,late bad value'],
      [3, '3,too,many,fields'],
    ]);
    const { path, input } = await objectFile();
    const dl = downloading(path, csvLines(ROWS, bad).join('\n') + '\n');
    const { sink, dbPath } = await openSink();
    try {
      const [result] = await Promise.all([sink.ingestFile(input(dl.downloaded)), dl.run()]);
      assert.deepEqual([result.rows, result.quarantined], [ROWS - 2, 2]);
      assert.equal(sink.lastLoadPath, 'tolerant');
    } finally {
      await sink.close();
    }
    assert.deepEqual(
      await rowsOf(dbPath, 'SELECT c__line AS line FROM events_quarantine ORDER BY c__line').then((r) =>
        r.map((x) => (x as { line: string | number }).line),
      ),
      [String(4), String(ROWS - 9)],
    );
    assert.deepEqual(await rowsOf(dbPath, 'SELECT count(*) AS n FROM events'), [{ n: String(ROWS - 2) }]);
    assert.deepEqual(await leftovers(path), []);
  });

  it('a file that is not UTF-8 is decoded once it is complete', async () => {
    const { path, input } = await objectFile();
    const text = csvLines(ROWS).join('\n').replace('name-1-', 'caf\u00e9-1-') + '\n';
    // Latin-1 bytes: DuckDB cannot read them as they arrive.
    const dl = downloading(path, Buffer.from(text, 'latin1'));
    const { sink, dbPath } = await openSink();
    try {
      const [result] = await Promise.all([sink.ingestFile(input(dl.downloaded)), dl.run()]);
      assert.deepEqual([result.rows, result.quarantined], [ROWS, 0]);
    } finally {
      await sink.close();
    }
    assert.deepEqual(await rowsOf(dbPath, 'SELECT name FROM events WHERE id = 1'), [{ name: `caf\u00e9-1-${PAD}` }]);
    assert.deepEqual(await leftovers(path), []);
  });
});
