import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { verifyGzip } from '../../src/sinks/gzipCheck';

describe('verifyGzip (on a worker thread)', () => {
  let dir: string;
  const text = Array.from({ length: 20_000 }, (_, i) => `{"id":${i}}`).join('\n') + '\n';
  const file = async (name: string, data: Buffer) => {
    const p = join(dir, name);
    await writeFile(p, data);
    return p;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3c-gzcheck-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a whole file, several members included', async () => {
    await verifyGzip(await file('ok.gz', Buffer.concat([gzipSync(text), gzipSync(text)])));
  });

  it('refuses a stream cut at a line boundary, which DuckDB would load silently', async () => {
    const full = gzipSync(text);
    await assert.rejects(verifyGzip(await file('cut.gz', full.subarray(0, full.length - 8))), (e: Error & { code?: string }) => {
      assert.match(e.message, /unexpected end of file/);
      assert.equal(e.code, 'Z_BUF_ERROR');
      return true;
    });
  });

  it('refuses a wrong CRC trailer, which DuckDB does not check', async () => {
    const bad = Buffer.from(gzipSync(text));
    bad[bad.length - 6]! ^= 0xff;
    await assert.rejects(verifyGzip(await file('crc.gz', bad)), /incorrect data check/);
  });

  it('refuses what is not gzip, and a missing file', async () => {
    await assert.rejects(verifyGzip(await file('plain.gz', Buffer.from(text))), /incorrect header check/);
    await assert.rejects(verifyGzip(join(dir, 'missing.gz')), /ENOENT/);
  });
});
