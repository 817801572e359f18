/**
 * One set of datafiles, two environments (issue #19, item 10), as the
 * reference deploys to Local and Cloud. On a real stack: two Temporal dev
 * servers (the default environment's, and `cloud`'s with its own namespace),
 * each with its worker and DuckDB file, one MinIO. The data source's bucket is
 * a secret that differs per environment (`s3c secret set` and `s3c --env
 * cloud secret set`); `s3c deploy` and `s3c deploy --env cloud` deploy the
 * same files, unedited, and each environment loads its own bucket into its own
 * table. A misspelt environment is refused before anything is written.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { waitForState } from '../../src/client/dataSources';
import { loadTemporalConfig, loadWorkspaceConfig } from '../../src/config';
import { defaultSecretsFile, SecretStore } from '../../src/datafiles';
import { deploymentPath } from '../../src/util/stateLayout';
import { startMinio, type MinioServer } from '../../src/local/processes';
import { minioS3Client, startLocalStack, type LocalStack } from '../../src/local/stack';
import { repoRoot } from '../../src/local/tools';
import { idNameDataSource, minioConnection, storeMinioSecrets, workflowBundle } from '../helpers/stack';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('environments: one set of datafiles deployed to two Temporal servers with different secrets', () => {
  let root: string;
  let projectDir: string;
  let minio: MinioServer | undefined;
  let s3: S3Client | undefined;
  const stacks: LocalStack[] = [];
  let local: LocalStack;
  let cloud: LocalStack;
  const outputs: string[] = [];

  /** Runs the CLI in the project folder; the Temporal servers come from temporal.yaml and temporal.cloud.yaml only. */
  const cli = (args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      const env: NodeJS.ProcessEnv = { ...process.env, S3C_WORKSPACE_SECRET: '' };
      for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'S3C_ENV', 'S3C_WORKSPACE', 'S3C_DUCKDB_PATH'])
        delete env[name];
      execFile(
        process.execPath,
        [join(repoRoot, 'bin', 's3c.js'), ...args],
        { cwd: projectDir, env, timeout: 120_000 },
        (err, stdout, stderr) => {
          outputs.push(stdout, stderr);
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
        },
      );
    });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 's3c-envs-'));
    projectDir = join(root, 'project');
    mkdirSync(projectDir);
    minio = await startMinio({ dataDir: join(root, 'minio'), stateDir: root });
    s3 = minioS3Client(minio);
    const put = (bucket: string, key: string, body: string) =>
      s3!.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    for (const bucket of ['local-landing', 'cloud-landing']) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await put('local-landing', 'events/a.csv', 'id,name\n1,local-a\n2,local-b\n');
    await put('cloud-landing', 'events/a.csv', 'id,name\n10,cloud-a\n');
    await put('cloud-landing', 'events/b.csv', 'id,name\n11,cloud-b\n12,cloud-c\n');

    // The datafiles, written once: the bucket is a secret of each environment.
    writeFileSync(join(projectDir, 'minio.connection'), minioConnection());
    writeFileSync(
      join(projectDir, 'events.datasource'),
      idNameDataSource('s3://{{ tb_secret("BUCKET") }}/events/*.csv', { schedule: '@once' }),
    );
    // The cloud environment: its own namespace and workspace name.
    const cloudTemporal = (address: string): string => `temporal:\n  address: ${address}\n  namespace: s3c-cloud\n`;
    writeFileSync(join(projectDir, 'temporal.cloud.yaml'), cloudTemporal('127.0.0.1:7233'));
    writeFileSync(join(projectDir, 's3c.cloud.yaml'), 'workspace: prod\n');

    const bundle = await workflowBundle();
    // One after the other: the machine's cores are shared.
    local = await startLocalStack({
      projectDir,
      stateDir: join(root, 'temporal-local'),
      temporal: loadTemporalConfig(projectDir, {}),
      workspace: loadWorkspaceConfig(projectDir, {}),
      workflowBundle: bundle,
    });
    stacks.push(local);
    cloud = await startLocalStack({
      projectDir,
      stateDir: join(root, 'temporal-cloud'),
      temporal: loadTemporalConfig(projectDir, {}, 'cloud'),
      workspace: loadWorkspaceConfig(projectDir, {}, 'cloud'),
      workflowBundle: bundle,
    });
    stacks.push(cloud);
    writeFileSync(join(projectDir, 'temporal.yaml'), `temporal:\n  address: ${local.temporal.temporal.address}\n`);
    writeFileSync(join(projectDir, 'temporal.cloud.yaml'), cloudTemporal(cloud.temporal.temporal.address));

    // The store's keys for both; the bucket through the CLI, per environment.
    storeMinioSecrets(projectDir, minio);
    const cloudStore = new SecretStore(defaultSecretsFile(projectDir, 'cloud'));
    cloudStore.set('TEST_S3_ENDPOINT', minio.endpoint);
    cloudStore.set('TEST_S3_ACCESS_KEY', minio.accessKey);
    cloudStore.set('TEST_S3_SECRET', minio.secretKey);
  });

  after(async () => {
    for (const stack of stacks) await stack.stop();
    s3?.destroy();
    await minio?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('sets a secret per environment', async () => {
    for (const [args, message] of [
      [['secret', 'set', 'BUCKET', 'local-landing'], 'Secret BUCKET set.'],
      [['--env', 'cloud', 'secret', 'set', 'BUCKET', 'cloud-landing'], 'Secret BUCKET set (environment cloud).'],
    ] as const) {
      const run = await cli([...args]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), message);
    }
    assert.equal(new SecretStore(defaultSecretsFile(projectDir)).get('BUCKET'), 'local-landing');
    assert.equal(new SecretStore(defaultSecretsFile(projectDir, 'cloud')).get('BUCKET'), 'cloud-landing');
  });

  it('deploys the same files to both environments, each to its own server, namespace and workspace', async () => {
    const first = await cli(['deploy']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^started workflow datasource\/local\/events$/m);
    // --env after the command works as well as before it.
    const second = await cli(['deploy', '--env', 'cloud']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^started workflow datasource\/prod\/events$/m);

    assert.equal(JSON.parse(readFileSync(deploymentPath(projectDir), 'utf8')).workspace, 'local');
    assert.equal(JSON.parse(readFileSync(deploymentPath(projectDir, 'cloud'), 'utf8')).workspace, 'prod');
    // Each server runs only its own environment's workflow.
    await assert.rejects(local.client.workflow.getHandle('datasource/prod/events').describe());
    await assert.rejects(cloud.client.workflow.getHandle('datasource/local/events').describe());
    assert.equal(cloud.temporal.temporal.namespace, 's3c-cloud');
  });

  it("loads each environment's bucket into its own DuckDB file", async () => {
    const done = (s: { initialSyncDone: boolean; status: string }) => s.initialSyncDone && s.status === 'resting';
    const [l, c] = await Promise.all([
      waitForState(local.client, 'local', 'events', done, { timeoutMs: 90_000, intervalMs: 300 }),
      waitForState(cloud.client, 'prod', 'events', done, { timeoutMs: 90_000, intervalMs: 300 }),
    ]);
    assert.deepEqual([l.counters.filesLoaded, l.counters.rows], [1, 2]);
    assert.deepEqual([c.counters.filesLoaded, c.counters.rows], [2, 3]);
    const names = async (stack: LocalStack) =>
      (await stack.worker!.sink.query('SELECT name FROM events ORDER BY id')).map((r) => r.name);
    assert.deepEqual(await names(local), ['local-a', 'local-b']);
    assert.deepEqual(await names(cloud), ['cloud-a', 'cloud-b', 'cloud-c']);
    assert.ok(existsSync(join(projectDir, '.s3c', 'warehouse.duckdb')));
    assert.ok(existsSync(join(projectDir, '.s3c', 'env', 'cloud', 'warehouse.duckdb')));
  });

  it('datasource ls shows the environment it is asked for', async () => {
    const ls = await cli(['datasource', 'ls']);
    const lsCloud = await cli(['--env', 'cloud', 'datasource', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(lsCloud.code, 0, lsCloud.stderr);
    assert.match(ls.stdout, /^events\s+@once\s+\S+\s+1\s+0\s+0\s+2\s/m);
    assert.match(lsCloud.stdout, /^events\s+@once\s+\S+\s+2\s+0\s+0\s+3\s/m);
  });

  it('refuses a misspelt environment before writing anything', async () => {
    const run = await cli(['--env', 'clodu', 'deploy']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /environment clodu: .*temporal\.clodu\.yaml does not exist/);
    assert.ok(!existsSync(join(projectDir, '.s3c', 'env', 'clodu')));
  });

  it('no secret value reached the output', () => {
    const text = outputs.join('\n');
    for (const secret of [minio!.secretKey, minio!.accessKey])
      assert.ok(!text.includes(secret), 'a MinIO key is in the CLI output');
  });
});
