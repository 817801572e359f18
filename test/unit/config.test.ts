/**
 * Workspace settings from s3c.yaml and the environment: DuckDB's memory
 * limit, which bounds the worker's memory over a long run; and named
 * environments (issue #19, item 10), which read their own files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadTemporalConfig, loadWorkspaceConfig } from '../../src/config';
import { defaultSecretsFile } from '../../src/datafiles';
import { apiTokenPath, deploymentPath, workspaceSecretPath } from '../../src/util/stateLayout';
import { selectedEnvironment } from '../../src/environment';

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
    assert.throws(
      () => loadWorkspaceConfig(dir, {}),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /s3c\.yaml: duckdbMemoryLimit: a size such as 512MB or 2GiB/);
        return true;
      },
    );
    rmSync(join(dir, 's3c.yaml'));
    assert.throws(
      () => loadWorkspaceConfig(dir, { S3C_DUCKDB_MEMORY_LIMIT: "1GB'; DROP" }),
      /S3C_DUCKDB_MEMORY_LIMIT: .*a size such as 512MB or 2GiB/,
    );
  });
});

describe('workspace config: destination', () => {
  const dir = mkdtempSync(join(tmpdir(), 's3c-config-lake-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const lake =
    'lake:\n  catalog: LAKE_URL\n  dataPath: s3://lake/data/\n  s3:\n    endpoint: http://127.0.0.1:9000\n    accessKeyId: LAKE_KEY\n    secretAccessKey: LAKE_SECRET\n';

  it('defaults to the DuckDB file; ducklake takes the lake from s3c.yaml, with S3C_DESTINATION and S3C_LAKE_* overrides', () => {
    writeFileSync(join(dir, 's3c.yaml'), 'workspace: w\n');
    assert.equal(loadWorkspaceConfig(dir, {}).destination, 'duckdb');
    writeFileSync(join(dir, 's3c.yaml'), `destination: ducklake\n${lake}`);
    const config = loadWorkspaceConfig(dir, {});
    assert.equal(config.destination, 'ducklake');
    assert.deepEqual(config.lake, {
      catalog: 'LAKE_URL',
      dataPath: 's3://lake/data/',
      s3: {
        endpoint: 'http://127.0.0.1:9000',
        region: 'us-east-1',
        accessKeyId: 'LAKE_KEY',
        secretAccessKey: 'LAKE_SECRET',
      },
    });
    const over = loadWorkspaceConfig(dir, {
      S3C_LAKE_CATALOG: 'OTHER_URL',
      S3C_LAKE_DATA_PATH: 's3://b/p/',
      S3C_LAKE_S3_ENDPOINT: 'http://10.0.0.1:9000',
    });
    assert.deepEqual(
      [over.lake?.catalog, over.lake?.dataPath, over.lake?.s3.endpoint],
      ['OTHER_URL', 's3://b/p/', 'http://10.0.0.1:9000'],
    );
    assert.equal(loadWorkspaceConfig(dir, { S3C_DESTINATION: 'duckdb' }).destination, 'duckdb');
  });

  it('refuses ducklake without a lake, a data path that is not an S3 folder, and an unknown destination', () => {
    writeFileSync(join(dir, 's3c.yaml'), 'destination: ducklake\n');
    assert.throws(
      () => loadWorkspaceConfig(dir, {}),
      (e: Error) => e instanceof ConfigError && /destination ducklake needs lake/.test(e.message),
    );
    writeFileSync(join(dir, 's3c.yaml'), `destination: ducklake\n${lake.replace('s3://lake/data/', 's3://lake/data')}`);
    assert.throws(() => loadWorkspaceConfig(dir, {}), /lake.dataPath: an S3 folder such as s3:\/\/bucket\/prefix\//);
    writeFileSync(join(dir, 's3c.yaml'), 'workspace: w\n');
    assert.throws(() => loadWorkspaceConfig(dir, { S3C_DESTINATION: 'clickhouse' }), /S3C_DESTINATION/);
  });
});

describe('environments: --env NAME selects its files and state', () => {
  const dir = mkdtempSync(join(tmpdir(), 's3c-env-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads temporal.NAME.yaml and s3c.NAME.yaml for NAME, and the plain files without a name', () => {
    writeFileSync(join(dir, 'temporal.yaml'), 'temporal:\n  address: 127.0.0.1:7233\n');
    writeFileSync(join(dir, 's3c.yaml'), 'workspace: dev\n');
    writeFileSync(
      join(dir, 'temporal.cloud.yaml'),
      'temporal:\n  address: acme.tmprl.cloud:7233\n  namespace: acme.s3c\n',
    );
    writeFileSync(join(dir, 's3c.cloud.yaml'), 'workspace: prod\nfilesPerMinute: 0\n');
    assert.equal(loadTemporalConfig(dir, {}).temporal.address, '127.0.0.1:7233');
    assert.equal(loadTemporalConfig(dir, {}, 'cloud').temporal.namespace, 'acme.s3c');
    const dev = loadWorkspaceConfig(dir, {});
    const cloud = loadWorkspaceConfig(dir, {}, 'cloud');
    assert.deepEqual([dev.workspace, dev.filesPerMinute, dev.environment], ['dev', 5, undefined]);
    assert.deepEqual([cloud.workspace, cloud.filesPerMinute, cloud.environment], ['prod', 0, 'cloud']);
    // Environment variables still override either file.
    assert.equal(loadTemporalConfig(dir, { TEMPORAL_NAMESPACE: 'other' }, 'cloud').temporal.namespace, 'other');
  });

  it("keeps each environment's state apart; the default one where it always was", () => {
    const s3c = join(dir, '.s3c');
    assert.equal(deploymentPath(dir), join(s3c, 'deployment.json'));
    assert.equal(defaultSecretsFile(dir), join(s3c, 'secrets.json'));
    assert.equal(workspaceSecretPath(dir), join(s3c, 'workspace-secret'));
    assert.equal(apiTokenPath(dir), join(s3c, 'api-token'));
    assert.equal(loadWorkspaceConfig(dir, {}).duckdbPath, join(s3c, 'warehouse.duckdb'));
    const cloud = join(s3c, 'env', 'cloud');
    assert.equal(deploymentPath(dir, 'cloud'), join(cloud, 'deployment.json'));
    assert.equal(defaultSecretsFile(dir, 'cloud'), join(cloud, 'secrets.json'));
    assert.equal(workspaceSecretPath(dir, 'cloud'), join(cloud, 'workspace-secret'));
    assert.equal(apiTokenPath(dir, 'cloud'), join(cloud, 'api-token'));
    assert.equal(loadWorkspaceConfig(dir, {}, 'cloud').duckdbPath, join(cloud, 'warehouse.duckdb'));
    // A DuckDB file the environment names is its own.
    writeFileSync(join(dir, 's3c.cloud.yaml'), 'duckdbPath: /data/cloud.duckdb\n');
    assert.equal(loadWorkspaceConfig(dir, {}, 'cloud').duckdbPath, '/data/cloud.duckdb');
  });

  it('refuses an environment without its temporal.NAME.yaml: a misspelt --env never reaches the default server', () => {
    assert.throws(
      () => loadTemporalConfig(dir, {}, 'clodu'),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(
          err.message,
          `environment clodu: ${join(dir, 'temporal.clodu.yaml')} does not exist. Create it with the environment's temporal.address and temporal.namespace (docs/environments.md), or check the --env name`,
        );
        return true;
      },
    );
  });

  it('takes --env, else S3C_ENV, and refuses names that are not plain file name parts', () => {
    assert.equal(selectedEnvironment(undefined, {}), undefined);
    assert.equal(selectedEnvironment(undefined, { S3C_ENV: '' }), undefined);
    assert.equal(selectedEnvironment(undefined, { S3C_ENV: 'staging' }), 'staging');
    assert.equal(selectedEnvironment('cloud', { S3C_ENV: 'staging' }), 'cloud');
    for (const bad of ['../x', 'a/b', '.hidden', 'Cloud', '', 'x'.repeat(41)]) {
      assert.throws(() => selectedEnvironment(bad, {}), /--env: found .*expected an environment name/, bad);
    }
    assert.throws(() => selectedEnvironment(undefined, { S3C_ENV: '..' }), /S3C_ENV: found '\.\.'/);
  });
});

describe('temporal.yaml at the repository root: every setting with its default', () => {
  const root = join(import.meta.dirname, '..', '..');
  const empty = mkdtempSync(join(tmpdir(), 's3c-config-empty-'));
  after(() => rmSync(empty, { recursive: true, force: true }));

  it('reads to exactly the defaults, so the commented file changes nothing', () => {
    assert.deepEqual(loadTemporalConfig(root, {}), loadTemporalConfig(empty, {}));
  });

  it('names every setting, the optional ones in comments', () => {
    const text = readFileSync(join(root, 'temporal.yaml'), 'utf8');
    const keys = (value: object): string[] =>
      Object.entries(value).flatMap(([k, v]) => [k, ...(v && typeof v === 'object' ? keys(v) : [])]);
    const tlsKeys = ['serverName', 'serverRootCACertFile', 'clientCertFile', 'clientKeyFile'];
    for (const key of [...keys(loadTemporalConfig(empty, {})), 'apiKey', ...tlsKeys]) {
      assert.match(text, new RegExp(`^\\s*#?\\s*${key}:`, 'm'), `temporal.yaml lacks ${key}`);
    }
  });
});
