/**
 * External ids stay what the roles' trust policies name (issue #19, item 4).
 * They derive from the workspace secret; a checkout or machine with another
 * secret would assume every role with a new id, and AWS would refuse them all.
 * Deploy records a fingerprint of each role connection's id (never the secret,
 * nor the id itself) and refuses, with the remedy, an id that differs; the
 * refusal writes nothing, not even a new workspace secret.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { S3ClientCache } from '../../src/aws/credentials';
import { deriveExternalId } from '../../src/aws/externalId';
import { planDeploy, type DeployPlan } from '../../src/deploy/plan';
import { externalIdRemedy } from '../../src/deploy/rules';
import { loadTemporalConfig, loadWorkspaceConfig } from '../../src/config';
import { writeDeployment } from '../../src/deploy/store';
import { deploymentPath } from '../../src/util/stateLayout';
import { connectionResolver } from '../../src/worker';
import { tree, closedPort } from '../helpers/snapshot';

const S3C = join(import.meta.dirname, '..', '..', 'bin', 's3c.js');
const SECRET_A = 'a'.repeat(64);
const SECRET_B = 'b'.repeat(64);
const folders: string[] = [];
after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** A project with a role connection (line 3: S3_ARN) and a data source on it; `endpoint` makes it S3-compatible. */
function project(endpoint?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 's3c-extid-'));
  folders.push(dir);
  writeFileSync(
    join(dir, 'aws.connection'),
    `TYPE s3\nS3_REGION "us-east-1"\nS3_ARN "arn:aws:iam::111111111111:role/s3c-read"\n` +
      (endpoint ? `S3_ENDPOINT "${endpoint}"\nS3_ACCESS_KEY "check-key"\nS3_SECRET "check-secret"\n` : ''),
  );
  writeFileSync(
    join(dir, 'events.datasource'),
    'SCHEMA >\n    `id` Int64 `json:$.id`\n\nIMPORT_CONNECTION_NAME aws\nIMPORT_BUCKET_URI s3://bucket-1/*.csv\nIMPORT_SCHEDULE @on-demand\n',
  );
  return dir;
}

function plan(
  dir: string,
  secret: string,
  options: { workspace?: string; accept?: boolean } = {},
): Promise<DeployPlan> {
  const workspace = { ...loadWorkspaceConfig(dir, {}), ...(options.workspace ? { workspace: options.workspace } : {}) };
  return planDeploy({
    projectDir: dir,
    workspace,
    temporal: loadTemporalConfig(dir, {}),
    lookup: () => undefined,
    s3: new S3ClientCache({ externalId: () => 'unused' }),
    skipAccessChecks: true,
    externalId: (name) => deriveExternalId(secret, workspace.workspace, name),
    acceptNewExternalIds: options.accept === true,
  });
}

/** Plans with `secret` and writes the plan's snapshot as deployed. */
async function deploy(dir: string, secret: string): Promise<void> {
  const p = await plan(dir, secret);
  assert.deepEqual(p.errors, []);
  writeDeployment(dir, p.next!);
}

const refusal = (dir: string, workspace = 'local'): string =>
  `${join(dir, 'aws.connection')}:3: connection aws would assume its role with another external id than the one it was deployed with, ` +
  "and the role's trust policy names that one: the workspace secret (.s3c/workspace-secret or S3C_WORKSPACE_SECRET) " +
  `or the workspace name (${workspace}) differs from the deploy's. ${externalIdRemedy('.s3c/workspace-secret')}`;

