/**
 * Event intake (R9.2): parsing of recorded event shapes (EventBridge, S3
 * notification records, SNS envelopes, MinIO's webhook), key decoding,
 * routing to `@auto` data sources, stale-event dropping, and the handler's
 * one signal per data source per request.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DataSourceDef, ImportSchedule } from '../../src/datafiles/types';
import { writeDeployment } from '../../src/deploy/store';
import {
  compareSequencers,
  decodeRecordKey,
  EventShapeError,
  handleS3Events,
  parseS3Events,
  routeObjects,
  SequencerMemory,
  type CreatedObject,
} from '../../src/events';

const fixturesDir = join(import.meta.dirname, '..', 'fixtures', 'events');
function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(fixturesDir, name), 'utf8')) as unknown;
}

function ds(
  name: string,
  bucketUri: string,
  schedule: ImportSchedule = { kind: 'auto' },
  format?: 'csv' | 'ndjson' | 'parquet',
): DataSourceDef {
  return {
    name,
    path: `${name}.datasource`,
    schema: [],
    engine: 'MergeTree',
    import: { connectionName: 'c', bucketUri, schedule, ...(format ? { format } : {}) },
  };
}

function created(key: string, extra: Partial<CreatedObject> = {}): CreatedObject {
  return {
    bucket: 'landing',
    key,
    etag: 'e1',
    size: 10,
    eventTime: '2024-05-02T10:15:30.000Z',
    source: 'eventbridge',
    ...extra,
  };
}

describe('parseS3Events', () => {
  it('reads an EventBridge Object Created event; its key is not URL-encoded', () => {
    const parsed = parseS3Events(fixture('eventbridge-object-created.json'));
    assert.deepEqual(parsed.objects, [
      {
        bucket: 'landing',
        key: 'events/2024 05/data+1 été.csv',
        etag: 'b1946ac92492d2347c6235b4d2611184',
        size: 1024,
        sequencer: '00617F08299329D189',
        eventTime: '2024-05-02T10:15:30.000Z',
        source: 'eventbridge',
      },
    ]);
    assert.equal(parsed.ignored, 0);
    assert.deepEqual(parsed.invalid, []);
  });

  it('reads the EventBridge event of the emulator moto, whose ETag field is `eTag`', () => {
    const parsed = parseS3Events(fixture('eventbridge-moto-object-created.json'));
    assert.deepEqual(parsed.invalid, []);
    assert.deepEqual(parsed.objects, [
      {
        bucket: 'shape-bucket',
        key: 'in/a b+c%.csv',
        etag: '5d41402abc4b2a76b9719d911017c592',
        size: 5,
        sequencer: '617f08299329d189',
        eventTime: '2026-12-03T16:12:36.000Z',
        source: 'eventbridge',
      },
    ]);
  });

  it('ignores EventBridge events that are not Object Created', () => {
    const parsed = parseS3Events(fixture('eventbridge-object-deleted.json'));
    assert.deepEqual(parsed.objects, []);
    assert.equal(parsed.ignored, 1);
  });

  it('reads an array of EventBridge events', () => {
    const parsed = parseS3Events([
      fixture('eventbridge-object-created.json'),
      fixture('eventbridge-object-deleted.json'),
    ]);
    assert.equal(parsed.objects.length, 1);
    assert.equal(parsed.ignored, 1);
  });

  it('reads S3 notification records: URL-decoded keys, creations only', () => {
    const parsed = parseS3Events(fixture('s3-notification-records.json'));
    assert.deepEqual(
      parsed.objects.map((o) => [o.key, o.etag, o.size, o.sequencer, o.eventTime, o.source]),
      [
        [
          'events/my file+1 été.csv',
          'd41d8cd98f00b204e9800998ecf8427e',
          2048,
          '0055AED6DCD90281E5',
          '2024-05-02T10:15:30.123Z',
          's3-record',
        ],
        [
          'events/big.ndjson.gz',
          '9b2cf535f27731c974343645a3985328-20',
          104857600,
          '0055AED6DCD90281F0',
          '2024-05-02T10:15:31.000Z',
          's3-record',
        ],
      ],
    );
    assert.equal(parsed.ignored, 1, 'the ObjectRemoved:Delete record is ignored');
  });

  it('unwraps an SNS Notification whose Message is an S3 notification', () => {
    const parsed = parseS3Events(fixture('sns-notification.json'));
    assert.deepEqual(
      parsed.objects.map((o) => [o.bucket, o.key]),
      [['landing', 'events/my file+1 été.csv']],
    );
  });

  it('reports an SNS SubscriptionConfirmation without objects', () => {
    const parsed = parseS3Events(fixture('sns-subscription-confirmation.json'));
    assert.deepEqual(parsed.objects, []);
    assert.equal(parsed.subscriptions.length, 1);
    assert.equal(parsed.subscriptions[0]?.topicArn, 'arn:aws:sns:us-east-1:111122223333:s3-landing-events');
  });

  it("reads MinIO's webhook body (s3:-prefixed event names, QueryEscape'd keys)", () => {
    const parsed = parseS3Events(fixture('minio-webhook.json'));
    assert.deepEqual(
      parsed.objects.map((o) => [o.bucket, o.key, o.etag, o.size]),
      [['landing', 'events/report 2024+q1.csv', '0f343b0931126a20f133d67c2b018a3b', 64]],
    );
  });

  it('strips quotes from ETags', () => {
    const body = {
      Records: [
        {
          eventName: 'ObjectCreated:Copy',
          s3: { bucket: { name: 'b' }, object: { key: 'a.csv', eTag: '"abc"', size: 1 } },
        },
      ],
    };
    assert.equal(parseS3Events(body).objects[0]?.etag, 'abc');
  });

  it('ignores the S3 test event and counts creations that lack fields as invalid', () => {
    assert.equal(parseS3Events({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' }).ignored, 1);
    const parsed = parseS3Events({
      Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: 'a.csv' } } }],
    });
    assert.equal(parsed.objects.length, 0);
    assert.match(
      parsed.invalid[0] ?? '',
      /expected s3\.bucket\.name, s3\.object\.key, s3\.object\.eTag and s3\.object\.size/,
    );
  });

  it('refuses a body that is no event at all', () => {
    assert.throws(() => parseS3Events({ hello: 'world' }), EventShapeError);
    assert.throws(() => parseS3Events('text'), EventShapeError);
    assert.throws(() => parseS3Events({ Type: 'Notification', Message: 'not json' }), /Message is not JSON/);
  });
});

describe('decodeRecordKey', () => {
  it('decodes form encoding: + is a space, %2B a plus, UTF-8 escapes', () => {
    assert.equal(decodeRecordKey('a+b'), 'a b');
    assert.equal(decodeRecordKey('a%2Bb'), 'a+b');
    assert.equal(decodeRecordKey('caf%C3%A9%2F%E2%82%AC.csv'), 'café/€.csv');
    assert.equal(decodeRecordKey('%F0%9F%98%80.json'), '😀.json');
    assert.equal(decodeRecordKey('dir%2Fsub%2Fx.csv'), 'dir/sub/x.csv');
  });

  it('keeps a malformed escape literally', () => {
    assert.equal(decodeRecordKey('100%+done%20now.csv'), '100% done now.csv');
  });
});

describe('routeObjects', () => {
  const defs = [
    ds('events', 's3://landing/events/*.csv'),
    ds('everything', 's3://landing/events/'),
    ds('once', 's3://landing/events/*.csv', { kind: 'once' }),
    ds('demand', 's3://landing/**', { kind: 'on-demand' }),
    ds('other_bucket', 's3://other/events/*.csv'),
    ds('forced', 's3://landing/raw/*', { kind: 'auto' }, 'ndjson'),
  ];

  it('routes each object to every @auto data source whose URI matches, and only those', () => {
    const routing = routeObjects(
      [created('events/a.csv'), created('events/sub/b.parquet'), created('elsewhere/c.csv')],
      defs,
    );
    assert.deepEqual([...routing.byDataSource.keys()].sort(), ['events', 'everything']);
    assert.deepEqual(
      routing.byDataSource.get('events')?.map((v) => v.key),
      ['events/a.csv'],
    );
    assert.deepEqual(
      routing.byDataSource.get('everything')?.map((v) => [v.key, v.format]),
      [
        ['events/a.csv', 'csv'],
        ['events/sub/b.parquet', 'parquet'],
      ],
    );
    assert.equal(routing.unmatched, 1);
  });

  it('gives the object version the workflow loads: ETag, size, event time, format and compression', () => {
    const routing = routeObjects([created('events/x.csv.gz', { etag: 'abc', size: 77 })], [defs[1]!]);
    assert.deepEqual(routing.byDataSource.get('everything'), [
      {
        bucket: 'landing',
        key: 'events/x.csv.gz',
        etag: 'abc',
        size: 77,
        lastModified: '2024-05-02T10:15:30.000Z',
        format: 'csv',
        compression: 'gzip',
      },
    ]);
  });

  it('IMPORT_FORMAT applies to every matched key, whatever its extension (issue #17)', () => {
    const routing = routeObjects([created('raw/a.txt'), created('raw/b.csv'), created('raw/c.tbl.gz')], defs);
    assert.deepEqual(
      routing.byDataSource.get('forced')?.map((v) => [v.key, v.format, v.compression]),
      [
        ['raw/a.txt', 'ndjson', 'none'],
        ['raw/b.csv', 'ndjson', 'none'],
        ['raw/c.tbl.gz', 'ndjson', 'gzip'],
      ],
    );
    assert.equal(routing.unmatched, 0);
  });

  it('without IMPORT_FORMAT, skips keys without a supported extension', () => {
    const routing = routeObjects(
      [created('loose/a.txt'), created('loose/b.csv')],
      [ds('loose', 's3://landing/loose/*', { kind: 'auto' })],
    );
    assert.deepEqual(
      routing.byDataSource.get('loose')?.map((v) => v.key),
      ['loose/b.csv'],
    );
    assert.equal(routing.unmatched, 1);
  });

  it('never routes to another bucket, nor to @once or @on-demand data sources', () => {
    const routing = routeObjects([created('events/a.csv', { bucket: 'other' })], defs);
    assert.deepEqual([...routing.byDataSource.keys()], ['other_bucket']);
    const none = routeObjects([created('anything/a.csv')], defs);
    assert.equal(none.byDataSource.size, 0);
  });

  it('collapses duplicate versions in one batch', () => {
    const routing = routeObjects(
      [created('events/a.csv'), created('events/a.csv'), created('events/a.csv', { etag: 'e2' })],
      [defs[0]!],
    );
    assert.deepEqual(
      routing.byDataSource.get('events')?.map((v) => v.etag),
      ['e1', 'e2'],
    );
  });

  it('matches keys with spaces, plus signs and unicode literally', () => {
    const routing = routeObjects([created('events/my file+1 été.csv')], defs);
    assert.deepEqual(
      routing.byDataSource.get('events')?.map((v) => v.key),
      ['events/my file+1 été.csv'],
    );
  });

  it('IMPORT_FROM_TIMESTAMP: an object created before the instant goes nowhere and is counted; at and after it, it is routed', () => {
    const since = ds('since', 's3://landing/since/*.csv');
    since.import!.fromTimestamp = '2024-05-02T10:00:00Z';
    const routing = routeObjects(
      [
        created('since/before.csv', { eventTime: '2024-05-02T09:59:59.999Z' }),
        created('since/at.csv', { eventTime: '2024-05-02T10:00:00.000Z' }),
        created('since/after.csv', { eventTime: '2024-05-02T10:00:00.001Z' }),
        created('nowhere/x.csv'),
      ],
      [since, ds('all', 's3://landing/**/*.csv')],
    );
    assert.deepEqual(
      routing.byDataSource.get('since')?.map((v) => v.key),
      ['since/at.csv', 'since/after.csv'],
    );
    assert.deepEqual(
      routing.byDataSource.get('all')?.map((v) => v.key),
      ['since/before.csv', 'since/at.csv', 'since/after.csv', 'nowhere/x.csv'],
    );
    assert.equal(routing.olderThanFromTimestamp, 0, 'another data source took the old object');
    const alone = routeObjects(
      [created('since/before.csv', { eventTime: '2024-05-02T09:59:59.999Z' }), created('nowhere/x.csv')],
      [since],
    );
    assert.equal(alone.byDataSource.size, 0);
    assert.equal(alone.olderThanFromTimestamp, 1);
    assert.equal(alone.unmatched, 1);
  });
});

