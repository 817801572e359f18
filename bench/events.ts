/**
 * `npm run bench:events`: how soon an S3 event becomes rows (issue 22), on
 * both event paths of an `@auto` data source:
 *
 *  - push: MinIO's webhook → the API's `/v0/events/s3` → signal;
 *  - queue: the AWS emulator moto, S3 → EventBridge → SQS → the queue
 *    intake's `drainQueue` → signal (docs/events-aws.md).
 *
 * For each path, on a fresh stack (Temporal dev server, MinIO, the worker in
 * this process; moto for the queue) with the poll interval at an hour, so
 * that only an event can explain a load:
 *  - latency: EVENTS_SINGLE (50) files put one at a time, each waited for;
 *    the time from PutObject to its row in the table, p50 and p90;
 *  - burst: EVENTS_BURST (500) files put at once (25 in flight), the time
 *    from the first PutObject to the last row.
 *
 * Prints a table. The figures depend on the machine's load (printed with
 * them): moto is a single Python process whose ReceiveMessage slows with the
 * depth of the queue, so the queue path's burst measures moto as much as us.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../src/local/processes';
import { mapConcurrently } from '../src/util/concurrency';
import {
  MOTO_OWNER_ROLE_ARN,
  motoConnection,
  motoRoleClients,
  startMoto,
  storeMotoSecrets,
} from '../test/helpers/moto';
import { idNameDataSource, minioConnection, startTestApi, startTestStack, type TestStack } from '../test/helpers/stack';

const env = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const SINGLE = env('EVENTS_SINGLE', 50);
const BURST = env('EVENTS_BURST', 500);
const IN_FLIGHT = 25;
const TOKEN = 'bench-events-token-0123456789abcdef';
/** How often the bench looks for a row: finer than the latencies it measures. */
const LOOK_MS = 50;

/** One path under test: a running stack whose data source `ev` follows `s3://<bucket>/in/*.csv`. */
interface EventPath {
  name: string;
  t: TestStack;
  s3: S3Client;
  bucket: string;
  stop(): Promise<void>;
}

interface Figures {
  path: string;
  p50: number;
  p90: number;
  max: number;
  burstMs: number;
}

const csv = (id: number) => `id,name\n${id},n${id}\n`;

async function rowCount(t: TestStack, from: number, to: number): Promise<number> {
  const rows = await t.stack.worker!.sink.query(`SELECT count(*)::INT AS n FROM ev WHERE id >= ${from} AND id < ${to}`);
  return Number(rows[0]?.n ?? 0);
}

/** Waits until `count` rows with ids from `from` are in the table; fails after `timeoutMs`. */
async function rowsArrive(t: TestStack, from: number, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await rowCount(t, from, from + count)) < count) {
    if (Date.now() > deadline) throw new Error(`rows ${from}..${from + count - 1} did not arrive in ${timeoutMs} ms`);
    await sleep(LOOK_MS);
  }
}

async function put(p: EventPath, id: number): Promise<void> {
  await p.s3.send(new PutObjectCommand({ Bucket: p.bucket, Key: `in/f-${id}.csv`, Body: csv(id) }));
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function measure(p: EventPath): Promise<Figures> {
  // One file first: the data source's first job (table, ledger) is not what is measured.
  await put(p, 1);
  await rowsArrive(p.t, 1, 1, 120_000);
  const latencies: number[] = [];
  for (let i = 0; i < SINGLE; i++) {
    const id = 10 + i;
    const started = Date.now();
    await put(p, id);
    await rowsArrive(p.t, id, 1, 120_000);
    latencies.push(Date.now() - started);
  }
  const first = 100_000;
  const started = Date.now();
  await mapConcurrently(
    Array.from({ length: BURST }, (_, i) => first + i),
    IN_FLIGHT,
    (id) => put(p, id),
  );
  await rowsArrive(p.t, first, BURST, 600_000);
  const burstMs = Date.now() - started;
  const sorted = [...latencies].sort((a, b) => a - b);
  return { path: p.name, p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), max: sorted.at(-1)!, burstMs };
}

/** MinIO's webhook to the API's event endpoint (what `s3c local start` sets up). */
async function pushPath(): Promise<EventPath> {
  const apiPort = await freePort();
  const t = await startTestStack({
    workspace: { pollIntervalSeconds: 3600, filesPerMinute: 0 },
    minioEnv: {
      MINIO_NOTIFY_WEBHOOK_ENABLE_S3C: 'on',
      MINIO_NOTIFY_WEBHOOK_ENDPOINT_S3C: `http://127.0.0.1:${apiPort}/v0/events/s3`,
      MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_S3C: TOKEN,
    },
  });
  const api = await startTestApi(t, { token: TOKEN, workspaceSecret: 'bench-events-secret', port: apiPort });
  await t.createBucket('bench');
  t.write('minio.connection', minioConnection());
  t.write('ev.datasource', idNameDataSource('s3://bench/in/*.csv', { schedule: '@auto' }));
  await deploy(t, /webhook notifications of s3:\/\/bench\/in\/ turned on/);
  return {
    name: 'push (MinIO webhook → HTTP)',
    t,
    s3: t.s3,
    bucket: 'bench',
    stop: async () => {
      await api.close();
      await t.stop();
    },
  };
}

/** moto: S3 → EventBridge → SQS → the queue intake, in the bucket owner's account. */
async function queuePath(): Promise<EventPath> {
  const motoDir = mkdtempSync(join(tmpdir(), 's3c-bench-moto-'));
  const [t, moto] = await Promise.all([
    startTestStack({ workspace: { pollIntervalSeconds: 3600, filesPerMinute: 0, events: { intake: 'queue' } } }),
    startMoto({ stateDir: motoDir }),
  ]);
  const owner = await motoRoleClients(moto, MOTO_OWNER_ROLE_ARN);
  await owner.s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
  storeMotoSecrets(t.projectDir, moto);
  t.write('s3c.yaml', 'events:\n  intake: queue\n');
  t.write('aws.connection', motoConnection());
  t.write('ev.datasource', idNameDataSource('s3://bench/in/*.csv', { schedule: '@auto', connection: 'aws' }));
  await deploy(t, /started workflow queue\/local\/aws/);
  return {
    name: 'queue (moto: EventBridge → SQS)',
    t,
    s3: owner.s3,
    bucket: 'bench',
    stop: async () => {
      owner.destroy();
      await moto.stop();
      await t.stop();
      rmSync(motoDir, { recursive: true, force: true });
    },
  };
}

async function deploy(t: TestStack, expected: RegExp): Promise<void> {
  const out = await t.cli(['deploy']);
  if (out.code !== 0 || !expected.test(out.stdout)) throw new Error(`deploy: ${out.stdout}${out.stderr}`);
  await t.waitForState('ev', (s) => s.initialSyncDone, 120_000);
}

function table(rows: Figures[]): string {
  const head = ['path', `p50 (${SINGLE} single)`, 'p90', 'max', `burst of ${BURST}`];
  const body = rows.map((r) => [
    r.path,
    `${r.p50} ms`,
    `${r.p90} ms`,
    `${r.max} ms`,
    `${(r.burstMs / 1000).toFixed(1)} s`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const results: Figures[] = [];
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  process.stdout.write(`load average before: ${load()}\n`);
  for (const start of [pushPath, queuePath]) {
    const p = await start();
    try {
      process.stdout.write(`measuring ${p.name} ...\n`);
      results.push(await measure(p));
    } finally {
      await p.stop();
    }
  }
  process.stdout.write(`\n${table(results)}\n\nload average after: ${load()}\n`);
}

await main();
