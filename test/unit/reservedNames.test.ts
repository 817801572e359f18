/**
 * Names the destination cannot tell apart, and names the product uses itself
 * (issue #18, item 4): refused at parse time and by deploy --check, with
 * file:line, instead of a table creation that retries forever or two data
 * sources sharing a table.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { S3ClientCache } from '../../src/aws/credentials';
import { datasourceNameProblem } from '../../src/cli/datasourceCreate';
import { planDeploy } from '../../src/deploy/plan';
import { loadTemporalConfig, loadWorkspaceConfig } from '../../src/config';
import { checkDataSource, loadProject } from '../../src/datafiles';
import { writeDeployment } from '../../src/deploy/store';
import { tableDdl } from '../../src/sinks/duckdbTypes';

const folders: string[] = [];
after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

function errors(path: string, schema: string): string[] {
  return checkDataSource(`SCHEMA >\n${schema}\n`, path).errors.map((e) => e.message);
}

describe('reserved and case-insensitive names in one .datasource file', () => {
  const cases: [string, string, string[]][] = [
    [
      'p/s3c_bad_rows.datasource',
      '    `id` Int32',
      [
        'p/s3c_bad_rows.datasource:1: Reserved data source name: found "s3c_bad_rows", expected a name that does not start with s3c_ (in any case): the product\'s own tables use that prefix',
      ],
    ],
    [
      'p/S3C_Ledger.datasource',
      '    `id` Int32',
      [
        'p/S3C_Ledger.datasource:1: Reserved data source name: found "S3C_Ledger", expected a name that does not start with s3c_ (in any case): the product\'s own tables use that prefix',
      ],
    ],
    [
      'p/events_Quarantine.datasource',
      '    `id` Int32',
      [
        'p/events_Quarantine.datasource:1: Reserved data source name: found "events_Quarantine", expected a name that does not end in _quarantine (in any case): the data source events would put its quarantined rows in that table',
      ],
    ],
    [
      'p/ev.datasource',
      '    `id` Int32,\n    `insertion_date` DateTime',
      [
        'p/ev.datasource:3: Reserved column name: found "insertion_date", expected a name other than c__error_column, c__error, c__import_id, insertion_date, c__object_key, c__line (in any case): the quarantine table adds these columns',
      ],
    ],
    [
      'p/ev.datasource',
      '    `C__Error` String,\n    `c__LINE` Int64',
      [
        'p/ev.datasource:2: Reserved column name: found "C__Error", expected a name other than c__error_column, c__error, c__import_id, insertion_date, c__object_key, c__line (in any case): the quarantine table adds these columns',
        'p/ev.datasource:3: Reserved column name: found "c__LINE", expected a name other than c__error_column, c__error, c__import_id, insertion_date, c__object_key, c__line (in any case): the quarantine table adds these columns',
      ],
    ],
    [
      'p/ev.datasource',
      '    `a` Int32,\n    `A` String',
      [
        'p/ev.datasource:3: Duplicate column name: found "A", the same as "a" on line 2 but for case, expected column names that differ in more than case (the destination does not tell them apart)',
      ],
    ],
    [
      'p/ev.datasource',
      '    `Session Id` Int32,\n    `x` Int8,\n    `session id` String',
      [
        'p/ev.datasource:4: Duplicate column name: found "session id", the same as "Session Id" on line 2 but for case, expected column names that differ in more than case (the destination does not tell them apart)',
      ],
    ],
    [
      'p/ev.datasource',
      '    `a\tb` Int32',
      [
        'p/ev.datasource:2: Invalid column name: found "a\\tb", expected a name without control characters (tab, NUL, ...)',
      ],
    ],
  ];
  for (const [path, schema, expected] of cases) {
    it(`${path}: ${schema.trim().replace(/\s+/g, ' ')}`, () => assert.deepEqual(errors(path, schema), expected));
  }

  it('accepts names that only contain the reserved words elsewhere', () => {
    assert.deepEqual(
      errors(
        'p/my_s3c_events.datasource',
        '    `insertion_date_local` DateTime,\n    `c__errors` String,\n    `quarantine` Int8',
      ),
      [],
    );
    assert.deepEqual(errors('p/quarantine_events.datasource', '    `id` Int32'), []);
  });

  it('the quarantine DDL adds exactly the reserved columns', () => {
    const [, quarantine] = tableDdl({
      name: 'q',
      path: 'q.datasource',
      engine: 'MergeTree',
      schema: [{ name: 'id', typeText: 'Int32', type: { kind: 'Int', bits: 32, signed: true }, line: 2 }],
    });
    assert.equal(
      quarantine,
      'CREATE TABLE IF NOT EXISTS "q_quarantine" ("id" VARCHAR, c__error_column VARCHAR[], c__error VARCHAR[], c__import_id VARCHAR, insertion_date TIMESTAMP, c__object_key VARCHAR, c__line BIGINT)',
    );
  });
});

/** A project folder with `files` (paths may have folders). */
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 's3c-names-'));
  folders.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const DS =
  'SCHEMA >\n    `id` Int32\n\nIMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI s3://bkt/x/*.csv\nIMPORT_SCHEDULE @on-demand\n';
