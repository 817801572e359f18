/**
 * The API token (R6.3): from S3C_API_TOKEN or a 0600 file created once with
 * a random token; constant-time comparison.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadApiToken, tokenMatches } from '../../src/api/token';
import { apiTokenPath } from '../../src/util/stateLayout';

describe('API token', () => {
  it('creates a random token file with mode 0600 once, then reads it', () => {
    const dir = mkdtempSync(join(tmpdir(), 's3c-token-'));
    try {
      const first = loadApiToken(dir, {});
      assert.equal(first.created, true);
      assert.equal(first.source, apiTokenPath(dir));
      assert.match(first.token, /^[0-9a-f]{64}$/);
      assert.equal(statSync(apiTokenPath(dir)).mode & 0o777, 0o600);
      const second = loadApiToken(dir, {});
      assert.deepEqual(second, { ...first, created: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prefers S3C_API_TOKEN, and refuses an empty file', () => {
    const dir = mkdtempSync(join(tmpdir(), 's3c-token-'));
    try {
      const fromEnv = loadApiToken(dir, { S3C_API_TOKEN: ' abc ' });
      assert.deepEqual(fromEnv, { token: 'abc', source: 'environment variable S3C_API_TOKEN', created: false });
      loadApiToken(dir, {});
      writeFileSync(apiTokenPath(dir), '\n');
      assert.throws(() => loadApiToken(dir, {}), /is empty/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compares tokens exactly', () => {
    assert.equal(tokenMatches('abc', 'abc'), true);
    assert.equal(tokenMatches('abd', 'abc'), false);
    assert.equal(tokenMatches('abcd', 'abc'), false);
    assert.equal(tokenMatches(undefined, 'abc'), false);
    assert.equal(tokenMatches('', ''), false);
  });
});
