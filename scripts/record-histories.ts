/**
 * Records the workflow histories the replay test replays
 * (test/unit/replay.test.ts): runs one scenario on a real local stack (MinIO,
 * Temporal, worker) that goes through every workflow type and its main paths,
 * then keeps, for each entry of PINS, the first run whose history shows what
 * that entry pins, as test/fixtures/histories/<name>.json, and lists them in
 * that folder's README.md.
 *
 * Re-record only on purpose: after a release, a change that cannot replay
 * these histories would break running workflows; it goes behind a registered
 * patch instead (src/workflows/patches.ts, docs/architecture.md).
 *
 *   npm run record-histories
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { requestSync, setPaused, startSampleJob, waitForSync, dataSourceState } from '../src/client/dataSources';
import { runSqlQuery } from '../src/client/sql';
import { limiterConfig } from '../src/config';
import { repoRoot } from '../src/local/tools';
import { dataSourceWorkflowId, objectsCreatedSignal, limiterWorkflowId } from '../src/contract';
import { queueIntakeWorkflowId, stopQueueIntakeSignal, type QueueIntakeInput } from '../src/contract/queueIntake';
import { cliEnv, idNameDataSource, minioConnection, startTestStack, type TestStack } from '../test/helpers/stack';

const OUT = join(repoRoot, 'test', 'fixtures', 'histories');
const execFileAsync = promisify(execFile);

/** What the scenario reads from one run's history to pick it. */
interface Run {
  workflowId: string;
  type: string;
  /** The workflow's first argument, decoded. */
  input: Record<string, unknown>;
  activities: Set<string>;
  signals: Set<string>;
  continuedFrom: boolean;
  continuedAsNew: boolean;
  json: string;
}

/** One recorded history: its file name says what it pins. */
interface Pin {
  name: string;
  pins: string;
  pick: (run: Run) => boolean;
}

const isJob = (r: Run, dataSource: string, origin: string): boolean =>
  r.type === 'jobWorkflow' &&
  (r.input.dataSource as { name?: string } | undefined)?.name === dataSource &&
  r.input.origin === origin;
const isDataSource = (r: Run, name: string): boolean =>
  r.type === 'dataSourceWorkflow' && r.workflowId.endsWith(`/${name}`);