const CONN = 'TYPE s3\nS3_REGION "us-east-1"\nS3_ARN "arn:aws:iam::111111111111:role/r"\n';

function plan(dir: string) {
  return planDeploy({
    projectDir: dir,
    workspace: loadWorkspaceConfig(dir, {}),
    temporal: loadTemporalConfig(dir, {}),
    lookup: () => undefined,
    s3: new S3ClientCache({ externalId: () => 'test' }),
    skipAccessChecks: true,
  });
}

describe('data source names that differ only in case', () => {
  it('two files of one project: refused on the second, naming the first', () => {
    const dir = folder({ 'c.connection': CONN, 'a/Events.datasource': DS, 'b/events.datasource': DS });
    assert.deepEqual(
      loadProject(dir, () => undefined).errors.map((e) => e.message),
      [
        `${join(dir, 'b/events.datasource')}:1: Duplicate data source name: found "events", the same as "Events" (${join(dir, 'a/Events.datasource')}) but for case, expected data source names that differ in more than case (each is a table, and table names are case-insensitive)`,
      ],
    );
  });

  it('deploy --check refuses a new data source whose name is a deployed one but for case (its table is kept)', async () => {
    const dir = folder({ 'c.connection': CONN, 'Events.datasource': DS });
    const first = await plan(dir);
    assert.deepEqual(first.errors, []);
    writeDeployment(dir, first.next!);
    rmSync(join(dir, 'Events.datasource'));
    writeFileSync(join(dir, 'events.datasource'), DS);
    const second = await plan(dir);
    assert.deepEqual(second.errors, [
      `${join(dir, 'events.datasource')}:1: data source events would load into the table of data source Events, deployed earlier ` +
        '(table names are case-insensitive, and a removed data source keeps its table). Choose a name that differs in more than case.',
    ]);
  });
});

describe('s3c datasource create refuses the same names before writing a file', () => {
  it('a reserved name, and a name that differs from an existing data source only in case', () => {
    const dir = folder({ 'Events.datasource': DS });
    assert.equal(
      datasourceNameProblem('s3c_rejects', dir),
      'Reserved data source name "s3c_rejects": expected a name that does not start with s3c_ (in any case): the product\'s own tables use that prefix',
    );
    assert.equal(
      datasourceNameProblem('events', dir),
      'A data source named "events" already exists (Events.datasource); choose another name or edit that file',
    );
    assert.equal(datasourceNameProblem('events2', dir), undefined);
  });
});

describe('a data source named like the sample table of another (issue #19, item 3)', () => {
  it('x__sample is refused while x exists, in any case; alone it is a name like any other', () => {
    const dir = folder({
      'c.connection': CONN,
      'events.datasource': DS,
      'a/Events__SAMPLE.datasource': DS,
      'orphan__sample.datasource': DS,
    });
    const project = loadProject(dir, () => undefined);
    assert.deepEqual(
      project.errors.map((e) => e.message),
      [
        `${join(dir, 'a/Events__SAMPLE.datasource')}:1: Reserved data source name: found "Events__SAMPLE", expected a name other than events__sample (in any case): sample imports of the data source events load into that table`,
      ],
    );
    assert.deepEqual(
      project.dataSources.map((d) => d.name),
      ['events', 'orphan__sample'],
    );
  });

  it('deploy --check refuses x__sample when x was deployed earlier (its sample table stays)', async () => {
    const dir = folder({ 'c.connection': CONN, 'events.datasource': DS });
    const first = await plan(dir);
    assert.deepEqual(first.errors, []);
    writeDeployment(dir, first.next!);
    rmSync(join(dir, 'events.datasource'));
    writeFileSync(join(dir, 'events__sample.datasource'), DS);
    assert.deepEqual((await plan(dir)).errors, [
      `${join(dir, 'events__sample.datasource')}:1: Reserved data source name: found "events__sample", expected a name other than events__sample (in any case): ` +
        'sample imports of the data source events load into that table (deployed earlier)',
    ]);
  });
});