describe('external ids at deploy', () => {
  it('records a fingerprint of the id in the deployment state, never the secret nor the id', async () => {
    const dir = project();
    await deploy(dir, SECRET_A);
    const text = readFileSync(deploymentPath(dir), 'utf8');
    const id = deriveExternalId(SECRET_A, 'local', 'aws');
    assert.match(JSON.parse(text).connections.aws.externalIdFingerprint, /^sha256:[0-9a-f]{16}$/);
    assert.ok(!text.includes(SECRET_A), 'the workspace secret is in the snapshot');
    assert.ok(!text.includes(id), 'the external id is in the snapshot');
  });

  it('refuses an id derived from another workspace secret, with the remedy; the same secret passes', async () => {
    const dir = project();
    await deploy(dir, SECRET_A);
    assert.deepEqual((await plan(dir, SECRET_B)).errors, [refusal(dir)]);
    assert.equal((await plan(dir, SECRET_B)).next, undefined);
    assert.deepEqual((await plan(dir, SECRET_A)).errors, []);
  });

  it('refuses an id changed by another workspace name', async () => {
    const dir = project();
    await deploy(dir, SECRET_A);
    assert.deepEqual((await plan(dir, SECRET_A, { workspace: 'team' })).errors, [refusal(dir, 'team')]);
  });

  it('accepts the new id with --new-external-ids and records it', async () => {
    const dir = project();
    await deploy(dir, SECRET_A);
    const accepted = await plan(dir, SECRET_B, { accept: true });
    assert.deepEqual(accepted.errors, []);
    assert.equal(accepted.changes.find((c) => c.kind === 'connection')?.action, 'update');
    writeDeployment(dir, accepted.next!);
    assert.deepEqual((await plan(dir, SECRET_B)).errors, []);
    assert.deepEqual((await plan(dir, SECRET_A)).errors, [refusal(dir)]);
  });

  it('a worker with another workspace secret refuses the connection with the reason, before AWS refuses it without one', async () => {
    const dir = project();
    await deploy(dir, SECRET_A);
    const resolve = (secret: string) =>
      connectionResolver(dir, 'local', undefined, (name) => deriveExternalId(secret, 'local', name));
    assert.equal(resolve(SECRET_A)('aws').roleArn, 'arn:aws:iam::111111111111:role/s3c-read');
    assert.throws(
      () => resolve(SECRET_B)('aws'),
      (err: Error) => {
        assert.equal(
          err.message,
          "connection aws: this worker's workspace secret gives another external id than the one the connection was deployed with; " +
            'run the worker with the workspace secret of the deploy (.s3c/workspace-secret or S3C_WORKSPACE_SECRET)',
        );
        return true;
      },
    );
  });

  it('records nothing for static keys, which use no external id', async () => {
    const dir = project();
    writeFileSync(join(dir, 'aws.connection'), 'TYPE s3\nS3_REGION "us-east-1"\nS3_ACCESS_KEY "k"\nS3_SECRET "s"\n');
    await deploy(dir, SECRET_A);
    assert.equal(
      JSON.parse(readFileSync(deploymentPath(dir), 'utf8')).connections.aws.externalIdFingerprint,
      undefined,
    );
    assert.deepEqual((await plan(dir, SECRET_B)).errors, []);
  });
});

function s3c(
  dir: string,
  args: string[],
  workspaceSecret = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    S3C_WORKSPACE_SECRET: workspaceSecret,
    AWS_MAX_ATTEMPTS: '1',
    NO_COLOR: '1',
    TEMPORAL_ADDRESS: '127.0.0.1:1',
  };
  return promisify(execFile)(process.execPath, [S3C, ...args], { cwd: dir, env, timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe('s3c deploy on a checkout without the workspace secret it was deployed with', () => {
  it('refuses with the remedy, creates no new secret and changes nothing; with the secret restored it gets past the check', async () => {
    const dir = project(`http://127.0.0.1:${await closedPort()}`);
    await deploy(dir, SECRET_A);
    const before = tree(dir);
    for (const args of [['deploy'], ['deploy', '--check']]) {
      const run = await s3c(dir, args);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.ok(run.stderr.includes(`✗ ${refusal(dir)}`), run.stderr);
      assert.ok(
        !run.stdout.includes(deriveExternalId(SECRET_A, 'local', 'aws')) &&
          !run.stderr.includes(deriveExternalId(SECRET_A, 'local', 'aws')),
      );
      assert.deepEqual(tree(dir), before, `${args.join(' ')} changed the project folder`);
    }
    assert.ok(!existsSync(join(dir, '.s3c', 'workspace-secret')));

    // Another machine's secret in the environment is refused the same way.
    const other = await s3c(dir, ['deploy'], SECRET_B);
    assert.ok(other.stderr.includes(`✗ ${refusal(dir)}`), other.stderr);

    // The remedy: the secret it was deployed with. The id check passes; assuming the role (a closed port) is what fails now.
    mkdirSync(join(dir, '.s3c'), { recursive: true });
    writeFileSync(join(dir, '.s3c', 'workspace-secret'), `${SECRET_A}\n`, { mode: 0o600 });
    const restored = await s3c(dir, ['deploy', '--check']);
    assert.equal(restored.code, 1);
    assert.ok(!restored.stderr.includes('another external id'), restored.stderr);
    assert.match(
      restored.stderr,
      /aws\.connection:3: connection aws cannot access bucket bucket-1 .*cannot assume role/,
    );
  });
});