const PINS: Pin[] = [
  {
    name: 'datasource-once-syncs-then-redeployed-to-auto',
    pins: 'an @once data source: first sync at deploy, a sync-now request, the settings signal, a redeploy to @auto that continues as new',
    pick: (r) =>
      isDataSource(r, 'once_ds') &&
      !r.continuedFrom &&
      r.signals.has('syncNow') &&
      r.signals.has('redeploy') &&
      r.continuedAsNew,
  },
  {
    name: 'datasource-continued-after-schedule-change',
    pins: 'the run a redeploy continued as new (@once → @auto): its catch-up sync, then polls',
    pick: (r) =>
      isDataSource(r, 'once_ds') &&
      r.continuedFrom &&
      (r.input.carried as { pendingSyncs?: unknown[] } | undefined)?.pendingSyncs?.length === 1,
  },
  {
    name: 'datasource-auto-events-pause-and-hostile-signals',
    pins: 'an @auto data source: polls, an objectsCreated event, pause and resume, malformed and unknown signals (refused and recorded)',
    pick: (r) =>
      isDataSource(r, 'auto_ds') &&
      !r.continuedFrom &&
      ['objectsCreated', 'pause', 'resume', 'noSuchSignal', 'settings'].every((s) => r.signals.has(s)),
  },
  {
    name: 'datasource-continued-by-history-length',
    pins: 'an @auto data source run that starts from carried state and continues as new when its history passes maxHistoryEvents',
    pick: (r) => isDataSource(r, 'auto_ds') && r.continuedFrom && r.continuedAsNew,
  },
  {
    name: 'datasource-auto-polls-after-failed-first-sync',
    pins: 'an @auto data source whose first sync fails: it polls on, and a poll that finds a new file starts a job',
    pick: (r) => isDataSource(r, 'fail_ds') && !r.continuedFrom,
  },
  {
    name: 'datasource-cron',
    pins: 'a cron data source: no sync at deploy, a sync asked by its schedule',
    pick: (r) => isDataSource(r, 'cron_ds') && !r.continuedFrom && r.signals.has('syncNow'),
  },
  {
    name: 'job-first-sync-batches-large-file-and-failures',
    pins: 'a rate-limited sync job: waits for tokens, small files in batches (one undecodable, one with a quarantined row), a >16 MB file alone',
    pick: (r) =>
      isJob(r, 'once_ds', 'deploy') &&
      r.activities.has('ingestObjects') &&
      r.activities.has('ingestObject') &&
      r.signals.has('tokenGrant'),
  },
  {
    name: 'job-sync-now',
    pins: 'a sync job asked for by a sync-now request: lists from the cursor, loads the new file',
    pick: (r) => isJob(r, 'once_ds', 'record'),
  },
  {
    name: 'job-event-objects-verified',
    pins: 'a job handed event objects: checks them against S3 (verifyObjects, stale ETag replaced) before it loads',
    pick: (r) =>
      r.type === 'jobWorkflow' &&
      Array.isArray(r.input.objects) &&
      r.input.objects.length > 0 &&
      r.activities.has('verifyObjects'),
  },
  {
    name: 'job-first-sync-failed',
    pins: 'a first sync job whose only file fails for good (status error, the version remembered as failed)',
    pick: (r) => isJob(r, 'fail_ds', 'deploy'),
  },
  {
    name: 'job-poll-sync',
    pins: 'a job started by a poll that found work',
    pick: (r) => isJob(r, 'fail_ds', 'poll'),
  },
  {
    name: 'job-scheduled-sync',
    pins: "a sync job asked for by the data source's cron schedule",
    pick: (r) => isJob(r, 'cron_ds', 'schedule'),
  },
  {
    name: 'job-sample',
    pins: 'a sample job: empties the sample table (prepareSampleTables), lists without the ledger, at most 2 files',
    pick: (r) => r.type === 'jobWorkflow' && r.input.kind === 'sample' && r.activities.has('prepareSampleTables'),
  },
  {
    name: 'limiter-grants-and-hostile-signals',
    pins: 'the workspace limiter: grants tokens by signal, waits for tokens to come back, refuses malformed signals',
    pick: (r) =>
      r.type === 'workspaceLimiterWorkflow' && r.signals.has('tokenRequest') && r.signals.has('configureLimiter'),
  },
  {
    name: 'scheduled-sync',
    pins: "a cron schedule's action: signals syncNow to its data source",
    pick: (r) => r.type === 'scheduledSyncWorkflow',
  },
  {
    name: 'expire-rows',
    pins: "an ENGINE_TTL schedule's action: deletes the expired rows (expireRows activity)",
    pick: (r) => r.type === 'expireRowsWorkflow' && r.activities.has('expireRows'),
  },
  {
    name: 'sql-query',
    pins: '`s3c sql` / `GET /v0/sql`: one read-only query answered by the runSql activity on the SQL task queue',
    pick: (r) => r.type === 'sqlQueryWorkflow' && r.activities.has('runSql'),
  },
  {
    name: 'queue-intake-round-retried-then-stopped',
    pins: 'the SQS queue intake of a connection: its drainQueue round fails (no queue) and is retried, until the stop signal of teardown ends it',
    pick: (r) => r.type === 'queueIntakeWorkflow' && r.signals.has('stopQueueIntake'),
  },
];

/** A CSV of more than SMALL_FILE_BYTES (16 MB), so that it is ingested alone (ingestObject). */
function largeCsv(): string {
  const rows: string[] = ['id,name'];
  for (let i = 0; rows.length < 1_500_000; i++) rows.push(`${i},name-${i}`);
  return `${rows.join('\n')}\n`;
}

function ttlDataSource(): string {
  return [
    'SCHEMA >',
    '    `id` Int32 `json:$.id`,',
    '    `ts` DateTime `json:$.ts`',
    '',
    'ENGINE_TTL "ts + toIntervalDay(2)"',
    '',
    'IMPORT_CONNECTION_NAME minio',
    'IMPORT_BUCKET_URI s3://rec/ttl/*.csv',
    'IMPORT_SCHEDULE @once',
    '',
  ].join('\n');
}

