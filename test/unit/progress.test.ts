/**
 * The progress line of `datasource sync` and `datasource sample --wait`
 * (issue #19, item 12): rewritten in place on a terminal, a plain line per
 * change otherwise. The real stack test (syncSemantics) covers the plain form.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressLine, progressText } from '../../src/cli/progress';

const STATS = {
  found_files: 5,
  files_done: 2,
  files_failed: 1,
  files_skipped: 0,
  row_count: 40,
  quarantined_rows: 3,
  bytes: 0,
};

function written(isTTY: boolean, texts: string[]): string {
  let out = '';
  const line = new ProgressLine({ isTTY, write: (t: string) => (out += t) });
  for (const text of texts) line.update(text);
  line.end();
  return out;
}

describe('progress line', () => {
  it('names files found, done, failed and rows', () => {
    assert.equal(progressText(STATS), 'progress: 5 files found, 2 done, 1 failed; 40 rows loaded, 3 quarantined');
  });

  it('on a terminal: one line rewritten in place, ended once', () => {
    assert.equal(written(true, ['a', 'a', 'b']), '\r\x1b[2Ka\r\x1b[2Kb\n');
  });

  it('elsewhere: a plain line per change, no control characters', () => {
    assert.equal(written(false, ['a', 'a', 'b']), 'a\nb\n');
  });

  it('writes nothing when there was no progress to show', () => {
    assert.equal(written(true, []), '');
  });
});
