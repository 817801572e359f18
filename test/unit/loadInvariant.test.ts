/**
 * The load invariant (issue #17 §1): for every file, records seen = rows
 * loaded + rows quarantined, and a file whose counts do not add up fails
 * and commits nothing. Each malformation here once made DuckDB's tolerant
 * reader drop every record after it while the load reported success.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseDataSource } from '../../src/datafiles';
import { DuckDbSink, RecordCountMismatchError, type IngestFileInput } from '../../src/sinks/duckdb';
import { recordCounter } from '../../src/sinks/recordCount';
import { splitCsv } from '../../src/sinks/csvSplit';

const SCHEMA = 'SCHEMA >\n    `id` Int64,\n    `comment` String\n';
const comments = parseDataSource(SCHEMA, 'comments.datasource');

let dir: string;
let seq = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3c-invariant-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Loaded {
  rows: number;
  quarantined: number;
  table: { id: number; comment: string }[];
  quarantine: { c__line: number; c__error: string[] }[];
}

/** Loads `content` as one CSV object into a fresh database and reads both tables back. */
async function loadCsv(content: string | Buffer, extra: Partial<IngestFileInput> = {}): Promise<Loaded> {
  const n = ++seq;
  const path = join(dir, `${n}.csv`);
  await writeFile(path, content);
  const sink = await DuckDbSink.open(join(dir, `${n}.duckdb`), { fileDirectories: [dir] });
  try {
    const r = await sink.ingestFile({
      dataSource: comments,
      localPath: path,
      format: 'csv',
      compression: 'none',
      bucket: 'bkt',
      key: `f${n}.csv`,
      etag: 'e1',
      size: content.length,
      lastModified: '2024-05-01T00:00:00Z',
      jobId: 'job-1',
      ...extra,
    });
    const table = (await sink.query('SELECT id, comment FROM comments ORDER BY id')) as Loaded['table'];
    const quarantine = (await sink.query(
      'SELECT c__line, c__error FROM comments_quarantine ORDER BY c__line',
    )) as Loaded['quarantine'];
    return { rows: r.rows, quarantined: r.quarantined, table, quarantine };
  } finally {
    await sink.close();
  }
}

const ids = (l: Loaded) => l.table.map((r) => r.id);

