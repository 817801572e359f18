/**
 * Deploy rules (R2, R3.5) on temp project folders: plan a first deployment,
 * write its snapshot as deployed, edit the files, plan again and check what is
 * refused (with the exact message) or what would change.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { S3ClientCache } from '../../src/aws/credentials';
import { planDeploy, type DeployPlan } from '../../src/deploy/plan';
import { loadTemporalConfig, loadWorkspaceConfig } from '../../src/config';
import { readDeployment, writeDeployment } from '../../src/deploy/store';
import { matchKey } from '../../src/s3uri';

const folders: string[] = [];
after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

interface Project {
  dir: string;
  write(name: string, text: string): void;
  remove(name: string): void;
  path(name: string): string;
  plan(): Promise<DeployPlan>;
  /** Plans and writes the plan's snapshot as deployed; fails on any error. */
  deploy(): Promise<DeployPlan>;
}

function project(files: Record<string, string>, secrets: Record<string, string> = {}): Project {
  const dir = mkdtempSync(join(tmpdir(), 's3c-deploy-'));
  folders.push(dir);
  const p: Project = {
    dir,
    write: (name, text) => writeFileSync(join(dir, name), text),
    remove: (name) => unlinkSync(join(dir, name)),
    path: (name) => join(dir, name),
    plan: () =>
      planDeploy({
        projectDir: dir,
        workspace: loadWorkspaceConfig(dir, {}),
        temporal: loadTemporalConfig(dir, {}),
        lookup: (name) => secrets[name],
        s3: new S3ClientCache({ externalId: () => 'test' }),
        skipAccessChecks: true,
      }),
    async deploy() {
      const plan = await p.plan();
      assert.deepEqual(plan.errors, []);
      assert.ok(plan.next);
      writeDeployment(dir, plan.next);
      return plan;
    },
  };
  for (const [name, text] of Object.entries(files)) p.write(name, text);
  return p;
}

function connection(region = 'us-east-1', arn = 'arn:aws:iam::111111111111:role/s3c-read'): string {
  return `TYPE s3\nS3_REGION "${region}"\nS3_ARN "${arn}"\n`;
}

interface DsOptions {
  uri?: string;
  schedule?: string;
  conn?: string;
  from?: string;
  format?: string;
  description?: string;
  amountType?: string;
  sortingKey?: string;
}

/** A data source file; IMPORT_CONNECTION_NAME is on line 11, IMPORT_BUCKET_URI 12, IMPORT_SCHEDULE 13, then the optional ones. */
function datasource(o: DsOptions = {}): string {
  return [
    'DESCRIPTION >',
    `    ${o.description ?? 'Events'}`,
    '',
    'SCHEMA >',
    '    `timestamp` DateTime `json:$.timestamp`,',
    `    \`amount\` ${o.amountType ?? 'Float32'} \`json:$.amount\``,
    '',
    'ENGINE "MergeTree"',
    `ENGINE_SORTING_KEY "${o.sortingKey ?? 'timestamp'}"`,
    '',
    `IMPORT_CONNECTION_NAME ${o.conn ?? 'aws'}`,
    `IMPORT_BUCKET_URI ${o.uri ?? 's3://landing/events/*.csv'}`,
    `IMPORT_SCHEDULE ${o.schedule ?? '@auto'}`,
    ...(o.from ? [`IMPORT_FROM_TIMESTAMP ${o.from}`] : []),
    ...(o.format ? [`IMPORT_FORMAT ${o.format}`] : []),
    '',
  ].join('\n');
}

/** A data source without IMPORT_* settings (same table as {@link datasource}). */
function plainDatasource(): string {
  return datasource()
    .split('\n')
    .filter((l) => !l.startsWith('IMPORT_'))
    .join('\n');
}

const REMEDY =
  'To change it: 1) remove the connection from the data source (delete its IMPORT_* settings, or the data source), ' +
  '2) run `s3c deploy`, 3) add the connection again with the new values, 4) run `s3c deploy` again.';
const CONNECTION_REMEDY =
  'To change it: 1) remove the connection from data source events (delete the IMPORT_* settings, or the data source), ' +
  '2) run `s3c deploy`, 3) add the connection again with the new values, 4) run `s3c deploy` again.';

