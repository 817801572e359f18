/**
 * `s3c deploy --check` changes nothing on disk (issue #19, item 13): run in a
 * fresh project folder, the folder is byte-identical afterwards (names,
 * contents and modes), whatever the check decides. Before the fix, checking a
 * connection with a role created `.s3c/workspace-secret` (the external id's
 * key) on the way to AssumeRole.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { tree, closedPort } from '../helpers/snapshot';

const S3C = join(import.meta.dirname, '..', '..', 'bin', 's3c.js');
const folders: string[] = [];
after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('deploy --check', () => {
  it('leaves a fresh project folder byte-identical, also with a role connection (no workspace secret is created)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's3c-check-'));
    folders.push(dir);
    const port = await closedPort();
    // Static keys as base credentials that assume the role: no lookup of this machine's AWS credentials.
    writeFileSync(
      join(dir, 's3local.connection'),
      `TYPE s3\nS3_REGION "us-east-1"\nS3_ENDPOINT "http://127.0.0.1:${port}"\nS3_ACCESS_KEY "check-key"\nS3_SECRET "check-secret"\nS3_ARN "arn:aws:iam::123456789012:role/reader"\n`,
    );
    writeFileSync(
      join(dir, 'events.datasource'),
      'SCHEMA >\n    `id` Int64 `json:$.id`\n\nIMPORT_CONNECTION_NAME s3local\nIMPORT_BUCKET_URI s3://bucket-1/*.csv\nIMPORT_SCHEDULE @on-demand\n',
    );
    const before = tree(dir);
    const env = { ...process.env, S3C_WORKSPACE_SECRET: '', AWS_MAX_ATTEMPTS: '1', NO_COLOR: '1' };
    const run = await promisify(execFile)(process.execPath, [S3C, 'deploy', '--check'], {
      cwd: dir,
      env,
      timeout: 60_000,
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    // It got as far as assuming the role (the step that created the secret), and refused: the store is not there.
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /s3local\.connection:\d+: .*connection s3local/);
    assert.deepEqual(tree(dir), before);
  });
});
