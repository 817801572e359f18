/**
 * External ids do not change under the user (issue #19, item 4), on a real
 * stack: a role connection assumed through MinIO's STS is deployed and loads;
 * the same project without its `.s3c/workspace-secret` (a fresh checkout, or
 * another machine) is refused by `s3c deploy` with the remedy, and nothing is
 * written; with the secret back, deploy has nothing to change. MinIO ignores
 * external ids, so without the check this deploy would pass here and every
 * AssumeRole would fail on AWS.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultSecretsFile, SecretStore } from '../../src/datafiles';
import { deploymentPath } from '../../src/util/stateLayout';
import { idNameDataSource, startTestStack, type TestStack } from '../helpers/stack';
import { tree } from '../helpers/snapshot';

describe('external ids on a real stack', () => {
  let t: TestStack;
  const secretFile = () => join(t.projectDir, '.s3c', 'workspace-secret');

  before(async () => {
    t = await startTestStack();
    new SecretStore(defaultSecretsFile(t.projectDir)).set('TEST_ROLE_ARN', 'arn:aws:iam::123456789012:role/s3c-ingest');
    await t.createBucket('landing');
    await t.put('landing', 'roles/a.csv', 'id,name\n1,a\n');
    t.write(
      'role.connection',
      'TYPE s3\nS3_REGION "us-east-1"\nS3_ENDPOINT {{ tb_secret("TEST_S3_ENDPOINT") }}\nS3_ARN {{ tb_secret("TEST_ROLE_ARN") }}\n' +
        'S3_ACCESS_KEY {{ tb_secret("TEST_S3_ACCESS_KEY") }}\nS3_SECRET {{ tb_secret("TEST_S3_SECRET") }}\n',
    );
    t.write(
      'roles.datasource',
      idNameDataSource('s3://landing/roles/*.csv', { schedule: '@once', connection: 'role' }),
    );
  });

  after(async () => {
    await t?.stop();
  });

  it('deploys the role connection, records its id as a fingerprint, and loads through AssumeRole', async () => {
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const deployed = JSON.parse(readFileSync(deploymentPath(t.projectDir), 'utf8'));
    assert.match(deployed.connections.role.externalIdFingerprint, /^sha256:[0-9a-f]{16}$/);
    const state = await t.waitForState('roles', (s) => s.initialSyncDone && s.status === 'resting');
    assert.deepEqual([state.counters.filesLoaded, state.counters.rows], [1, 1]);
  });

  it('refuses deploy on a checkout without the workspace secret, with the remedy, writing nothing', async () => {
    renameSync(secretFile(), `${secretFile()}.away`);
    const before = tree(t.projectDir);
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 1, out.stdout + out.stderr);
    assert.match(
      out.stderr,
      /role\.connection:4: connection role would assume its role with another external id than the one it was deployed with/,
    );
    assert.match(out.stderr, /copy \.s3c\/workspace-secret from where it was deployed/);
    assert.match(out.stderr, /s3c deploy --new-external-ids/);
    assert.deepEqual(tree(t.projectDir), before);
    assert.ok(!existsSync(secretFile()));
  });

  it('deploys again once the secret is back: nothing to change', async () => {
    renameSync(`${secretFile()}.away`, secretFile());
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /^= connection role: unchanged/m);
  });
});
