import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkGzipWhileWritten,
  feedGzipThroughFifo,
  GzipFeedBroken,
  verifyGzip,
  type GzipFeed,
} from '../../src/sinks/gzipCheck';

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
    await assert.rejects(
      verifyGzip(await file('cut.gz', full.subarray(0, full.length - 8))),
      (e: Error & { code?: string }) => {
        assert.match(e.message, /unexpected end of file/);
        assert.equal(e.code, 'Z_BUF_ERROR');
        return true;
      },
    );
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

  describe('while the file is being written (checkGzipWhileWritten)', () => {
    /** Writes `data` to a new file in pieces, pausing between them, as a download does. */
    const writeInPieces = async (path: string, data: Buffer, pieces: number) => {
      const step = Math.ceil(data.length / pieces);
      for (let at = 0; at < data.length; at += step) {
        await appendFile(path, data.subarray(at, at + step));
        await sleep(15);
      }
    };
    const settledYet = async (p: Promise<unknown>) => {
      let settled = false;
      p.then(
        () => (settled = true),
        () => (settled = true),
      );
      await sleep(50);
      return settled;
    };

    it('follows the file as it grows and settles only once told its final size', async () => {
      const data = Buffer.concat([gzipSync(text), gzipSync(text)]);
      const path = await file('growing.gz', Buffer.alloc(0));
      const check = checkGzipWhileWritten(path, 'ndjson');
      await writeInPieces(path, data, 8);
      assert.equal(await settledYet(check.result), false, 'a whole stream so far is not yet the whole file');
      check.complete(data.length);
      // It counts the records of the text as it inflates (both members).
      assert.equal(await check.result, 40_000);
    });

    it('refuses a stream that ends cut, and bad data as soon as it is written', async () => {
      const full = gzipSync(text);
      const cutPath = await file('growing-cut.gz', Buffer.alloc(0));
      const cut = checkGzipWhileWritten(cutPath);
      await writeInPieces(cutPath, full.subarray(0, full.length - 8), 4);
      cut.complete(full.length - 8);
      await assert.rejects(
        cut.result,
        (e: Error & { code?: string }) => e.code === 'Z_BUF_ERROR' && /unexpected end of file/.test(e.message),
      );

      const notGzipPath = await file('growing-plain.gz', Buffer.alloc(0));
      const notGzip = checkGzipWhileWritten(notGzipPath);
      await writeInPieces(notGzipPath, Buffer.from(text), 2);
      // No final size yet: the header was enough.
      await assert.rejects(notGzip.result, /incorrect header check/);
    });

    it('a cancelled check stops and says so', async () => {
      const path = await file('growing-cancel.gz', gzipSync(text).subarray(0, 100));
      const check = checkGzipWhileWritten(path);
      check.cancel();
      await assert.rejects(check.result, /gzip check stopped/);
    });
  });

  describe('through a named pipe (feedGzipThroughFifo)', () => {
    /** Starts a feed; the platform here has mkfifo. */
    // A small buffer, so that zlib waits for the reader here too.
    const feed = async (name: string, data: Buffer): Promise<GzipFeed> => {
      const f = await feedGzipThroughFifo(await file(name, data), { buffer: 256 * 1024 });
      assert.ok(f, 'a named pipe could be made');
      return f;
    };
    /** Everything a reader of the pipe gets, up to its end. */
    const readAll = async (path: string): Promise<Buffer> => {
      const parts: Buffer[] = [];
      for await (const b of createReadStream(path)) parts.push(b as Buffer);
      return Buffer.concat(parts);
    };
    const leftovers = async () => (await readdir(dir)).filter((f) => f.endsWith('.fifo'));
    // Big enough (~12 MB inflated) to overflow the pipe and the feed's buffer.
    const big = Array.from({ length: 600_000 }, (_, i) => `{"id":${i},"pad":"${'x'.repeat(i % 7)}"}`).join('\n') + '\n';

    it('gives the reader the inflated text of every member, checks it, and removes the pipe', async () => {
      const f = await feed('fed.gz', Buffer.concat([gzipSync(big), gzipSync(text)]));
      assert.equal((await readAll(f.path)).toString(), big + text);
      await f.result;
      await f.stop();
      assert.equal(existsSync(f.path), false);
    });

    // A small file is inflated and written (or found bad) before DuckDB opens
    // the pipe: with no writer left, a blocking open of a FIFO would wait forever.
    it(
      'a reader that opens only after the feed is over still gets the text and its end',
      { timeout: 20_000 },
      async () => {
        // Less than the pipe holds (64 KiB), so the thread can finish before anyone reads.
        const small = text.slice(0, text.indexOf('\n', 20_000) + 1);
        const good = await feed('fed-late.gz', gzipSync(small));
        await good.result;
        await sleep(30);
        assert.equal((await readAll(good.path)).toString(), small);
        await good.stop();

        const cut = gzipSync(small);
        const bad = await feed('fed-late-cut.gz', cut.subarray(0, cut.length - 8));
        await assert.rejects(bad.result, /unexpected end of file/);
        await sleep(30);
        const got = (await readAll(bad.path)).toString();
        assert.ok(got.length > 0 && small.startsWith(got));
        await bad.stop();

        const none = await feed('fed-late-plain.gz', Buffer.from(small));
        await assert.rejects(none.result, /incorrect header check/);
        await sleep(30);
        assert.equal((await readAll(none.path)).length, 0);
        await none.stop();
      },
    );

    it("a cut stream: the reader gets what was there and its end, the verdict is zlib's", async () => {
      const full = gzipSync(big);
      const f = await feed('fed-cut.gz', full.subarray(0, full.length - 8));
      const got = (await readAll(f.path)).toString();
      assert.ok(got.length > 0 && big.startsWith(got), 'a prefix of the text');
      await assert.rejects(f.result, (e: Error & { code?: string }) => {
        assert.ok(!(e instanceof GzipFeedBroken));
        assert.equal(e.code, 'Z_BUF_ERROR');
        return true;
      });
      await f.stop();
    });

    it('a reader that stops early: stop() ends the thread, and the verdict says the stream was not checked', async () => {
      const f = await feed('fed-early.gz', gzipSync(big));
      const stream = createReadStream(f.path);
      const first = await new Promise<Buffer>((resolve) => stream.once('data', (b) => resolve(b as Buffer)));
      assert.ok(first.length > 0);
      stream.destroy();
      await f.stop();
      await assert.rejects(f.result, (e: Error) => e instanceof GzipFeedBroken && /EPIPE/.test(e.message));
      assert.deepEqual(await leftovers(), []);
    });

    it('no reader at all: stop() ends the thread too', async () => {
      const f = await feed('fed-none.gz', gzipSync(big));
      await f.stop();
      await assert.rejects(f.result, GzipFeedBroken);
      assert.deepEqual(await leftovers(), []);
    });

    it("what is not gzip fails at once, with zlib's verdict", async () => {
      const f = await feed('fed-plain.gz', Buffer.from(text));
      assert.equal((await readAll(f.path)).length, 0);
      await assert.rejects(f.result, /incorrect header check/);
      await f.stop();
    });
  });
});