function actions(plan: DeployPlan): string[] {
  return plan.changes.map((c) => `${c.kind} ${c.name}: ${c.action}${c.workflow ? ` (${c.workflow})` : ''}`);
}

/** The message of a refused in-place import change. */
function importRefusal(path: string, line: number, keyword: string, deployed: string, now: string): string {
  return (
    `${path}:${line}: ${keyword} of data source events cannot change in place (deployed: ${deployed}; now: ${now}); ` +
    `the only change allowed in place is IMPORT_SCHEDULE from @once or @on-demand to @auto. ${REMEDY}`
  );
}

describe('deploy: connection rules (R2.3)', () => {
  it('refuses a region change of a connection a deployed data source uses, with the remedy', async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource() });
    await p.deploy();
    p.write('aws.connection', connection('eu-west-1'));
    const plan = await p.plan();
    assert.deepEqual(plan.errors, [
      `${p.path('aws.connection')}:2: S3_REGION of connection aws cannot change from us-east-1 to eu-west-1 while data source events uses it. ${CONNECTION_REMEDY}`,
    ]);
    assert.equal(plan.next, undefined);
  });

  it('refuses an ARN of another AWS account, with the remedy', async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource() });
    await p.deploy();
    p.write('aws.connection', connection('us-east-1', 'arn:aws:iam::222222222222:role/s3c-read'));
    const plan = await p.plan();
    assert.deepEqual(plan.errors, [
      `${p.path('aws.connection')}:3: the account id of S3_ARN of connection aws cannot change from 111111111111 to 222222222222 while data source events uses it. ${CONNECTION_REMEDY}`,
    ]);
    assert.equal(plan.next, undefined);
  });

  it('names every deployed data source that uses the connection', async () => {
    const p = project({
      'aws.connection': connection(),
      'events.datasource': datasource(),
      'clicks.datasource': datasource({ uri: 's3://landing/clicks/*.csv', schedule: '@once' }),
    });
    await p.deploy();
    p.write('aws.connection', connection('eu-west-1'));
    const plan = await p.plan();
    assert.deepEqual(plan.errors, [
      `${p.path('aws.connection')}:2: S3_REGION of connection aws cannot change from us-east-1 to eu-west-1 while data sources clicks, events use it. ` +
        'To change it: 1) remove the connection from data sources clicks, events (delete the IMPORT_* settings, or the data sources), ' +
        '2) run `s3c deploy`, 3) add the connection again with the new values, 4) run `s3c deploy` again.',
    ]);
  });

  it('allows another role of the same account', async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource() });
    await p.deploy();
    p.write('aws.connection', connection('us-east-1', 'arn:aws:iam::111111111111:role/other-role'));
    const plan = await p.plan();
    assert.deepEqual(plan.errors, []);
    assert.deepEqual(actions(plan), ['connection aws: update', 'datasource events: unchanged (ensure)']);
    assert.ok(plan.next);
  });

  it('lets a connection that no deployed data source uses change freely', async () => {
    const p = project({
      'aws.connection': connection(),
      'spare.connection': connection(),
      'events.datasource': datasource(),
    });
    await p.deploy();
    p.write('spare.connection', connection('eu-west-1', 'arn:aws:iam::222222222222:role/x'));
    const plan = await p.plan();
    assert.deepEqual(plan.errors, []);
    assert.deepEqual(actions(plan), [
      'connection aws: unchanged',
      'connection spare: update',
      'datasource events: unchanged (ensure)',
    ]);
    assert.equal(plan.next?.connections.spare?.region, 'eu-west-1');
    assert.equal(plan.next?.connections.spare?.roleAccountId, '222222222222');
  });

  it("follows the reference's remedy: remove the connection from the data source, deploy, add it back with new values, deploy", async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource() });
    await p.deploy();
    // 1) remove the connection from the data source, 2) deploy.
    p.write('events.datasource', plainDatasource());
    const removed = await p.deploy();
    assert.deepEqual(actions(removed), ['connection aws: unchanged', 'datasource events: update (stop)']);
    // 3) add the connection again with the new values, 4) deploy.
    p.write('aws.connection', connection('eu-west-1', 'arn:aws:iam::222222222222:role/s3c-read'));
    p.write('events.datasource', datasource({ uri: 's3://other/events/*.csv' }));
    const added = await p.deploy();
    assert.deepEqual(actions(added), ['connection aws: update', 'datasource events: update (start)']);
    assert.equal(readDeployment(p.dir, 'local').connections.aws?.region, 'eu-west-1');
  });

  it('does not show an ARN that comes from a secret, nor its account id', async () => {
    const secrets: Record<string, string> = { ROLE_ARN: 'arn:aws:iam::111111111111:role/s3c-read' };
    const p = project(
      {
        'aws.connection': 'TYPE s3\nS3_REGION "us-east-1"\nS3_ARN {{ tb_secret("ROLE_ARN") }}\n',
        'events.datasource': datasource(),
      },
      secrets,
    );
    const first = await p.deploy();
    assert.equal(first.changes[0]?.detail, 'region us-east-1, role from {{ tb_secret("ROLE_ARN") }}');
    secrets.ROLE_ARN = 'arn:aws:iam::222222222222:role/s3c-read';
    const plan = await p.plan();
    assert.deepEqual(plan.errors, [
      `${p.path('aws.connection')}:3: S3_ARN of connection aws cannot change to a role of another AWS account ` +
        `({{ tb_secret("ROLE_ARN") }} comes from a secret: account ids not shown) while data source events uses it. ${CONNECTION_REMEDY}`,
    ]);
    const all = JSON.stringify(plan);
    assert.ok(!all.includes('111111111111') && !all.includes('222222222222'), all);
  });
});