describe('no record vanishes from a CSV file', () => {
  it('a malformed quoted field is quarantined and every later row loads', async () => {
    const l = await loadCsv('id,comment\n1,"plain"\n2,"he said "hi" to me"\n3,"after"\n4,"after 2"\n5,"after 3"\n');
    assert.deepEqual([l.rows, l.quarantined], [4, 1]);
    assert.deepEqual(ids(l), [1, 3, 4, 5]);
    assert.deepEqual(l.quarantine, [
      {
        c__line: 3,
        c__error: [
          'line 3 could not be parsed as CSV (Value with unterminated quote found.): \'2,"he said "hi" to me"\'',
        ],
      },
    ]);
  });

  it('backslash-escaped quotes (not CSV escapes) are quarantined line by line', async () => {
    const l = await loadCsv('id,comment\n1,"a \\"b\\" c"\n2,"ok"\n3,"d \\"e\\""\n4,"ok too"\n');
    assert.deepEqual([l.rows, l.quarantined], [2, 2]);
    assert.deepEqual(ids(l), [2, 4]);
    assert.deepEqual(
      l.quarantine.map((q) => q.c__line),
      [2, 4],
    );
  });

  it('a quote left open at the end quarantines only its own line', async () => {
    const l = await loadCsv('id,comment\n1,a\n2,b\n3,"never closed\n');
    assert.deepEqual([l.rows, l.quarantined], [2, 1]);
    assert.deepEqual(l.quarantine, [
      {
        c__line: 4,
        c__error: ["line 4 could not be parsed as CSV (Value with unterminated quote found.): '3,\"never closed'"],
      },
    ]);
  });

  it('a quote left open in the middle: its line is quarantined, the lines it would swallow load', async () => {
    const l = await loadCsv('id,comment\n1,"open\n2,"x"\n3,y\n');
    assert.deepEqual([l.rows, l.quarantined], [2, 1]);
    assert.deepEqual(ids(l), [2, 3]);
    assert.equal(l.quarantine[0]!.c__line, 2);
  });

  it('quoted newlines stay in their value, and line numbers after them stay right', async () => {
    const l = await loadCsv('id,comment\n1,"two\nlines"\n2,"x"\nbad,"y"\n');
    assert.deepEqual(l.table, [
      { id: 1, comment: 'two\nlines' },
      { id: 2, comment: 'x' },
    ]);
    assert.deepEqual(
      l.quarantine.map((q) => [q.c__line, q.c__error]),
      [[5, ["value 'bad' on column 'id' is not Int64"]]],
    );
  });

  it('mixed line endings (LF, CR LF, lone CR) load every row', async () => {
    const l = await loadCsv('id,comment\r\n1,a\n2,b\r\n3,c\r4,d\n');
    assert.deepEqual([l.rows, l.quarantined], [4, 0]);
    assert.deepEqual(
      l.table.map((r) => r.comment),
      ['a', 'b', 'c', 'd'],
    );
  });

  it('NUL bytes stay in their value', async () => {
    const l = await loadCsv('id,comment\n1,a\u0000b\n2,c\n');
    assert.deepEqual(l.table, [
      { id: 1, comment: 'a\u0000b' },
      { id: 2, comment: 'c' },
    ]);
  });

  it('a last line without a line ending loads, on the fast and the tolerant path', async () => {
    assert.deepEqual(ids(await loadCsv('id,comment\n1,a\n2,b')), [1, 2]);
    const l = await loadCsv('id,comment\n1,"x"y\n2,b');
    assert.deepEqual([ids(l), l.quarantined], [[2], 1]);
  });

  it('the same malformations in a .csv.gz', async () => {
    const text = 'id,comment\n1,"plain"\n2,"he said "hi" to me"\n3,"after"\n4,"open\n5,z';
    const l = await loadCsv(gzipSync(text), { compression: 'gzip' });
    assert.deepEqual([l.rows, l.quarantined], [3, 2]);
    assert.deepEqual(ids(l), [1, 3, 5]);
  });

  it('fields too few or too many are quarantined with the wrong number of fields', async () => {
    const l = await loadCsv('id,comment\n1\n2,b,c\n"3",c\n');
    assert.deepEqual(ids(l), [3]);
    assert.deepEqual(
      l.quarantine.map((q) => q.c__error[0]),
      [
        "line 2 has the wrong number of fields (Expected Number of Columns: 2 Found: 1): '1'",
        "line 3 has the wrong number of fields (Expected Number of Columns: 2 Found: 3): '2,b,c'",
      ],
    );
  });
});

describe('a file whose counts do not add up', () => {
  it('fails naming the file and both counts, and commits nothing', async () => {
    const n = ++seq;
    const path = join(dir, `${n}.ndjson.gz`);
    const text = '{"id":1,"comment":"a"}\n{"id":2,"comment":"b"}\n';
    await writeFile(path, gzipSync(text));
    const dbPath = join(dir, `${n}.duckdb`);
    const sink = await DuckDbSink.open(dbPath, { fileDirectories: [dir] });
    try {
      // A gzip check that counted 3 records where DuckDB reads 2.
      const load = sink.ingestFile({
        dataSource: comments,
        localPath: path,
        format: 'ndjson',
        compression: 'gzip',
        bucket: 'bkt',
        key: 'x.ndjson.gz',
        etag: 'e1',
        size: 10,
        lastModified: '2024-05-01T00:00:00Z',
        jobId: 'job-1',
        gzipCheck: Promise.resolve(3),
        gzipCheckCounts: 'ndjson',
      });
      await assert.rejects(load, (e: unknown) => {
        assert.ok(e instanceof RecordCountMismatchError);
        assert.equal(
          e.message,
          'cannot read s3://bkt/x.ndjson.gz: records seen (3) do not add up to rows loaded (2) + rows quarantined (0); nothing was loaded from this file',
        );
        return true;
      });
      assert.deepEqual(await sink.query('SELECT count(*) AS n FROM comments'), [{ n: 0 }]);
      assert.deepEqual(await sink.query('SELECT count(*) AS n FROM comments_quarantine'), [{ n: 0 }]);
      assert.deepEqual(await sink.ledger('comments'), []);
    } finally {
      await sink.close();
    }
  });
});

