/**
 * Records workflow histories for the replay test (test/unit/replay.test.ts):
 * runs a scenario on a real local stack (MinIO, Temporal, worker) that
 * exercises every workflow — an @once sync with a bad file, a sync-now, an
 * @auto poll, an event signal, a pause/resume, signals sent by hand with
 * malformed payloads (v5), idle @auto polls that start no job, an @auto
 * data source polling after a failed first sync, a redeploy's `settings`
 * signal (v6), the limiter, a sample job, a scheduled sync — and
 * writes each history to test/fixtures/histories/.
 *
 * Re-record only on purpose: a change that cannot replay these histories
 * would break workflows that are running in production.
 *
 *   S3C_HISTORIES_TAG=v3 node --import tsx scripts/record-histories.ts
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { requestSync, setPaused, startSampleJob, waitForSync, jobReport, dataSourceState } from '../src/client/dataSources';
import { limiterConfig } from '../src/config';
import { repoRoot } from '../src/local/tools';
import { dataSourceWorkflowId, objectsCreatedSignal, limiterWorkflowId } from '../src/contract';
import { idNameDataSource, minioConnection, startTestStack } from '../test/helpers/stack';

/** A new folder per recording (S3C_HISTORIES_TAG), so older histories keep being replayed. */
const OUT = join(repoRoot, 'test', 'fixtures', 'histories', process.env.S3C_HISTORIES_TAG ?? 'latest');
const execFileAsync = promisify(execFile);

