/**
 * Text encodings (issue #17 §5): UTF-16 and Latin-1 files are decoded, never
 * loaded as rows of NUL bytes or quarantined line by line; UTF-32 is refused
 * by name.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FileUnreadableError } from '../../src/sinks/duckdb';
import { sniffEncoding } from '../../src/sinks/textEncoding';
import { repoRoot } from '../../src/local/tools';
import { sinkLoader, type SinkLoader } from '../helpers/sinkLoad';

let loader: SinkLoader;
before(async () => {
  loader = await sinkLoader();
});
after(async () => {
  await loader.close();
});

const text = 'id,name\n1,Zoë\n2,Ærø\n3,plain\n';
const expected = [
  { id: 1, name: 'Zoë' },
  { id: 2, name: 'Ærø' },
  { id: 3, name: 'plain' },
];
const utf16be = (s: string) => {
  const le = Buffer.from(s, 'utf16le');
  for (let i = 0; i + 1 < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1]!, le[i]!];
  return le;
};

describe('text encodings', () => {
  const ds = () => loader.dataSource('people', 'SCHEMA >\n    `id` Int64,\n    `name` String\n');

  it('UTF-16 LE and BE with a byte order mark, and LE without one, load as their text', async () => {
    for (const bytes of [
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]),
      Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(text)]),
      Buffer.from(text, 'utf16le'),
    ]) {
      const l = await loader.load(ds(), bytes);
      assert.deepEqual([l.table, l.quarantined], [expected, 0]);
    }
  });

  it('a gzipped UTF-16 file too', async () => {
    const bytes = gzipSync(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const l = await loader.load(ds(), bytes, { compression: 'gzip' });
    assert.deepEqual(l.table, expected);
  });

  it('Latin-1 loads as its text, not as quarantined lines', async () => {
    const l = await loader.load(ds(), Buffer.from(text, 'latin1'));
    assert.deepEqual([l.table, l.quarantined], [expected, 0]);
  });

  it('NDJSON in UTF-16 too', async () => {
    const nd = '{"id":1,"name":"Zoë"}\n{"id":2,"name":"Ærø"}\n{"id":3,"name":"plain"}\n';
    const l = await loader.load(ds(), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(nd, 'utf16le')]), {
      format: 'ndjson',
    });
    assert.deepEqual(l.table, expected);
  });

  it('IMPORT_ENCODING windows-1251 reads a real Cyrillic file (modin test data) as its text', async (t) => {
    const file = join(repoRoot, 'test', 'fixtures', 'realworld', 'files', 'modin_issue_976.csv');
    if (!existsSync(file)) return t.skip('the real-world corpus is built by npm run setup');
    const schema = 'SCHEMA >\n' + Array.from({ length: 11 }, (_, i) => `    \`c${i}\` String`).join(',\n') + '\n';
    const settings =
      'IMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI s3://bkt/*.csv\nIMPORT_SCHEDULE @once\nIMPORT_CSV_HEADER false\n';
    const bytes = readFileSync(file);
    const declared = await loader.load(
      loader.dataSource('farms', `${schema}${settings}IMPORT_ENCODING windows-1251\n`),
      bytes,
    );
    assert.equal(declared.rows, 5);
    assert.ok(declared.table.some((r) => r.c3 === 'Мельник Сергій Васильович' && r.c9 === 'Хмельницька область'));
    // Without it, the bytes are not UTF-8: read as Windows-1252, every row loads, as gibberish.
    const detected = await loader.load(loader.dataSource('farms', `${schema}${settings}`), bytes);
    assert.equal(detected.rows, 5);
    assert.ok(!detected.table.some((r) => r.c3 === 'Мельник Сергій Васильович'));
  });

  it('IMPORT_ENCODING utf-8 on Latin-1 bytes: the lines with bad bytes are quarantined, not decoded', async () => {
    const l = await loader.load(
      loader.dataSource(
        'people',
        'SCHEMA >\n    `id` Int64,\n    `name` String\n\nIMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI s3://bkt/*.csv\nIMPORT_SCHEDULE @once\nIMPORT_ENCODING utf-8\n',
      ),
      Buffer.from(text, 'latin1'),
    );
    assert.deepEqual([l.rows, l.quarantined], [1, 2]);
  });

  it('IMPORT_ENCODING: names are canonical, auto is detection, an unknown name is refused with file:line', () => {
    const withEncoding = (v: string) =>
      loader.dataSource(
        'e',
        'SCHEMA >\n    `id` Int64\n\nIMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI s3://bkt/*.csv\nIMPORT_SCHEDULE @once\n' +
          `IMPORT_ENCODING ${v}\n`,
      );
    assert.equal(withEncoding('latin1').import?.encoding, 'windows-1252');
    assert.equal(withEncoding('CP1251').import?.encoding, 'windows-1251');
    assert.equal(withEncoding('auto').import?.encoding, undefined);
    assert.throws(
      () => withEncoding('utf-32'),
      /e\.datasource:7: Invalid IMPORT_ENCODING: found "utf-32", expected auto or an encoding name/,
    );
    assert.throws(() => withEncoding("x'); DROP TABLE t; --"), /e\.datasource:7: Invalid IMPORT_ENCODING/);
  });

  it('UTF-32 is refused, naming the encoding, and nothing loads', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), Buffer.alloc(16)]);
    await assert.rejects(loader.load(ds(), bytes), (e: unknown) => {
      assert.ok(e instanceof FileUnreadableError);
      assert.match(
        e.message,
        /UTF-32 \(little-endian byte order mark\), which is not supported: re-encode it as UTF-8/,
      );
      return true;
    });
  });

  it('sniffEncoding: UTF-8 cut inside a character at the end of the head is still UTF-8', () => {
    const b = Buffer.from('abc é', 'utf8');
    assert.deepEqual(sniffEncoding(b.subarray(0, b.length - 1), false), { kind: 'utf-8' });
    assert.deepEqual(sniffEncoding(b.subarray(0, b.length - 1), true), { kind: 'decode', encoding: 'windows-1252' });
  });
});
