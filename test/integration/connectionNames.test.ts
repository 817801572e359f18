/**
 * The reference's own connection names work end to end (issue #19, item 9):
 * it names its connections `my-s3-local` and `my-s3-cloud`. On a real stack
 * (MinIO, Temporal dev server, worker, the s3c CLI): `deploy --check` passes
 * and writes nothing, `deploy` starts the workflow, the file loads, and
 * `connection ls` and the API list the connection.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { minioConnection, startTestStack, type TestStack } from '../helpers/stack';
import { tree } from '../helpers/snapshot';

describe('connection names of the reference (hyphens) on a real stack', () => {
  let t: TestStack;

  before(async () => {
    t = await startTestStack();
    await t.createBucket('landing');
    await t.put('landing', 'events/2024-01.csv', 'id,name\n1,a\n2,b\n');
    t.write('my-s3-local.connection', minioConnection());
    t.write(
      'events.datasource',
      'SCHEMA >\n    `id` Int32 `json:$.id`,\n    `name` String `json:$.name`\n\nIMPORT_CONNECTION_NAME my-s3-local\nIMPORT_BUCKET_URI s3://landing/events/*.csv\nIMPORT_SCHEDULE @once\n',
    );
  });

  after(async () => {
    await t?.stop();
  });

  it('deploy --check accepts my-s3-local, checks its bucket, and changes nothing on disk', async () => {
    const beforeCheck = tree(t.projectDir);
    const check = await t.cli(['deploy', '--check']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /^✓ events: s3:\/\/landing\/events\/ is listable with connection my-s3-local$/m);
    assert.match(check.stdout, /^\+ connection my-s3-local: create /m);
    assert.deepEqual(tree(t.projectDir), beforeCheck);
  });

  it('deploy starts the data source on my-s3-local and its file loads', async () => {
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^started workflow datasource\/local\/events$/m);
    const state = await t.waitForState('events', (s) => s.initialSyncDone && s.status === 'resting');
    assert.equal(state.counters.filesLoaded, 1);
    assert.equal(state.counters.rows, 2);
  });

  it('connection ls lists my-s3-local', async () => {
    const ls = await t.cli(['connection', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^my-s3-local\s/m);
  });
});