describe('deploy: data source rules (R2.3)', () => {
  it('allows IMPORT_SCHEDULE @once → @auto in place, as an update of the running workflow', async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource({ schedule: '@once' }) });
    await p.deploy();
    p.write('events.datasource', datasource({ schedule: '@auto' }));
    const plan = await p.plan();
    assert.deepEqual(plan.errors, []);
    assert.deepEqual(actions(plan), ['connection aws: unchanged', 'datasource events: update (signal)']);
    assert.equal(
      plan.changes[1]?.detail,
      's3://landing/events/*.csv @auto, 2 columns; IMPORT_SCHEDULE @once → @auto: loads every matching file since the last sync, then follows the bucket',
    );
    assert.deepEqual(plan.next?.dataSources.events?.def.import?.schedule, { kind: 'auto' });
  });

  it('allows IMPORT_ENCODING to change in place: it applies to the files still to load', async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource() });
    await p.deploy();
    p.write('events.datasource', datasource() + 'IMPORT_ENCODING windows-1251\n');
    const plan = await p.plan();
    assert.deepEqual(plan.errors, []);
    assert.equal(plan.next?.dataSources.events?.def.import?.encoding, 'windows-1251');
  });

  it('refuses a change of IMPORT_BUCKET_URI on its line, with the remedy', async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource() });
    await p.deploy();
    p.write('events.datasource', datasource({ uri: 's3://landing/events/**/*.csv' }));
    const plan = await p.plan();
    assert.deepEqual(plan.errors, [
      `${p.path('events.datasource')}:12: IMPORT_BUCKET_URI of data source events cannot change in place ` +
        '(deployed: s3://landing/events/*.csv; now: s3://landing/events/**/*.csv); the only change allowed in place is IMPORT_SCHEDULE from @once or @on-demand to @auto. ' +
        'To change it: 1) remove the connection from the data source (delete its IMPORT_* settings, or the data source), ' +
        '2) run `s3c deploy`, 3) add the connection again with the new values, 4) run `s3c deploy` again.',
    ]);
    assert.equal(plan.next, undefined);
    assert.deepEqual(
      plan.changes.filter((c) => c.kind === 'datasource'),
      [],
    );
  });

  it('refuses a change of IMPORT_CONNECTION_NAME', async () => {
    const p = project({
      'aws.connection': connection(),
      'other.connection': connection(),
      'events.datasource': datasource(),
    });
    await p.deploy();
    p.write('events.datasource', datasource({ conn: 'other' }));
    const plan = await p.plan();
    assert.deepEqual(plan.errors, [
      importRefusal(p.path('events.datasource'), 11, 'IMPORT_CONNECTION_NAME', 'aws', 'other'),
    ]);
  });

  it('refuses adding, changing or removing IMPORT_FROM_TIMESTAMP and IMPORT_FORMAT', async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource() });
    await p.deploy();
    const file = p.path('events.datasource');
    p.write('events.datasource', datasource({ from: '2024-01-01T00:00:00Z' }));
    assert.deepEqual((await p.plan()).errors, [
      importRefusal(file, 14, 'IMPORT_FROM_TIMESTAMP', 'not set', '2024-01-01T00:00:00Z'),
    ]);
    p.write('events.datasource', datasource({ format: 'ndjson' }));
    assert.deepEqual((await p.plan()).errors, [
      importRefusal(file, 14, 'IMPORT_FORMAT', 'not set (by extension)', 'ndjson'),
    ]);

    const q = project({
      'aws.connection': connection(),
      'events.datasource': datasource({ from: '2024-01-01T00:00:00Z', format: 'csv' }),
    });
    await q.deploy();
    const qfile = q.path('events.datasource');
    q.write('events.datasource', datasource({ from: '2024-06-01T02:00:00+02:00', format: 'csv' }));
    assert.deepEqual((await q.plan()).errors, [
      importRefusal(qfile, 14, 'IMPORT_FROM_TIMESTAMP', '2024-01-01T00:00:00Z', '2024-06-01T00:00:00Z'),
    ]);
    // The same instant written with another offset is no change.
    q.write('events.datasource', datasource({ from: '2024-01-01T02:00:00+02:00', format: 'csv' }));
    assert.deepEqual((await q.plan()).errors, []);
    // Removed keywords are reported on the first IMPORT_* line.
    q.write('events.datasource', datasource());
    const file2 = qfile;
    assert.deepEqual((await q.plan()).errors, [
      importRefusal(file2, 11, 'IMPORT_FROM_TIMESTAMP', '2024-01-01T00:00:00Z', 'not set'),
      importRefusal(file2, 11, 'IMPORT_FORMAT', 'csv', 'not set (by extension)'),
    ]);
  });

  it('reports every changed import keyword at once', async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource({ schedule: '@once' }) });
    await p.deploy();
    // @once → @auto alone would be allowed; with a new bucket URI the deploy is refused for the URI only.
    p.write('events.datasource', datasource({ schedule: '@auto', uri: 's3://landing/new/*.csv', format: 'csv' }));
    const file = p.path('events.datasource');
    assert.deepEqual((await p.plan()).errors, [
      importRefusal(file, 12, 'IMPORT_BUCKET_URI', 's3://landing/events/*.csv', 's3://landing/new/*.csv'),
      importRefusal(file, 14, 'IMPORT_FORMAT', 'not set (by extension)', 'csv'),
    ]);
  });

  const scheduleCases: [string, string, boolean][] = [
    ['@once', '@auto', true],
    ['@auto', '@once', false],
    ['@auto', '@on-demand', false],
    ['@on-demand', '@auto', true],
    ['@on-demand', '@once', false],
    ['@once', '@on-demand', false],
    ['@once', '0 * * * *', false],
    ['0 * * * *', '30 * * * *', false],
    ['0 * * * *', '@auto', false],
    ['@auto', '0 * * * *', false],
  ];
  for (const [from, to, allowed] of scheduleCases) {
    it(`IMPORT_SCHEDULE ${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, async () => {
      const p = project({ 'aws.connection': connection(), 'events.datasource': datasource({ schedule: from }) });
      await p.deploy();
      p.write('events.datasource', datasource({ schedule: to }));
      const plan = await p.plan();
      if (allowed) {
        assert.deepEqual(plan.errors, []);
        assert.equal(plan.changes.find((c) => c.name === 'events')?.action, 'update');
      } else {
        assert.deepEqual(plan.errors, [importRefusal(p.path('events.datasource'), 13, 'IMPORT_SCHEDULE', from, to)]);
        assert.equal(plan.next, undefined);
      }
    });
  }

  it('refuses a SCHEMA or ENGINE change of a deployed table, on its line', async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource() });
    await p.deploy();
    const file = p.path('events.datasource');
    const remedy =
      'To change it: deploy the new definition as a data source with a new name (a new .datasource file) and remove this one; its table is kept.';
    p.write('events.datasource', datasource({ amountType: 'Float64' }));
    assert.deepEqual((await p.plan()).errors, [
      `${file}:4: SCHEMA of data source events cannot change once its table exists (column amount changed from Float32 \`json:$.amount\` to Float64 \`json:$.amount\`). ${remedy}`,
    ]);
    p.write('events.datasource', datasource({ sortingKey: 'amount' }));
    assert.deepEqual((await p.plan()).errors, [
      `${file}:9: ENGINE_SORTING_KEY of data source events cannot change once its table exists (deployed: timestamp; now: amount). ${remedy}`,
    ]);
  });

  it('allows a DESCRIPTION change, and ignores lines that only moved', async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource() });
    await p.deploy();
    // Lines moved (a comment at the top): nothing changed.
    p.write('events.datasource', `# landing events\n\n${datasource()}`);
    const moved = await p.plan();
    assert.deepEqual(moved.errors, []);
    assert.deepEqual(actions(moved), ['connection aws: unchanged', 'datasource events: unchanged (ensure)']);
    p.write('events.datasource', datasource({ description: 'Events, from the landing bucket' }));
    const described = await p.plan();
    assert.deepEqual(described.errors, []);
    assert.deepEqual(actions(described), ['connection aws: unchanged', 'datasource events: update (signal)']);
  });
});