describe('sequencers', () => {
  it('compare as zero-padded hex', () => {
    assert.ok(compareSequencers('0055AED6DCD90281E5', '55AED6DCD90281F0') < 0);
    assert.ok(compareSequencers('FF', '0100') < 0);
    assert.equal(compareSequencers('00ab', 'AB'), 0);
  });

  it('an older event for a key is stale; memory is bounded', () => {
    const memory = new SequencerMemory(2);
    memory.record('b', 'k', '0010');
    assert.equal(memory.isStale('b', 'k', '000F'), true);
    assert.equal(memory.isStale('b', 'k', '0010'), false, 'a duplicate is not stale (the ledger dedupes it)');
    assert.equal(memory.isStale('b', 'k', '0011'), false);
    assert.equal(memory.isStale('b', 'k', undefined), false);
    memory.record('b', 'k', '000A');
    assert.equal(memory.isStale('b', 'k', '000F'), true, 'recording an older one keeps the newest');
    memory.record('b', 'k2', '1');
    memory.record('b', 'k3', '1');
    assert.equal(memory.size, 2);
    assert.equal(memory.isStale('b', 'k', '0001'), false, 'the least recently used key was forgotten');
  });
});

describe('handleS3Events', () => {
  function fakeClient(running: Set<string>) {
    const signals: { workflowId: string; name: string; args: unknown[] }[] = [];
    const client = {
      workflow: {
        getHandle(workflowId: string) {
          return {
            async signal(def: { name: string }, ...args: unknown[]) {
              if (!running.has(workflowId)) throw new WorkflowNotFoundError('not found', workflowId, undefined);
              signals.push({ workflowId, name: def.name, args });
            },
          };
        },
      },
    } as unknown as Client;
    return { client, signals };
  }

  function project(defs: DataSourceDef[]): string {
    const dir = mkdtempSync(join(tmpdir(), 's3c-events-'));
    writeDeployment(dir, {
      version: 1,
      workspace: 'local',
      connections: {},
      dataSources: Object.fromEntries(defs.map((d) => [d.name, { def: d, deployedAt: '2024-01-01T00:00:00.000Z' }])),
    });
    return dir;
  }

  it('signals each matching workflow once per request with its batch, and counts the rest', async () => {
    const dir = project([
      ds('events', 's3://landing/events/*.csv'),
      ds('all', 's3://landing/**'),
      ds('once', 's3://landing/**', { kind: 'once' }),
    ]);
    try {
      const { client, signals } = fakeClient(new Set(['datasource/local/events', 'datasource/local/all']));
      const body = [
        fixture('eventbridge-object-created.json'),
        fixture('eventbridge-object-deleted.json'),
        fixture('s3-notification-records.json'),
      ];
      const result = await handleS3Events(
        { client, projectDir: dir, workspace: 'local', sequencers: new SequencerMemory() },
        body,
      );
      assert.equal(result.accepted, 3);
      assert.equal(result.ignored, 2);
      assert.deepEqual(result.routed, { events: 1, all: 3 });
      assert.equal(signals.length, 2);
      for (const s of signals) assert.equal(s.name, 'objectsCreated');
      const toEvents = signals.find((s) => s.workflowId === 'datasource/local/events');
      assert.deepEqual(
        (toEvents?.args[0] as { key: string }[]).map((o) => o.key),
        ['events/my file+1 été.csv'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('drops out-of-order events and tolerates a data source whose workflow is not running', async () => {
    const dir = project([ds('events', 's3://landing/events/*.csv'), ds('stopped', 's3://landing/events/*.csv')]);
    try {
      const { client, signals } = fakeClient(new Set(['datasource/local/events']));
      const sequencers = new SequencerMemory();
      const newer = {
        Records: [
          {
            eventName: 'ObjectCreated:Put',
            s3: {
              bucket: { name: 'landing' },
              object: { key: 'events/a.csv', eTag: 'new', size: 2, sequencer: '0000000002' },
            },
          },
        ],
      };
      const older = {
        Records: [
          {
            eventName: 'ObjectCreated:Put',
            s3: {
              bucket: { name: 'landing' },
              object: { key: 'events/a.csv', eTag: 'old', size: 1, sequencer: '0000000001' },
            },
          },
        ],
      };
      const first = await handleS3Events({ client, projectDir: dir, workspace: 'local', sequencers }, newer);
      assert.deepEqual(first.routed, { events: 1 });
      assert.deepEqual(first.notRunning, ['stopped']);
      const second = await handleS3Events({ client, projectDir: dir, workspace: 'local', sequencers }, older);
      assert.equal(second.stale, 1);
      assert.equal(second.ignored, 1);
      assert.deepEqual(second.routed, {});
      // A duplicate of the newest is passed on: the workflow and ledger dedupe it.
      const again = await handleS3Events({ client, projectDir: dir, workspace: 'local', sequencers }, newer);
      assert.deepEqual(again.routed, { events: 1 });
      assert.equal(signals.length, 2);
      // Both orders within one batch keep only the newest.
      const batch = await handleS3Events(
        { client, projectDir: dir, workspace: 'local', sequencers: new SequencerMemory() },
        [older, newer],
      );
      assert.deepEqual(batch.routed, { events: 1 });
      assert.equal((signals[2]?.args[0] as { etag: string }[])[0]?.etag, 'new');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