/** `deploy` with the stack's workspace settings, changed by `workspace`. */
async function deploy(t: TestStack, workspace: Partial<TestStack['workspace']> = {}): Promise<void> {
  await execFileAsync(process.execPath, [join(repoRoot, 'bin', 's3c.js'), 'deploy'], {
    cwd: t.projectDir,
    env: cliEnv(t.stack.temporal.temporal.address, { ...t.workspace, ...workspace }),
  });
}

/** Files and data sources; the first syncs at deploy. */
async function deployProject(t: TestStack): Promise<void> {
  await t.createBucket('rec');
  await t.put('rec', 'once/a.csv', 'id,name\n1,a\n2,b\n');
  await t.put('rec', 'once/bad.csv.gz', 'not gzip at all');
  await t.put('rec', 'once/c.csv', 'id,name\nx,c\n3,d\n');
  await t.put('rec', 'once/large.csv', largeCsv());
  await t.put('rec', 'auto/a.ndjson', '{"id":1,"name":"a"}\n');
  await t.put('rec', 'fail/bad.csv.gz', 'not gzip at all');
  await t.put('rec', 'cron/a.csv', 'id,name\n1,a\n');
  const old = new Date(Date.now() - 72 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
  await t.put('rec', 'ttl/a.csv', `id,ts\n1,${old}\n2,${new Date().toISOString().slice(0, 19).replace('T', ' ')}\n`);
  t.write('minio.connection', minioConnection());
  t.write('once_ds.datasource', idNameDataSource('s3://rec/once/*', { schedule: '@once' }));
  t.write('auto_ds.datasource', idNameDataSource('s3://rec/auto/*.ndjson', { schedule: '@auto' }));
  t.write('fail_ds.datasource', idNameDataSource('s3://rec/fail/*', { schedule: '@auto' }));
  t.write('cron_ds.datasource', idNameDataSource('s3://rec/cron/*.csv', { schedule: '"0 0 1 1 *"' }));
  t.write('ttl_ds.datasource', ttlDataSource());
  await deploy(t);
  await t.waitForState('once_ds', (s) => s.initialSyncDone && s.status === 'resting', 180_000);
  await t.waitForState('auto_ds', (s) => s.initialSyncDone, 120_000);
}

/** Sync now on @once after a new file; an event, pause and resume on @auto. */
async function requestsAndEvents(t: TestStack, client: Client, ws: string): Promise<void> {
  await t.put('rec', 'once/d.csv', 'id,name\n4,e\n');
  const before = await dataSourceState(client, ws, 'once_ds');
  await requestSync(client, ws, 'once_ds', { origin: 'record', requestId: 'r1' });
  await waitForSync(client, ws, 'once_ds', before);

  await t.put('rec', 'auto/b.ndjson', '{"id":2,"name":"b"}\n');
  await client.workflow.getHandle(dataSourceWorkflowId(ws, 'auto_ds')).signal(objectsCreatedSignal, [
    {
      bucket: 'rec',
      key: 'auto/b.ndjson',
      etag: 'stale-etag',
      size: 20,
      lastModified: new Date().toISOString(),
      format: 'ndjson',
      compression: 'none',
    },
  ]);
  await t.waitForState('auto_ds', (s) => s.counters.filesLoaded >= 2, 60_000);
  await setPaused(client, ws, 'auto_ds', true);
  await setPaused(client, ws, 'auto_ds', false);
}

/** Signals sent by hand: malformed ones are ignored and recorded, syncNow without input is a request. */
async function handSignals(t: TestStack, client: Client, ws: string): Promise<void> {
  const auto = client.workflow.getHandle(dataSourceWorkflowId(ws, 'auto_ds'));
  const before = await dataSourceState(client, ws, 'auto_ds');
  await auto.signal('syncNow');
  await auto.signal('syncNow', 42);
  await auto.signal('objectsCreated', null);
  await auto.signal('redeploy', {});
  await auto.signal('jobProgress', 'x');
  await auto.signal('settings', { pollIntervalSeconds: -1 });
  await auto.signal('noSuchSignal', 1);
  const { address, namespace } = t.stack.temporal.temporal;
  await execFileAsync(join(repoRoot, '.tools', 'bin', 'temporal'), [
    'workflow',
    'signal',
    '--address',
    address,
    '--namespace',
    namespace,
    '--workflow-id',
    dataSourceWorkflowId(ws, 'auto_ds'),
    '--name',
    'syncNow',
    '--input',
    '"x"',
    '--input-meta',
    'encoding=foo/bar',
  ]);
  const limiter = client.workflow.getHandle(limiterWorkflowId(ws));
  await limiter.signal('configureLimiter', {});
  await limiter.signal('tokenRequest', null);
  await limiter.signal('noSuchSignal', 1);
  await waitForSync(client, ws, 'auto_ds', before);
  await t.waitForState('auto_ds', (s) => (s.rejectedSignals?.count ?? 0) >= 7, 60_000);
}

/** A first sync that fails, then a poll that finds a new file; a sample job; the cron and TTL schedules' actions; a query. */
async function failuresSamplesSchedules(t: TestStack, client: Client, ws: string): Promise<void> {
  await t.waitForState('fail_ds', (s) => s.counters.syncs >= 1 && s.status === 'idle', 60_000);
  await t.put('rec', 'fail/good.csv', 'id,name\n7,g\n');
  await t.waitForState('fail_ds', (s) => s.counters.filesLoaded >= 1, 60_000);

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

  await client.schedule.getHandle(`schedule/${ws}/cron_ds`).trigger();
  await t.waitForState('cron_ds', (s) => s.counters.syncs >= 1, 60_000);
  await t.waitForState('ttl_ds', (s) => s.initialSyncDone, 60_000);
  await client.schedule.getHandle(`ttl/${ws}/ttl_ds`).trigger();
  await waitForCompleted(client, 'expireRowsWorkflow');
  await runSqlQuery(client, 'SELECT count(*) AS n FROM once_ds', {
    temporal: t.stack.temporal,
    workspace: t.workspace,
  });
}

/**
 * The queue intake (docs/events-aws.md), started as deploy starts it, on a
 * queue that MinIO does not have: its round fails and is retried, until the
 * stop signal that teardown sends ends it.
 */
async function queueIntake(t: TestStack, client: Client, ws: string): Promise<void> {
  const { control, ingest } = t.stack.temporal.taskQueues;
  const input: QueueIntakeInput = {
    workspace: ws,
    connectionName: 'minio',
    queueName: 's3c-rec-absent',
    activityTaskQueue: ingest,
  };
  const handle = await client.workflow.start('queueIntakeWorkflow', {
    workflowId: queueIntakeWorkflowId(ws, 'minio'),
    taskQueue: control,
    args: [input],
  });
  await sleep(4_000);
  await handle.signal(stopQueueIntakeSignal);
  await handle.result();
}

async function waitForCompleted(client: Client, type: string): Promise<void> {
  for (let i = 0; i < 120; i++) {
    if ((await client.workflow.count(`WorkflowType = '${type}' AND ExecutionStatus = 'Completed'`)).count > 0) return;
    await sleep(500);
  }
  throw new Error(`no ${type} completed`);
}

/**
 * A redeploy that lowers maxHistoryEvents (the settings signal; @auto data
 * sources then continue as new by length) and turns once_ds @auto (a redeploy
 * signal: it continues as new with the new definition).
 */
async function continueAsNew(t: TestStack, client: Client, ws: string): Promise<void> {
  await deploy(t);
  await sleep(3_000);
  t.write('once_ds.datasource', idNameDataSource('s3://rec/once/*', { schedule: '@auto' }));
  await deploy(t, { maxHistoryEvents: 60 });
  await t.waitForState('once_ds', (s) => s.schedule === '@auto' && s.counters.syncs >= 3, 60_000);
  // Runs continued by length: polls every 2 s add ~8 events, so each run ends within a minute.
  for (let i = 0; i < 120 && (await runsOf(client, dataSourceWorkflowId(ws, 'auto_ds'))) < 3; i++) await sleep(1_000);
}

async function runsOf(client: Client, workflowId: string): Promise<number> {
  const { count } = await client.workflow.count(`WorkflowId = '${workflowId}'`);
  return count;
}

/** Every run of the stack (a running one up to now), oldest first, with what its history shows. */
async function allRuns(client: Client): Promise<Run[]> {
  const runs: Run[] = [];
  for await (const wf of client.workflow.list()) {
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    runs.push(readRun(wf.workflowId, historyToJSON(history)));
  }
  return runs.reverse();
}

function decode(payload: { data?: string } | undefined): Record<string, unknown> {
  if (!payload?.data) return {};
  return JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as Record<string, unknown>;
}

interface HistoryEvent {
  eventType: string;
  workflowExecutionStartedEventAttributes?: Record<string, unknown>;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  workflowExecutionSignaledEventAttributes?: { signalName?: string };
}

function readRun(workflowId: string, historyJson: string): Run {
  const events = (JSON.parse(historyJson) as { events: HistoryEvent[] }).events;
  const started = events[0]?.workflowExecutionStartedEventAttributes ?? {};
  const names = (of: (e: HistoryEvent) => string | undefined): Set<string> =>
    new Set(events.map(of).filter((n) => n !== undefined));
  return {
    workflowId,
    type: (started.workflowType as { name: string }).name,
    input: decode((started.input as { payloads?: { data?: string }[] } | undefined)?.payloads?.[0]),
    activities: names((e) => e.activityTaskScheduledEventAttributes?.activityType?.name),
    signals: names((e) => e.workflowExecutionSignaledEventAttributes?.signalName),
    continuedFrom: typeof started.continuedExecutionRunId === 'string' && started.continuedExecutionRunId !== '',
    continuedAsNew: events.some((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW'),
    // The same JSON as `temporal workflow show --output json`.
    json: `{"workflowId":${JSON.stringify(workflowId)},"history":${historyJson}}\n`,
  };
}

/** Replaces the recorded histories with one file per pin, and the README that says what each pins. */
function writePins(runs: Run[]): void {
  const picked = PINS.map((pin) => ({ pin, run: runs.find(pin.pick) }));
  const missing = picked.filter((p) => !p.run).map((p) => p.pin.name);
  if (missing.length > 0) throw new Error(`no run shows what these pin: ${missing.join(', ')}`);
  if (new Set(picked.map((p) => p.run)).size < PINS.length)
    throw new Error('two pins picked the same run: make their picks apart');
  mkdirSync(OUT, { recursive: true });
  for (const f of readdirSync(OUT)) rmSync(join(OUT, f), { recursive: true });
  const lines = [
    '# Recorded workflow histories',
    '',
    'Replayed by `test/unit/replay.test.ts` against the current workflow code;',
    'recorded by `npm run record-histories` (scripts/record-histories.ts), which picks, for each file, the first run whose',
    'history shows what it pins. Re-record only on purpose (see docs/architecture.md, "Changing workflow code").',
    '',
    '| File | Type | Pins |',
    '|---|---|---|',
  ];
  for (const { pin, run } of picked as { pin: Pin; run: Run }[]) {
    writeFileSync(join(OUT, `${pin.name}.json`), run.json);
    lines.push(`| \`${pin.name}.json\` | ${run.type} | ${pin.pins} |`);
    console.log(`recorded ${pin.name}.json (${run.type} ${run.workflowId})`);
  }
  writeFileSync(join(OUT, 'README.md'), `${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const t = await startTestStack({
    workspace: { pollIntervalSeconds: 2, filesPerMinute: 2, rateLimitPeriodSeconds: 2 },
  });
  try {
    const client = t.stack.client;
    const ws = t.workspace.workspace;
    await deployProject(t);
    await requestsAndEvents(t, client, ws);
    await handSignals(t, client, ws);
    await failuresSamplesSchedules(t, client, ws);
    await continueAsNew(t, client, ws);
    await queueIntake(t, client, ws);
    await sleep(1_000);
    writePins(await allRuns(client));
  } finally {
    await t.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
