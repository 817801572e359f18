/**
 * Schedules on a real Temporal dev server, MinIO and DuckDB (issue 19):
 *
 * - item 6: ENGINE_TTL is applied by a Temporal Schedule per data source that
 *   deletes expired rows (its last count in `datasource ls`); ENGINE settings
 *   DuckDB cannot honour are warned about at deploy; removing ENGINE_TTL or
 *   the data source removes the schedule; a TTL outside the grammar is refused.
 * - item 7: `datasource sync NAME --at/--every` plan syncs as Temporal
 *   Schedules that `temporal schedule list` shows, `--unschedule` removes them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { toolPath } from '../../src/local/tools';
import { eventually } from '../helpers/faults';
import { minioConnection, startTestStack, type TestStack } from '../helpers/stack';

const run = promisify(execFile);

/** A UTC wall time `hoursAgo` hours before now, as DuckDB reads a DateTime in CSV. */
function hoursAgo(hours: number): string {
  return new Date(Date.now() - hours * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

function expiringDataSource(options: { ttl?: string; extra?: string[] } = {}): string {
  return [
    'SCHEMA >',
    '    `id` Int32 `json:$.id`,',
    '    `ts` DateTime `json:$.ts`',
    '',
    'ENGINE "ReplacingMergeTree"',
    'ENGINE_PARTITION_KEY "toYYYYMM(ts)"',
    ...(options.ttl !== undefined ? [`ENGINE_TTL "${options.ttl}"`] : []),
    ...(options.extra ?? []),
    '',
    'IMPORT_CONNECTION_NAME minio',
    'IMPORT_BUCKET_URI s3://sched/expiring/*.csv',
    'IMPORT_SCHEDULE @once',
    '',
  ].join('\n');
}

describe('schedules: ENGINE_TTL and planned syncs', () => {
  let t: TestStack;

  before(async () => {
    t = await startTestStack();
    await t.createBucket('sched');
    t.write('minio.connection', minioConnection());
  });

  after(async () => {
    await t?.stop();
  });

  async function ids(table: string): Promise<number[]> {
    const rows = await t.stack.worker!.sink.query(`SELECT id FROM ${table} ORDER BY id`);
    return rows.map((r) => Number(r.id));
  }

  async function deploy(): Promise<string> {
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}`);
    return out.stdout;
  }

  /** The schedule ids `temporal schedule list` prints (the operator's view). */
  async function temporalScheduleIds(): Promise<string[]> {
    const { stdout } = await run(toolPath('temporal'), [
      'schedule',
      'list',
      '--address',
      t.stack.temporal.temporal.address,
      '--namespace',
      t.stack.temporal.temporal.namespace,
      '-o',
      'json',
    ]);
    const list = JSON.parse(stdout || '[]') as { scheduleId: string }[];
    return list.map((s) => s.scheduleId).sort();
  }

  async function scheduleExists(id: string): Promise<boolean> {
    try {
      await t.stack.client.schedule.getHandle(id).describe();
      return true;
    } catch (err) {
      if ((err as Error).name === 'ScheduleNotFoundError') return false;
      throw err;
    }
  }

  it('ENGINE_TTL: the schedule deletes expired rows, ls shows the count; unsupported ENGINE settings are warned about', async () => {
    await t.put(
      'sched',
      'expiring/1.csv',
      `id,ts\n1,${hoursAgo(72)}\n2,${hoursAgo(1)}\n3,${hoursAgo(49)}\n4,${hoursAgo(47)}\n`,
    );
    t.write('expiring.datasource', expiringDataSource({ ttl: 'ts + toIntervalDay(2)' }));
    const out = await deploy();
    // Warnings name the setting, the destination and where it is written; deploy still succeeds.
    assert.match(
      out,
      /^! warning: \/.*\/expiring\.datasource:5: ENGINE "ReplacingMergeTree" of data source expiring is not applied by the DuckDB destination: rows with the same sorting key are not de-duplicated/m,
    );
    assert.match(
      out,
      /^! warning: \/.*\/expiring\.datasource:6: ENGINE_PARTITION_KEY "toYYYYMM\(ts\)" of data source expiring is not applied by the DuckDB destination: DuckDB tables have no partitions$/m,
    );
    assert.match(out, /^created TTL schedule ttl\/local\/expiring /m);
    await t.waitForState('expiring', (s) => s.initialSyncDone && s.counters.rows === 4);
    assert.deepEqual(await ids('expiring'), [1, 2, 3, 4]);

    const schedule = t.stack.client.schedule.getHandle('ttl/local/expiring');
    const described = await schedule.describe();
    assert.equal(described.action.type === 'startWorkflow' && described.action.workflowType, 'expireRowsWorkflow');
    await schedule.trigger();
    await eventually(
      'expired rows deleted',
      async () => ((await ids('expiring')).length === 2 ? true : undefined),
      60_000,
    );
    assert.deepEqual(await ids('expiring'), [2, 4]);

    const ls = await eventually(
      'ls shows the TTL run',
      async () => {
        const r = await t.cli(['datasource', 'ls']);
        return /^expiring: ENGINE_TTL: deleted 2 at /m.test(r.stdout) ? r.stdout : undefined;
      },
      30_000,
    );
    assert.match(ls, /^expiring: ENGINE_TTL: deleted 2 at \d{4}-/m);
  });

  it('a TTL run whose input was edited to something that does not fit reports it and deletes nothing', async () => {
    const before = await ids('expiring');
    const result = await t.stack.client.workflow.execute('expireRowsWorkflow', {
      workflowId: 'expiring-ttl-edited',
      taskQueue: t.stack.temporal.taskQueues.control,
      args: [
        {
          workspace: 'local',
          dataSource: 'expiring',
          ttl: { column: 'ts', amount: 1, unit: 'day); DROP TABLE expiring; --' },
          ingestTaskQueue: t.stack.temporal.taskQueues.ingest,
        },
      ],
    });
    assert.equal((result as { dataSource: string }).dataSource, 'expiring');
    assert.match((result as { refused: string }).refused, /^input does not fit: /);
    assert.deepEqual(await ids('expiring'), before);
  });

  it('ENGINE_TTL outside the grammar is refused with file:line, and nothing changes', async () => {
    t.write(
      'hostile.datasource',
      expiringDataSource({ ttl: "ts + toIntervalDay(1) TO DISK 'x'" }).replace('expiring/*.csv', 'hostile/*.csv'),
    );
    try {
      const out = await t.cli(['deploy']);
      assert.notEqual(out.code, 0);
      assert.match(
        out.stderr,
        /hostile\.datasource:7: Invalid ENGINE_TTL: found "ts \+ toIntervalDay\(1\) TO DISK 'x'", expected /,
      );
      assert.equal(await scheduleExists('ttl/local/hostile'), false);
    } finally {
      rmSync(join(t.projectDir, 'hostile.datasource'));
    }
  });

  it('removing ENGINE_TTL, or the data source, removes its schedule', async () => {
    t.write('expiring.datasource', expiringDataSource());
    const out = await deploy();
    assert.match(out, /^deleted TTL schedule ttl\/local\/expiring$/m);
    assert.equal(await scheduleExists('ttl/local/expiring'), false);

    // A data source without import has a table too: its TTL gets a schedule, gone with the file.
    t.write('archive.datasource', 'SCHEMA >\n    `id` Int32,\n    `day` Date\n\nENGINE_TTL "day + INTERVAL 30 DAY"\n');
    assert.match(await deploy(), /^created TTL schedule ttl\/local\/archive /m);
    assert.equal(await scheduleExists('ttl/local/archive'), true);
    rmSync(join(t.projectDir, 'archive.datasource'));
    assert.match(await deploy(), /^deleted TTL schedule ttl\/local\/archive$/m);
    assert.equal(await scheduleExists('ttl/local/archive'), false);
  });

  it('datasource sync --at and --every plan syncs of an @once data source as schedules; --unschedule removes them', async () => {
    await t.put('sched', 'planned/1.csv', 'id,ts\n1,2024-01-01 00:00:00\n');
    t.write(
      'planned.datasource',
      expiringDataSource()
        .replace('expiring/*.csv', 'planned/*.csv')
        .replace(/^ENGINE.*\n/gm, ''),
    );
    await deploy();
    await t.waitForState('planned', (s) => s.initialSyncDone && s.status === 'resting' && s.counters.rows === 1);

    // --at: one sync at a planned instant (a few seconds from now; the CLI alone takes over 6 s to start on a loaded machine).
    await t.put('sched', 'planned/2.csv', 'id,ts\n2,2024-01-02 00:00:00\n');
    const at = new Date(Date.now() + 15_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const planned = await t.cli(['datasource', 'sync', 'planned', '--at', at]);
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stdout, new RegExp(`schedule sync/local/planned/at-${at.replace(/[.+]/g, '\\$&')}`));
    await t.waitForState('planned', (s) => s.counters.rows === 2, 60_000);
    assert.deepEqual(await ids('planned'), [1, 2]);

    // --every: a cron schedule; an operator triggers it from the Temporal side.
    await t.put('sched', 'planned/3.csv', 'id,ts\n3,2024-01-03 00:00:00\n');
    const every = await t.cli(['datasource', 'sync', 'planned', '--every', '0 3 * * *']);
    assert.equal(every.code, 0, every.stderr);
    const everyId = 'sync/local/planned/every-0_3_*_*_*';
    assert.match(every.stdout, /schedule sync\/local\/planned\/every-0_3_\*_\*_\*/);
    const listed = await eventually(
      'temporal schedule list shows both',
      async () => {
        const list = await temporalScheduleIds();
        return list.includes(everyId) && list.includes(`sync/local/planned/at-${at}`) ? list : undefined;
      },
      30_000,
    );
    assert.ok(listed.includes(everyId));
    await run(toolPath('temporal'), [
      'schedule',
      'trigger',
      '--schedule-id',
      everyId,
      '--address',
      t.stack.temporal.temporal.address,
      '--namespace',
      t.stack.temporal.temporal.namespace,
    ]);
    await t.waitForState('planned', (s) => s.counters.rows === 3, 60_000);
    assert.deepEqual(await ids('planned'), [1, 2, 3]);

    const bad = await t.cli(['datasource', 'sync', 'planned', '--at', '2001-01-01T00:00:00Z']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--at 2001-01-01T00:00:00Z is in the past/);

    const removed = await t.cli(['datasource', 'sync', 'planned', '--unschedule']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /^deleted schedule sync\/local\/planned\/every-0_3_\*_\*_\*$/m);
    assert.match(removed.stdout, /^deleted schedule sync\/local\/planned\/at-/m);
    await eventually(
      'temporal schedule list no longer shows them',
      async () => ((await temporalScheduleIds()).some((id) => id.startsWith('sync/local/planned/')) ? undefined : true),
      30_000,
    );
  });
});
