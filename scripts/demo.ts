/**
 * The product's main job on its embedded defaults, in one command:
 * builds the tools if needed, starts a local S3 (MinIO) with sample event
 * files, a Temporal dev server (Web UI on) and a worker, deploys the
 * quickstart example (`examples/quickstart`), waits until every file is in
 * the DuckDB file, and prints what landed.
 *
 *   npm run demo             # runs, prints, stops
 *   npm run demo -- --stay   # keeps Temporal (and its Web UI) up until Ctrl-C
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { applyDeploy } from '../src/deploy/apply';
import { planDeploy } from '../src/deploy/plan';
import { dataSourceState, waitForSync } from '../src/client/dataSources';
import { loadTemporalConfig, loadWorkspaceConfig } from '../src/config';
import { defaultSecretsFile, SecretStore, secretLookup } from '../src/datafiles';
import { S3ClientCache } from '../src/aws/credentials';
import { minioS3Client, startLocalStack } from '../src/local/stack';
import { repoRoot } from '../src/local/tools';
import { dataSourceWorkflowId } from '../src/contract';
import { ensureTools } from './setup-tools';

const BUCKET = 'demo-events';
const ACTIONS = ['view', 'click', 'add_to_cart', 'buy'];

/** Midnight UTC four days ago: the sample files hold the three days after it. */
const DAY_ZERO = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 4 * 86_400_000;

/** A day of sample events as CSV; one deliberately bad row shows the quarantine. */
function sampleCsv(day: number, rows: number, withBadRow: boolean): string {
  const lines = ['timestamp,session_id,action,version,payload'];
  for (let i = 0; i < rows; i++) {
    // Recent days: the quickstart's ENGINE_TTL (60 days) would delete older events within the hour under --stay.
    const ts = new Date(DAY_ZERO + day * 86_400_000 + i * 7000).toISOString().replace('T', ' ').slice(0, 19);
    const payload = JSON.stringify({ item: `sku-${(i * 31) % 97}`, price: ((i * 13) % 500) / 10 }).replace(/"/g, '""');
    lines.push(`${ts},s-${day}-${i % 50},${ACTIONS[i % ACTIONS.length]},1.${i % 3},"${payload}"`);
  }
  if (withBadRow) lines.push('not-a-timestamp,s-bad,view,1.0,"{}"');
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const stay = process.argv.includes('--stay');
  const started = Date.now();
  console.log('» Building the tools (once per machine) ...');
  await ensureTools();

  const projectDir = join(repoRoot, '.s3c-demo');
  rmSync(projectDir, { recursive: true, force: true });
  mkdirSync(projectDir, { recursive: true });
  cpSync(join(repoRoot, 'examples', 'quickstart'), projectDir, { recursive: true });
  const stateDir = join(projectDir, '.s3c', 'local');
  const keys = { accessKey: 'demo', secretKey: randomBytes(18).toString('base64url') };
  console.log('» Starting MinIO, the Temporal dev server and the worker ...');
  const temporal = loadTemporalConfig(projectDir, {});
  const workspace = loadWorkspaceConfig(projectDir, {});
  const stack = await startLocalStack({
    projectDir,
    stateDir,
    temporal,
    workspace,
    persistent: true,
    minio: keys,
  });
  try {
    // The connection's secrets: MinIO's address is known once it runs (the worker reads the store per activity).
    const secrets = new SecretStore(defaultSecretsFile(projectDir));
    secrets.set('LOCAL_S3_ENDPOINT', stack.minio!.endpoint);
    secrets.set('LOCAL_S3_ACCESS_KEY', keys.accessKey);
    secrets.set('LOCAL_S3_SECRET', keys.secretKey);
    const s3 = minioS3Client(stack.minio!);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const files = [
      { key: 'events/2024/01/01.csv', body: sampleCsv(1, 1000, false) },
      { key: 'events/2024/01/02.csv', body: sampleCsv(2, 1000, true) },
      { key: 'events/2024/01/03.csv', body: sampleCsv(3, 1000, false) },
      { key: 'events/README.txt', body: 'not matched by the pattern' },
    ];
    for (const f of files) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: f.key, Body: f.body }));
    s3.destroy();
    console.log(`✓ s3://${BUCKET}: ${files.length} objects (${files.length - 1} CSV files of sample events)`);

    console.log('» s3c deploy (examples/quickstart: local_s3.connection, events.datasource @once) ...');
    const deployOptions = {
      projectDir,
      workspace,
      temporal: stack.temporal,
      lookup: secretLookup(secrets),
      s3: new S3ClientCache({ externalId: () => 'demo' }),
    };
    const plan = await planDeploy(deployOptions);
    if (plan.errors.length > 0) throw new Error(plan.errors.join('\n'));
    for (const line of await applyDeploy(plan, stack.client, deployOptions)) console.log(`✓ ${line}`);
    deployOptions.s3.destroy();

    const state = await waitForSync(stack.client, workspace.workspace, 'events', undefined, {
      onProgress: (s) => {
        if (process.stdout.isTTY)
          process.stdout.write(`\r  syncing: ${s.counters.filesLoaded} files, ${s.counters.rows} rows   `);
      },
    });
    if (process.stdout.isTTY) process.stdout.write('\n');
    const final = (await dataSourceState(stack.client, workspace.workspace, 'events')) ?? state;
    const sink = stack.worker!.sink;
    console.log(
      `✓ Loaded ${final.counters.filesLoaded} files: ${final.counters.rows} rows, ${final.counters.quarantined} quarantined`,
    );
    console.log(`  rows in table events:            ${await sink.rowCount('events')}`);
    console.log(`  rows in table events_quarantine: ${await sink.rowCount('events_quarantine')}`);
    for (const q of await sink.query(`SELECT "timestamp", c__error FROM events_quarantine LIMIT 3`)) {
      console.log(`  quarantined: timestamp=${String(q.timestamp)} error=${JSON.stringify(q.c__error)}`);
    }
    const top: Record<string, unknown>[] = await sink.query(
      `SELECT action, count(*)::INTEGER AS n FROM events GROUP BY action ORDER BY n DESC, action`,
    );
    console.log(`  events by action: ${top.map((r) => `${String(r.action)}=${String(r.n)}`).join(', ')}`);
    console.log(`✓ DuckDB file: ${workspace.duckdbPath}`);
    console.log(
      `✓ Temporal Web UI: ${stack.temporalServer.uiUrl}/namespaces/default/workflows/${encodeURIComponent(dataSourceWorkflowId(workspace.workspace, 'events'))}`,
    );
    console.log(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    if (stay) {
      console.log('Staying up (--stay): Ctrl-C stops everything.');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    } else {
      console.log('To browse the workflows in the Web UI, run `npm run demo -- --stay`.');
    }
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`Demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
