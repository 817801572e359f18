import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeEtag, versionKey } from '../../src/contract';

describe('object versions: one ETag rule, one identity', () => {
  it('normalizeEtag removes the quotes around an ETag and nothing inside it', () => {
    const cases: [string, string][] = [
      ['"9b2cf535f27731c974343645a3985328"', '9b2cf535f27731c974343645a3985328'],
      ['"d41d8cd98f00b204e9800998ecf8427e-12"', 'd41d8cd98f00b204e9800998ecf8427e-12'],
      ['9b2cf535f27731c974343645a3985328', '9b2cf535f27731c974343645a3985328'],
      [' "abc" ', 'abc'],
      ['"', '"'],
      ['', ''],
      ['"a"b"', 'a"b'],
    ];
    for (const [etag, expected] of cases) assert.equal(normalizeEtag(etag), expected, JSON.stringify(etag));
  });

  it('normalizeEtag gives a listing and an event notification the same ETag', () => {
    assert.equal(normalizeEtag('"abc"'), normalizeEtag('abc'));
  });

  it('versionKey joins key and ETag (and a scope) with NUL', () => {
    assert.equal(versionKey({ key: 'a.csv', etag: 'e1' }), 'a.csv\u0000e1');
    assert.equal(versionKey({ key: 'a.csv', etag: 'e1' }, 'events'), 'events\u0000a.csv\u0000e1');
  });
});