async function main(): Promise<void> {
  const t = await startTestStack({ workspace: { pollIntervalSeconds: 2, filesPerMinute: 2, rateLimitPeriodSeconds: 2 } });
  try {
    await t.createBucket('rec');
    await t.put('rec', 'once/a.csv', 'id,name\n1,a\n2,b\n');
    await t.put('rec', 'once/bad.csv.gz', 'not gzip at all');
    await t.put('rec', 'once/c.csv', 'id,name\nx,c\n3,d\n');
    await t.put('rec', 'auto/a.ndjson', '{"id":1,"name":"a"}\n');
    await t.put('rec', 'fail/bad.csv.gz', 'not gzip at all');
    t.write('minio.connection', minioConnection());
    t.write('once_ds.datasource', idNameDataSource('s3://rec/once/*', { schedule: '@once' }));
    t.write('auto_ds.datasource', idNameDataSource('s3://rec/auto/*.ndjson', { schedule: '@auto' }));
    t.write('fail_ds.datasource', idNameDataSource('s3://rec/fail/*', { schedule: '@auto' }));
    t.write('cron_ds.datasource', idNameDataSource('s3://rec/once/*.csv', { schedule: '"* * * * *"' }));
    const deployed = await t.cli(['deploy']);
    if (deployed.code !== 0) throw new Error(deployed.stderr + deployed.stdout);
    const client = t.stack.client;
    const ws = t.workspace.workspace;
    await t.waitForState('once_ds', (s) => s.initialSyncDone && s.status === 'resting', 120_000);
    await t.waitForState('auto_ds', (s) => s.initialSyncDone, 120_000);

    // Sync now on @once, after a new file.
    await t.put('rec', 'once/d.csv', 'id,name\n4,e\n');
    const before = await dataSourceState(client, ws, 'once_ds');
    await requestSync(client, ws, 'once_ds', { origin: 'record', requestId: 'r1' });
    await waitForSync(client, ws, 'once_ds', before);

    // An event for @auto, then a poll; pause and resume.
    await t.put('rec', 'auto/b.ndjson', '{"id":2,"name":"b"}\n');
    await client.workflow.getHandle(dataSourceWorkflowId(ws, 'auto_ds')).signal(objectsCreatedSignal, [
      { bucket: 'rec', key: 'auto/b.ndjson', etag: 'stale-etag', size: 20, lastModified: new Date().toISOString(), format: 'ndjson', compression: 'none' },
    ]);
    await t.waitForState('auto_ds', (s) => s.counters.filesLoaded >= 2, 60_000);
    await setPaused(client, ws, 'auto_ds', true);
    await setPaused(client, ws, 'auto_ds', false);

    // Signals sent by hand (v5): malformed ones are ignored and recorded, syncNow without input is a request.
    const auto = client.workflow.getHandle(dataSourceWorkflowId(ws, 'auto_ds'));
    const beforeSignals = await dataSourceState(client, ws, 'auto_ds');
    await auto.signal('syncNow');
    await auto.signal('syncNow', 42);
    await auto.signal('objectsCreated', null);
    await auto.signal('redeploy', {});
    await auto.signal('jobProgress', 'x');
    await auto.signal('noSuchSignal', 1);
    await execFileAsync(join(repoRoot, '.tools', 'bin', 'temporal'), [
      'workflow', 'signal', '--address', t.stack.temporal.temporal.address, '--namespace', t.stack.temporal.temporal.namespace,
      '--workflow-id', dataSourceWorkflowId(ws, 'auto_ds'), '--name', 'syncNow', '--input', '"x"', '--input-meta', 'encoding=foo/bar',
    ]);
    const limiter = client.workflow.getHandle(limiterWorkflowId(ws));
    await limiter.signal('configureLimiter', {});
    await limiter.signal('tokenRequest', null);
    await waitForSync(client, ws, 'auto_ds', beforeSignals);
    await t.waitForState('auto_ds', (s) => (s.rejectedSignals?.count ?? 0) >= 6, 60_000);

    // v6: idle polls list without a job; @auto polls after its failed first sync; a redeploy sends `settings`.
    await t.waitForState('fail_ds', (s) => s.counters.syncs >= 1 && s.status === 'idle', 60_000);
    await t.put('rec', 'fail/good.csv', 'id,name\n7,g\n');
    await t.waitForState('fail_ds', (s) => s.counters.filesLoaded >= 1, 60_000);
    await sleep(5_000);
    const redeployed = await t.cli(['deploy']);
    if (redeployed.code !== 0) throw new Error(redeployed.stderr + redeployed.stdout);
    await sleep(3_000);

    // A sample job, and a scheduled sync of the cron data source.
    const jobId = await startSampleJob(client, {
      projectDir: t.projectDir,
      workspace: ws,
      dataSource: 'once_ds',
      maxFiles: 2,
      controlTaskQueue: t.stack.temporal.taskQueues.control,
      ingestTaskQueue: t.stack.temporal.taskQueues.ingest,
      limiter: limiterConfig(t.workspace),
    });
    await client.workflow.getHandle(jobId).result();
    const cron = await t.waitForState('cron_ds', (s) => s.counters.syncs >= 1, 150_000);
    console.log(`cron data source synced ${cron.counters.syncs} time(s)`);
    await sleep(500);

    mkdirSync(OUT, { recursive: true });
    const ids = new Set<string>([
      dataSourceWorkflowId(ws, 'once_ds'),
      dataSourceWorkflowId(ws, 'auto_ds'),
      dataSourceWorkflowId(ws, 'cron_ds'),
      dataSourceWorkflowId(ws, 'fail_ds'),
      limiterWorkflowId(ws),
      jobId,
    ]);
    for await (const wf of client.workflow.list({ query: `WorkflowType IN ('jobWorkflow', 'scheduledSyncWorkflow')` })) {
      ids.add(wf.workflowId);
      if (ids.size > 12) break;
    }
    let n = 0;
    for (const id of ids) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      const type = (await client.workflow.getHandle(id).describe()).type;
      const file = join(OUT, `${type}-${String(++n).padStart(2, '0')}.json`);
      // The same JSON as `temporal workflow show --output json`.
      writeFileSync(file, `{"workflowId":${JSON.stringify(id)},"history":${historyToJSON(history)}}\n`);
      console.log(`recorded ${file} (${history.events?.length ?? 0} events)`);
    }
    const report = await jobReport(client, jobId);
    console.log(`sample job: ${report.status}, ${report.statistics.files_done} files`);
  } finally {
    await t.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
