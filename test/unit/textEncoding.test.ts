/**
 * Text encodings (issue #17 §5): UTF-16 and Latin-1 files are decoded, never
 * loaded as rows of NUL bytes or quarantined line by line; UTF-32 is refused
 * by name.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { FileUnreadableError } from '../../src/sinks/duckdb';
import { sniffEncoding } from '../../src/sinks/textEncoding';
import { sinkLoader, type SinkLoader } from '../helpers/sinkLoad';

let loader: SinkLoader;
before(async () => {
  loader = await sinkLoader();
});
after(async () => {
  await loader.close();
});

const text = 'id,name\n1,Zoë\n2,Ærø\n3,plain\n';
const expected = [{ id: 1, name: 'Zoë' }, { id: 2, name: 'Ærø' }, { id: 3, name: 'plain' }];
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
    const l = await loader.load(ds(), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(nd, 'utf16le')]), { format: 'ndjson' });
    assert.deepEqual(l.table, expected);
  });

  it('UTF-32 is refused, naming the encoding, and nothing loads', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), Buffer.alloc(16)]);
    await assert.rejects(loader.load(ds(), bytes), (e: unknown) => {
      assert.ok(e instanceof FileUnreadableError);
      assert.match(e.message, /UTF-32 \(little-endian byte order mark\), which is not supported: re-encode it as UTF-8/);
      return true;
    });
  });

  it('sniffEncoding: UTF-8 cut inside a character at the end of the head is still UTF-8', () => {
    const b = Buffer.from('abc é', 'utf8');
    assert.deepEqual(sniffEncoding(b.subarray(0, b.length - 1), false), { kind: 'utf-8' });
    assert.deepEqual(sniffEncoding(b.subarray(0, b.length - 1), true), { kind: 'decode', encoding: 'windows-1252' });
  });
});