describe('deploy: collisions of @auto data sources (R3.5)', () => {
  const collisions: [string, string, string][] = [
    ['s3://my-bucket/stock_*.csv', 's3://my-bucket/stock_prices*.csv', 'stock_prices.csv'],
    ['s3://my-bucket/**/*.csv', 's3://my-bucket/transactions/*.csv', 'transactions/.csv'],
    ['s3://my-bucket/*.csv', 's3://my-bucket/export_*.csv', 'export_.csv'],
  ];
  for (const [deployed, added, key] of collisions) {
    it(`refuses ${added} next to the deployed ${deployed}, naming the deployed data source`, async () => {
      // The deployed one sorts last by name: the message must still name it as the first.
      const p = project({ 'aws.connection': connection(), 'zeta.datasource': datasource({ uri: deployed }) });
      await p.deploy();
      p.write('alpha.datasource', datasource({ uri: added }));
      const plan = await p.plan();
      assert.deepEqual(plan.errors, [
        `${p.path('alpha.datasource')}:12: IMPORT_BUCKET_URI ${added} of @auto data source alpha collides with ${deployed} ` +
          `of the deployed @auto data source zeta (both match the key '${key}'): only one @auto data source may follow a bucket pattern. ` +
          'Narrow one pattern so that they match no common key, or make one @once or @on-demand',
      ]);
      assert.equal(plan.next, undefined);
      // The example key really is matched by both.
      assert.ok(matchKey(deployed, key) && matchKey(added, key));
    });
  }

  it('names the first by name when both are new', async () => {
    const p = project({
      'aws.connection': connection(),
      'b_second.datasource': datasource({ uri: 's3://my-bucket/*.csv' }),
      'a_first.datasource': datasource({ uri: 's3://my-bucket/export_*.csv' }),
    });
    const plan = await p.plan();
    assert.deepEqual(plan.errors, [
      `${p.path('b_second.datasource')}:12: IMPORT_BUCKET_URI s3://my-bucket/*.csv of @auto data source b_second collides with s3://my-bucket/export_*.csv ` +
        "of @auto data source a_first (both match the key 'export_.csv'): only one @auto data source may follow a bucket pattern. " +
        'Narrow one pattern so that they match no common key, or make one @once or @on-demand',
    ]);
  });

  it('refuses @once → @auto when the pattern collides with a deployed @auto data source', async () => {
    const p = project({
      'aws.connection': connection(),
      'all_csv.datasource': datasource({ uri: 's3://my-bucket/**/*.csv' }),
      'backfill.datasource': datasource({ uri: 's3://my-bucket/2024/*.csv', schedule: '@once' }),
    });
    await p.deploy();
    p.write('backfill.datasource', datasource({ uri: 's3://my-bucket/2024/*.csv', schedule: '@auto' }));
    const plan = await p.plan();
    assert.equal(plan.errors.length, 1);
    assert.match(
      plan.errors[0]!,
      /^.*backfill\.datasource:12: IMPORT_BUCKET_URI s3:\/\/my-bucket\/2024\/\*\.csv of @auto data source backfill collides with s3:\/\/my-bucket\/\*\*\/\*\.csv of the deployed @auto data source all_csv \(both match the key '2024\/\.csv'\): .*$/,
    );
  });

  const fine: [string, string][] = [
    ['s3://my-bucket/export_*.csv', 's3://my-bucket/import_*.csv'],
    ['s3://my-bucket/prod/*.csv', 's3://my-bucket/staging/*.csv'],
    ['s3://my-bucket/data/*.json', 's3://my-bucket/data/*.csv'],
    ['s3://bucket-a/*.csv', 's3://bucket-b/*.csv'],
  ];
  for (const [one, two] of fine) {
    it(`deploys ${one} and ${two} side by side`, async () => {
      const p = project({ 'aws.connection': connection(), 'one.datasource': datasource({ uri: one }) });
      await p.deploy();
      p.write('two.datasource', datasource({ uri: two }));
      const plan = await p.plan();
      assert.deepEqual(plan.errors, []);
      assert.deepEqual(actions(plan), [
        'connection aws: unchanged',
        'datasource one: unchanged (ensure)',
        'datasource two: create (start)',
      ]);
    });
  }

  it('lets an @auto and an @once data source share overlapping patterns', async () => {
    const p = project({
      'aws.connection': connection(),
      'live.datasource': datasource({ uri: 's3://my-bucket/**/*.csv' }),
      'once.datasource': datasource({ uri: 's3://my-bucket/*.csv', schedule: '@once' }),
      'manual.datasource': datasource({ uri: 's3://my-bucket/*.csv', schedule: '@on-demand' }),
    });
    const plan = await p.plan();
    assert.deepEqual(plan.errors, []);
    assert.ok(plan.next);
  });
});

