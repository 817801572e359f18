/**
 * Workspace settings from s3c.yaml and the environment: DuckDB's memory
 * limit, which bounds the worker's memory over a long run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadWorkspaceConfig } from '../../src/config';

describe('workspace config: duckdbMemoryLimit', () => {
  const dir = mkdtempSync(join(tmpdir(), 's3c-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to 512MB, is set in s3c.yaml, and S3C_DUCKDB_MEMORY_LIMIT overrides it', () => {
    assert.equal(loadWorkspaceConfig(dir, {}).duckdbMemoryLimit, '512MB');
    writeFileSync(join(dir, 's3c.yaml'), 'duckdbMemoryLimit: 4GiB\n');
    assert.equal(loadWorkspaceConfig(dir, {}).duckdbMemoryLimit, '4GiB');
    assert.equal(loadWorkspaceConfig(dir, { S3C_DUCKDB_MEMORY_LIMIT: '1.5GB' }).duckdbMemoryLimit, '1.5GB');
    rmSync(join(dir, 's3c.yaml'));
  });

  it('refuses what is not a size, naming where it came from', () => {
    writeFileSync(join(dir, 's3c.yaml'), "duckdbMemoryLimit: '80%'\n");
    assert.throws(() => loadWorkspaceConfig(dir, {}), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /s3c\.yaml: duckdbMemoryLimit: a size such as 512MB or 2GiB/);
      return true;
    });
    rmSync(join(dir, 's3c.yaml'));
    assert.throws(() => loadWorkspaceConfig(dir, { S3C_DUCKDB_MEMORY_LIMIT: "1GB'; DROP" }), /S3C_DUCKDB_MEMORY_LIMIT: .*a size such as 512MB or 2GiB/);
  });
});
