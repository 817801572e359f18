/**
 * The DuckLake destination's DuckDB extensions (src/util/duckdbExtensions.ts):
 * the pinned DuckDB is the one the extension files are built for, and a
 * missing file is an error that names the setup command, never a download.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { repoRoot } from '../../src/local/tools';

// The module reads its folder when it is loaded: point it at an empty one first.
const emptyDir = mkdtempSync(join(tmpdir(), 's3c-extensions-'));
process.env.S3C_DUCKDB_EXTENSIONS_DIR = emptyDir;
const extensions = await import('../../src/util/duckdbExtensions');

describe('DuckDB extensions', () => {
  after(() => rmSync(emptyDir, { recursive: true, force: true }));

  it('@duckdb/node-api is pinned, in package.json and the lock file, to a release of the extensions DuckDB version', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const pinned = pkg.dependencies['@duckdb/node-api'] ?? '';
    assert.match(
      pinned,
      new RegExp(`^${extensions.DUCKDB_EXTENSION_VERSION.replace(/\./g, '\\.')}-r\\.\\d+$`),
      'an exact version, no range',
    );
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string }>;
    };
    assert.equal(lock.packages['node_modules/@duckdb/node-api']?.version, pinned);
    assert.equal(lock.packages['node_modules/@duckdb/node-bindings']?.version, pinned);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    assert.equal(
      (await connection.runAndReadAll('SELECT version()')).getRowsJson()[0]?.[0],
      `v${extensions.DUCKDB_EXTENSION_VERSION}`,
    );
    connection.closeSync();
    instance.closeSync();
  });

  it('the postgres extension is loaded under the name postgres_scanner, as ducklake:postgres: asks for it', () => {
    assert.deepEqual(
      extensions.DUCKDB_EXTENSIONS.map((e) => [e.pypiPackage, e.wheelName, e.name]),
      [
        ['duckdb-extension-httpfs', 'httpfs', 'httpfs'],
        ['duckdb-extension-postgres', 'postgres', 'postgres_scanner'],
        ['duckdb-extension-ducklake', 'ducklake', 'ducklake'],
      ],
    );
  });

  it('missing files, or files of another version, are an error naming `npm run setup`', () => {
    assert.throws(
      () => extensions.duckdbExtensionPaths(),
      (err: Error) => {
        assert.ok(err instanceof extensions.DuckdbExtensionsMissingError);
        assert.equal(err.name, 'DuckdbExtensionsMissingError');
        assert.equal(err.terminal, false, 'another worker, or this one after setup, can load them');
        assert.match(err.message, /missing: httpfs, postgres_scanner, ducklake\): run `npm run setup` first$/);
        return true;
      },
    );
    for (const e of extensions.DUCKDB_EXTENSIONS) writeFileSync(join(emptyDir, `${e.name}.duckdb_extension`), '');
    assert.throws(() => extensions.duckdbExtensionPaths(), /\(not stamped 1\.5\.5\): run `npm run setup` first$/);
    writeFileSync(join(emptyDir, '.version'), '1.5.4\n');
    assert.equal(extensions.extensionsInstalled(), false);
    writeFileSync(join(emptyDir, '.version'), `${extensions.DUCKDB_EXTENSION_VERSION}\n`);
    assert.deepEqual(
      extensions.duckdbExtensionPaths(),
      ['httpfs', 'postgres_scanner', 'ducklake'].map((name) => join(emptyDir, `${name}.duckdb_extension`)),
    );
  });
});