describe('deploy: datafile errors, idempotence and removal', () => {
  it('reports every parse error of every file at once and plans nothing', async () => {
    const p = project({
      'aws.connection': 'TYPE s3\nS3_REGION "moon 1"\nS3_ARN "arn:aws:iam::1234:role/x"\n',
      'events.datasource': datasource({ amountType: 'Float33', from: '2024-01-01T00:00:00' }),
      'clicks.datasource': datasource({ schedule: '@sometimes' }),
    });
    const plan = await p.plan();
    assert.deepEqual(plan.errors, [
      `${p.path('aws.connection')}:2: Invalid S3_REGION: found "moon 1", expected a region name such as us-east-1`,
      `${p.path('aws.connection')}:3: Invalid S3_ARN: found "arn:aws:iam::1234:role/x", expected an IAM role ARN: arn:aws:iam::<12-digit account id>:role/<role name>`,
      `${p.path('clicks.datasource')}:13: Invalid IMPORT_SCHEDULE: found "@sometimes", expected @auto, @once, @on-demand or a 5-field cron expression such as "0 * * * *"`,
      `${p.path('events.datasource')}:6: Unknown column type: found "Float33", expected one of String, LowCardinality(T), FixedString(N), UUID, Bool, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float32, Float64, Decimal(P, S), Decimal32(S), Decimal64(S), Decimal128(S), Date, Date32, DateTime, DateTime('tz'), DateTime64(p), DateTime64(p, 'tz'), Nullable(T), Array(T), Map(String, T); did you mean "Float32"?`,
      `${p.path('events.datasource')}:14: Invalid IMPORT_FROM_TIMESTAMP: found "2024-01-01T00:00:00" without a UTC offset, expected an explicit UTC offset: YYYY-MM-DDTHH:MM:SSZ or e.g. +02:00 at the end`,
    ]);
    assert.deepEqual(plan.changes, []);
    assert.equal(plan.next, undefined);
  });

  it('is idempotent: the same files against their own deployment change nothing', async () => {
    const p = project({
      'aws.connection': connection(),
      'events.datasource': datasource(),
      'daily.datasource': datasource({
        uri: 's3://landing/daily/*.parquet',
        schedule: '0 3 * * *',
        from: '2024-01-01T00:00:00+02:00',
        format: 'parquet',
      }),
      'plain.datasource': plainDatasource(),
    });
    const first = await p.deploy();
    assert.deepEqual(actions(first), [
      'connection aws: create',
      'datasource daily: create (start)',
      'datasource events: create (start)',
      'datasource plain: create',
    ]);
    const again = await p.plan();
    assert.deepEqual(again.errors, []);
    assert.deepEqual(new Set(again.changes.map((c) => c.action)), new Set(['unchanged']));
    assert.deepEqual(again.next, first.next);
  });

  it('plans the removal of a data source and of a connection', async () => {
    const p = project({
      'aws.connection': connection(),
      'spare.connection': connection(),
      'events.datasource': datasource(),
      'plain.datasource': plainDatasource(),
    });
    await p.deploy();
    p.remove('events.datasource');
    p.remove('plain.datasource');
    p.remove('spare.connection');
    const plan = await p.plan();
    assert.deepEqual(plan.errors, []);
    assert.deepEqual(actions(plan), [
      'connection aws: unchanged',
      'datasource events: remove (stop)',
      'datasource plain: remove',
      'connection spare: remove',
    ]);
    assert.deepEqual(Object.keys(plan.next?.dataSources ?? {}), []);
    assert.deepEqual(Object.keys(plan.next?.connections ?? {}), ['aws']);
  });
});

