/**
 * Starting the local servers on loopback ports: a probed port is held in
 * TIME_WAIT, a port taken by someone else is named in the error, and a start
 * that lost its probed port to another process is tried again on fresh ones.
 * A MinIO that answers on a fixed port is only taken for ours when it is our
 * child that listens there and it takes our keys, and each project has its own keys.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CreateBucketCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import { localMinioKeys } from '../../src/cli/local';
import { defaultSecretsFile, SecretStore } from '../../src/datafiles';
import {
  freePort,
  spawnManaged,
  startMinio,
  startOnFreePorts,
  waitUntil,
  type ManagedProcess,
} from '../../src/local/processes';
import { repoRoot } from '../../src/local/tools';
import { minioS3Client } from '../../src/local/stack';

/** A server on `port` that accepts connections and never answers; `close` drops them. */
async function listen(port: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolveListen);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () =>
      new Promise((resolveClose) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolveClose());
      }),
  };
}

/** Local ports of the TCP sockets in TIME_WAIT (state 06) on IPv4. */
function timeWaitPorts(): Set<number> {
  const ports = new Set<number>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[3] === '06') ports.add(parseInt(fields[1]!.split(':')[1]!, 16));
  }
  return ports;
}

describe('local servers', () => {
  const dir = mkdtempSync(join(tmpdir(), 's3c-servers-'));
  const started: ManagedProcess[] = [];
  after(async () => {
    await Promise.all(started.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('freePort leaves the port in TIME_WAIT, and a server can still listen on it at once', async () => {
    const port = await freePort();
    assert.ok(timeWaitPorts().has(port), `port ${port} is not in TIME_WAIT`);
    const server = await listen(port);
    assert.equal(server.port, port);
    await server.close();
  });

  it('a MinIO port that another process holds fails the start, naming the cause', async () => {
    const holder = await listen(await freePort());
    const port = holder.port;
    try {
      await assert.rejects(
        startMinio({ dataDir: join(dir, 'minio-data'), stateDir: join(dir, 'minio-state'), port }),
        (err: Error) => {
          assert.match(err.message, /^MinIO: process exited \(1\)/);
          assert.match(err.message, /Specified port is already in use/);
          return true;
        },
      );
    } finally {
      await holder.close();
    }
  });

  it('a MinIO port where another MinIO answers fails the start: the one that answers is not taken for ours (item 9)', async () => {
    const other = await startMinio({
      dataDir: join(dir, 'other-data'),
      stateDir: join(dir, 'other-state'),
      accessKey: 'other-project',
      secretKey: 'other-project-secret',
    });
    started.push(other);
    // Another project's MinIO (other keys), and this project started twice (the same keys).
    for (const keys of [
      { accessKey: 'this-project', secretKey: 'this-project-secret' },
      { accessKey: other.accessKey, secretKey: other.secretKey },
    ]) {
      await assert.rejects(
        startMinio({ dataDir: join(dir, 'mine-data'), stateDir: join(dir, 'mine-state'), port: other.port, ...keys }),
        (err: Error) => {
          assert.match(err.message, /^MinIO: process exited \(1\)/);
          assert.match(err.message, /Specified port is already in use/);
          assert.ok(!err.message.includes(keys.secretKey));
          return true;
        },
      );
    }
    assert.equal(
      await (
        await fetch(`${other.endpoint}/minio/health/ready`)
      ).status,
      200,
      'the other MinIO is untouched',
    );
  });

  it('each project has its own MinIO keys, 0600, and the endpoint secret follows --minio-port; a project of the shared key gets its own (item 9)', async () => {
    const projects = [join(dir, 'p1'), join(dir, 'p2')];
    const keys = projects.map((p) => localMinioKeys(p, join(p, '.s3c', 'local'), 9100));
    assert.notEqual(keys[0]!.accessKey, keys[1]!.accessKey);
    assert.notEqual(keys[0]!.secretKey, keys[1]!.secretKey);
    for (const [i, p] of projects.entries()) {
      assert.notEqual(keys[i]!.accessKey, 's3c-local');
      assert.equal(statSync(join(p, '.s3c', 'local', 'minio.json')).mode & 0o777, 0o600);
      assert.deepEqual(localMinioKeys(p, join(p, '.s3c', 'local'), 9100), keys[i], 'made once, then kept');
      const secrets = new SecretStore(defaultSecretsFile(p));
      assert.equal(secrets.get('LOCAL_S3_ENDPOINT'), 'http://127.0.0.1:9100');
      assert.equal(secrets.get('LOCAL_S3_ACCESS_KEY'), keys[i]!.accessKey);
    }
    // A project made when every project's access key was s3c-local: its MinIO data, then a start with the new keys.
    const old = join(dir, 'p-old');
    const state = join(old, '.s3c', 'local');
    mkdirSync(state, { recursive: true });
    writeFileSync(
      join(state, 'minio.json'),
      JSON.stringify({ accessKey: 's3c-local', secretKey: 'an-old-secret-of-this-project' }),
    );
    const before = await startMinio({
      dataDir: join(state, 'minio'),
      stateDir: state,
      accessKey: 's3c-local',
      secretKey: 'an-old-secret-of-this-project',
    });
    started.push(before);
    const s3Before = minioS3Client(before);
    await s3Before.send(new CreateBucketCommand({ Bucket: 'kept' }));
    s3Before.destroy();
    await before.stop();
    const renewed = localMinioKeys(old, state);
    assert.notEqual(renewed.accessKey, 's3c-local');
    const after = await startMinio({ dataDir: join(state, 'minio'), stateDir: state, ...renewed });
    started.push(after);
    const s3 = minioS3Client(after);
    assert.deepEqual(
      ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name),
      ['kept'],
    );
    s3.destroy();
  });

  it(
    's3c local start --minio --minio-port: .s3c is 0700 and every file in it 0600, temporal.db included, state of earlier versions too (item 8, 9)',
    { timeout: 300_000 },
    async () => {
      const project = join(dir, 'started');
      // State an earlier version left world-readable.
      mkdirSync(join(project, '.s3c', 'local'), { recursive: true, mode: 0o755 });
      chmodSync(join(project, '.s3c'), 0o755);
      writeFileSync(join(project, '.s3c', 'deployment.json'), '{}', { mode: 0o644 });
      writeFileSync(join(project, '.s3c', 'local', 'temporal.log'), '', { mode: 0o644 });
      const [port, uiPort, minioPort, apiPort] = [
        await freePort(),
        await freePort(),
        await freePort(),
        await freePort(),
      ];
      const logFile = join(dir, 'local-start.log');
      const cli = spawnManaged(
        's3c local start',
        process.execPath,
        [
          join(repoRoot, 'bin', 's3c.js'),
          'local',
          'start',
          '--minio',
          '--minio-port',
          String(minioPort),
          '--port',
          String(port),
          '--ui-port',
          String(uiPort),
        ],
        {
          cwd: project,
          logFile,
          env: { ...process.env, S3C_API_PORT: String(apiPort), S3C_API_TOKEN: 'local-start-test-token' },
        },
      );
      started.push(cli);
      await waitUntil('s3c local start', async () => readFileSync(logFile, 'utf8').includes('Ready.'), cli, 240_000);
      const out = readFileSync(logFile, 'utf8');
      assert.match(out, new RegExp(`MinIO \\(local S3\\): +http://127\\.0\\.0\\.1:${minioPort}`));
      assert.equal(
        new SecretStore(defaultSecretsFile(project)).get('LOCAL_S3_ENDPOINT'),
        `http://127.0.0.1:${minioPort}`,
      );
      const modes: string[] = [];
      const walk = (d: string): void => {
        for (const name of readdirSync(d)) {
          const path = join(d, name);
          const st = statSync(path);
          modes.push(
            `${(st.mode & 0o777).toString(8)} ${path.slice(project.length + 1)}${st.isDirectory() ? '/' : ''}`,
          );
          if (st.isDirectory()) walk(path);
        }
      };
      modes.push(`${(statSync(join(project, '.s3c')).mode & 0o777).toString(8)} .s3c/`);
      walk(join(project, '.s3c'));
      for (const must of [
        '.s3c/',
        '.s3c/local/temporal.db',
        '.s3c/secrets.json',
        '.s3c/local/minio.json',
        '.s3c/warehouse.duckdb',
        '.s3c/deployment.json',
      ]) {
        assert.ok(
          modes.some((m) => m.endsWith(` ${must}`)),
          `${must} exists: ${modes.join(', ')}`,
        );
      }
      const open = modes.filter((m) => !(m.endsWith('/') ? m.startsWith('700 ') : m.startsWith('600 ')));
      assert.deepEqual(open, [], 'folders 0700, files 0600');
      await cli.stop();
    },
  );

  /** A stand-in server: node that either fails like a bind error or, given a port, serves HTTP there. */
  function standIn(logFile: string, script: string): ManagedProcess {
    const proc = spawnManaged('stand-in', process.execPath, ['-e', script], { logFile });
    started.push(proc);
    return proc;
  }

  it('a start whose probed port was taken is tried again on fresh ports, up to three times', async () => {
    const logFile = join(dir, 'retry.log');
    const ports: number[] = [];
    const server = await startOnFreePorts('stand-in', logFile, false, 20_000, async () => {
      const port = await freePort();
      ports.push(port);
      const script =
        ports.length < 3
          ? `console.error('listen tcp 127.0.0.1:${port}: bind: address already in use'); process.exit(1)`
          : `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
      const proc = standIn(logFile, script);
      return {
        proc,
        ready: async () => (await fetch(`http://127.0.0.1:${port}/`)).ok,
        server: (p) => Object.assign(p, { port }),
      };
    });
    assert.equal(ports.length, 3);
    assert.equal(server.port, ports[2]);
    assert.equal(await (await fetch(`http://127.0.0.1:${server.port}/`)).text(), 'ok');
    await server.stop();
  });

  it('gives up after three taken ports, and never retries another failure or fixed ports', async () => {
    const logFile = join(dir, 'giveup.log');
    for (const [failure, fixed, attempts] of [
      ['bind: address already in use', false, 3],
      ['config file is broken', false, 1],
      ['bind: address already in use', true, 1],
    ] as const) {
      let launches = 0;
      await assert.rejects(
        startOnFreePorts('stand-in', logFile, fixed, 20_000, async () => {
          launches++;
          const proc = standIn(logFile, `console.error(${JSON.stringify(failure)}); process.exit(3)`);
          return { proc, ready: async () => false, server: (p) => p };
        }),
        (err: Error) => {
          assert.match(err.message, /^stand-in: process exited \(3\); see .*giveup\.log/);
          assert.ok(err.message.includes(`    ${failure}`), err.message);
          return true;
        },
      );
      assert.equal(launches, attempts, `${failure} (fixed ports: ${fixed})`);
    }
  });
});
