/**
 * `s3c deploy --check` changes nothing on disk (issue #19, item 13): run in a
 * fresh project folder, the folder is byte-identical afterwards (names,
 * contents and modes), whatever the check decides. Before the fix, checking a
 * connection with a role created `.s3c/workspace-secret` (the external id's
 * key) on the way to AssumeRole.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';

const S3C = join(import.meta.dirname, '..', '..', 'bin', 's3c.js');
const folders: string[] = [];
after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** Every entry under `dir` (dot folders included) with its mode and the sha256 of its content. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = join(rel, name);
      const st = statSync(join(dir, path));
      const hash = st.isFile() ? createHash('sha256').update(readFileSync(join(dir, path))).digest('hex') : 'dir';
      out.push(`${path} ${(st.mode & 0o7777).toString(8)} ${hash}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}

/** A loopback port nothing listens on (bound, then closed): S3 and STS calls to it fail at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

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
    const run = await promisify(execFile)(process.execPath, [S3C, 'deploy', '--check'], { cwd: dir, env, timeout: 60_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    // It got as far as assuming the role (the step that created the secret), and refused: the store is not there.
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /s3local\.connection:\d+: .*connection s3local/);
    assert.deepEqual(tree(dir), before);
  });
});