describe('deploy: S3 checks report file:line (found by the datafile fuzz test)', () => {
  /** A fake S3 whose GetBucketLocation fails with `name`; every other call answers. */
  const failingLocation = (name: string): S3ClientCache =>
    ({
      clientFor: () => ({
        send: async (command: { constructor: { name: string } }) => {
          if (command.constructor.name !== 'GetBucketLocationCommand') return {};
          throw Object.assign(new Error(`${name} for s3:GetBucketLocation`), {
            name,
            $metadata: { httpStatusCode: 403 },
          });
        },
      }),
      roleAssumableWithoutExternalId: async () => false,
    }) as unknown as S3ClientCache;

  it('a GetBucketLocation refused on AWS is reported on the data source, naming the action', async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource() });
    const plan = await planDeploy({
      projectDir: p.dir,
      workspace: loadWorkspaceConfig(p.dir, {}),
      temporal: loadTemporalConfig(p.dir, {}),
      lookup: () => undefined,
      s3: failingLocation('AccessDenied'),
    });
    assert.deepEqual(plan.errors, [
      `${p.path('events.datasource')}:12: connection aws cannot read the region of bucket landing for data source events (AccessDenied). ` +
        "Check that the role's access policy allows s3:GetBucketLocation on the bucket (`s3c connection create s3` prints it)",
    ]);
  });
});

describe('deploy: any S3 check failure says where (found by the datafile fuzz test)', () => {
  it('an unexpected error of the external-id check is put on the IMPORT_BUCKET_URI line', async () => {
    const p = project({ 'aws.connection': connection(), 'events.datasource': datasource() });
    const s3 = {
      clientFor: () => ({
        send: async (command: { constructor: { name: string } }) =>
          command.constructor.name === 'GetBucketLocationCommand' ? { LocationConstraint: 'us-east-1' } : {},
      }),
      roleAssumableWithoutExternalId: async () => {
        throw Object.assign(new Error('connect ETIMEDOUT\nsts.amazonaws.com'), { name: 'TimeoutError' });
      },
    } as unknown as S3ClientCache;
    const plan = await planDeploy({
      projectDir: p.dir,
      workspace: loadWorkspaceConfig(p.dir, {}),
      temporal: loadTemporalConfig(p.dir, {}),
      lookup: () => undefined,
      s3,
    });
    assert.deepEqual(plan.errors, [
      `${p.path('events.datasource')}:12: cannot check the bucket of data source events with connection aws: connect ETIMEDOUT sts.amazonaws.com`,
    ]);
  });
});
