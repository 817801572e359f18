/**
 * The one reader of `.s3c/deployment.json` (deploy/store.ts): the API, event
 * intake and the worker ask for it on every request and activity, so it parses
 * the file once per version, and sees a redeploy (by this or another process)
 * at the next call.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readDeployment, writeDeployment, type Deployment } from '../../src/deploy/store';
import { deploymentPath } from '../../src/util/stateLayout';

const folders: string[] = [];
after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

function projectDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 's3c-store-'));
  folders.push(dir);
  return dir;
}

function snapshot(region: string): Deployment {
  return {
    version: 1,
    workspace: 'local',
    connections: { aws: { name: 'aws', path: 'aws.connection', text: '', region } },
    dataSources: {},
  };
}

/** Writes the snapshot as another process would (in place), its times a minute old: settled. */
function writeByHand(dir: string, doc: Deployment, at = new Date(Date.now() - 60_000)): void {
  const path = deploymentPath(dir);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(doc));
  utimesSync(path, at, at);
}

describe('readDeployment: one cached reader of deployment.json', () => {
  it('does not read an unchanged file again: every call gets the same parsed snapshot', () => {
    const dir = projectDir();
    writeByHand(dir, snapshot('eu-west-1'));
    const first = readDeployment(dir, 'local');
    assert.equal(first.connections.aws?.region, 'eu-west-1');
    assert.equal(readDeployment(dir, 'local'), first, 'the same object: not read and parsed again');
  });

  it('sees a rewrite by another process, even of the same size with its old modification time put back', () => {
    const dir = projectDir();
    const at = new Date(Date.now() - 60_000);
    writeByHand(dir, snapshot('eu-west-1'), at);
    assert.equal(readDeployment(dir, 'local').connections.aws?.region, 'eu-west-1');
    writeByHand(dir, snapshot('eu-west-2'), at);
    assert.equal(readDeployment(dir, 'local').connections.aws?.region, 'eu-west-2');
  });

  it('sees a redeploy of this process at once', () => {
    const dir = projectDir();
    writeDeployment(dir, snapshot('eu-west-1'));
    assert.equal(readDeployment(dir, 'local').connections.aws?.region, 'eu-west-1');
    writeDeployment(dir, snapshot('eu-west-2'));
    assert.equal(readDeployment(dir, 'local').connections.aws?.region, 'eu-west-2');
  });

  it('reads a file changed in the last moments again (file times are too coarse to trust yet)', () => {
    const dir = projectDir();
    writeByHand(dir, snapshot('eu-west-1'), new Date());
    const first = readDeployment(dir, 'local');
    const second = readDeployment(dir, 'local');
    assert.deepEqual(second, first);
    assert.notEqual(second, first, 'parsed again while the file is fresh');
  });

  it('keeps each environment apart, and answers an empty deployment when there is no file', () => {
    const dir = projectDir();
    writeByHand(dir, snapshot('eu-west-1'));
    assert.equal(readDeployment(dir, 'local').connections.aws?.region, 'eu-west-1');
    assert.deepEqual(readDeployment(dir, 'prod', 'cloud'), {
      version: 1,
      workspace: 'prod',
      connections: {},
      dataSources: {},
    });
    rmSync(deploymentPath(dir));
    assert.deepEqual(readDeployment(dir, 'local'), {
      version: 1,
      workspace: 'local',
      connections: {},
      dataSources: {},
    });
  });

  it('hands out a frozen snapshot: a caller cannot change what the next one reads', () => {
    const dir = projectDir();
    writeByHand(dir, snapshot('eu-west-1'));
    const doc = readDeployment(dir, 'local');
    assert.throws(() => {
      (doc.connections.aws as { region: string }).region = 'us-east-1';
    }, TypeError);
    assert.equal(readDeployment(dir, 'local').connections.aws?.region, 'eu-west-1');
  });
});