describe('recordCounter', () => {
  const count = (format: 'csv' | 'csv1' | 'ndjson', text: string, step = 1): number => {
    const c = recordCounter(format);
    const b = Buffer.from(text);
    for (let i = 0; i < b.length; i += step) c.push(b.subarray(i, i + step));
    return c.end();
  };
  it('counts CSV records across quotes, CR LF and blank lines, in any chunking', () => {
    for (const step of [1, 2, 7, 1000]) {
      assert.equal(count('csv', 'a,b\r\n1,"x\r\ny"\r\n\r\n2,""""\n3,z', step), 4);
      assert.equal(count('csv1', 'a\n1\n\n3\n', step), 4);
      assert.equal(count('ndjson', '{"a":1}\n  \n\r\n{"a":"\\n"}\r\n[1]', step), 3);
    }
  });

  it('agrees with a byte-by-byte count on random text of quotes, commas, CR and LF, in random chunks', () => {
    // The counter jumps between quotes and line feeds; this is the plain state machine it must equal.
    const reference = (text: string): number => {
      let records = 0;
      let quoted = false;
      let data = false;
      for (const ch of text) {
        if (quoted) {
          if (ch === '"') quoted = false;
          continue;
        }
        if (ch === '"') {
          quoted = true;
          data = true;
        } else if (ch === '\n') {
          if (data) records++;
          data = false;
        } else if (ch !== '\r') data = true;
      }
      return data || quoted ? records + 1 : records;
    };
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let run = 0; run < 500; run++) {
      const text = Array.from({ length: random(300) }, () => 'a,"\n\r"'[random(6)]!).join('');
      const c = recordCounter('csv');
      const b = Buffer.from(text);
      for (let i = 0; i < b.length;) {
        const step = 1 + random(40);
        c.push(b.subarray(i, i + step));
        i += step;
      }
      assert.equal(c.end(), reference(text), JSON.stringify(text));
    }
  });
});

describe('splitCsv', () => {
  it('writes good records behind their line, bad ones as NDJSON, and counts both', async () => {
    const n = ++seq;
    const path = join(dir, `${n}.tsv`);
    await writeFile(path, '\uFEFFa\tb\n1\t"x\ny"\n\n2\t"bad"z\n3\t4\t5\n4\t""\n');
    const r = await splitCsv(
      path,
      { delim: '\t', fields: 2, header: true, skipLines: 0, skipRecords: 0, lastFieldOptional: false },
      {
        goodPath: `${path}.good`,
        badPath: `${path}.bad`,
        maxRecordBytes: 1 << 20,
      },
    );
    assert.deepEqual(r, { records: 4, good: 2, bad: 2 });
    const { readFile } = await import('node:fs/promises');
    assert.equal(await readFile(`${path}.good`, 'utf8'), '2\t1\t"x\ny"\n7\t4\t""\n');
    assert.deepEqual(
      (await readFile(`${path}.bad`, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      [
        { line: 5, reason: 'Value with unterminated quote found.', text: '2\t"bad"z' },
        { line: 6, reason: 'Expected Number of Columns: 2 Found: 3', text: '3\t4\t5' },
      ],
    );
  });
});

describe('a wide file', () => {
  it('that runs DuckDB out of memory on two threads loads on one', async () => {
    // 785 columns (the width of MNIST): each thread of an INSERT holds a 256 KiB block per column.
    const n = 785;
    const cols = Array.from({ length: n }, (_, k) => `    \`p${k}\` Int64`).join(',\n');
    const wide = parseDataSource(`SCHEMA >\n${cols}\n`, 'wide.datasource');
    const row = (r: number) => Array.from({ length: n }, (_, k) => (r * k) % 256).join(',');
    const text = Array.from({ length: 5000 }, (_, r) => row(r)).join('\n') + '\n';
    const k = ++seq;
    const path = join(dir, `${k}.csv`);
    await writeFile(path, text);
    const sink = await DuckDbSink.open(join(dir, `${k}.duckdb`), { memoryLimit: '512MB', fileDirectories: [dir] });
    try {
      const r = await sink.ingestFile({
        dataSource: wide,
        localPath: path,
        format: 'csv',
        compression: 'none',
        bucket: 'bkt',
        key: 'wide.csv',
        etag: 'e1',
        size: text.length,
        lastModified: '2024-05-01T00:00:00Z',
        jobId: 'job-1',
      });
      assert.deepEqual([r.rows, r.quarantined], [5000, 0]);
      assert.deepEqual(await sink.query('SELECT sum(p1)::BIGINT AS s, max(p784) AS m FROM wide'), [
        { s: 629_340, m: 240 },
      ]);
    } finally {
      await sink.close();
    }
  });
});
