/**
 * How the sink reads a CSV file's layout (issue #17 §2): header or data,
 * delimiter, comment lines, IMPORT_CSV_HEADER and IMPORT_CSV_DELIMITER.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectCsvDialect, headLines } from '../../src/sinks/csvDialect';
import { sinkLoader, type SinkLoader } from '../helpers/sinkLoad';

let loader: SinkLoader;
before(async () => {
  loader = await sinkLoader();
});
after(async () => {
  await loader.close();
});

const IMPORT = 'IMPORT_CONNECTION_NAME s3\nIMPORT_BUCKET_URI s3://bkt/*.csv\nIMPORT_SCHEDULE @on-demand\n';
const schema = (...columns: string[]) => `SCHEMA >\n${columns.map((c) => `    ${c}`).join(',\n')}\n`;

describe('header or data', () => {
  it('a header that ends with a delimiter: rows with and without the trailing empty field load', async () => {
    const ds = loader.dataSource('t', schema('`id` Int64', '`comment` String'));
    const l = await loader.load(ds, 'id,comment,\n1,a,\n2,b\n');
    assert.deepEqual([l.rows, l.quarantined], [2, 0]);
    assert.deepEqual(l.table, [
      { id: 1, comment: 'a' },
      { id: 2, comment: 'b' },
    ]);
  });

  it('a schema with a column the header lacks: the header is a header, the column a missing value', async () => {
    const ds = loader.dataSource('t', schema('`id` Int64', '`comment` String', '`extra` Nullable(String)'));
    const l = await loader.load(ds, 'id,comment\n1,a\n2,b\n');
    assert.deepEqual(l.table, [
      { id: 1, comment: 'a', extra: null },
      { id: 2, comment: 'b', extra: null },
    ]);
    assert.equal(l.quarantined, 0);
  });

  it('all-String columns: header names that differ in case and punctuation are still a header', async () => {
    const ds = loader.dataSource('t', schema('`user_id` String', '`comment` String'));
    const l = await loader.load(ds, 'User ID,Comment\nu1,a\n');
    assert.deepEqual(l.table, [{ user_id: 'u1', comment: 'a' }]);
  });

  it('a first line that the typed columns refuse while the next lines pass is a header', async () => {
    const ds = loader.dataSource('t', schema('`n` Int64', '`d` Date'));
    const l = await loader.load(ds, 'Number,When\n1,2024-01-01\n2,2024-01-02\n');
    assert.deepEqual([l.rows, l.quarantined], [2, 0]);
  });

  it('a first line of bad values among good ones is data, quarantined as such', async () => {
    const ds = loader.dataSource('t', schema('`n` Int64', '`d` Date'));
    const l = await loader.load(ds, 'x,2024-01-01\ny,2024-01-02\n3,2024-01-03\n');
    assert.deepEqual([l.rows, l.quarantined], [1, 2]);
    assert.deepEqual(
      l.quarantine.map((q) => q.c__line),
      [1, 2],
    );
  });

  it('IMPORT_CSV_HEADER false reads a header-like first line as data', async () => {
    const ds = loader.dataSource('t', schema('`id` String', '`comment` String') + IMPORT + 'IMPORT_CSV_HEADER false\n');
    const l = await loader.load(ds, 'id,comment\n1,a\n');
    assert.deepEqual(l.table, [
      { id: '1', comment: 'a' },
      { id: 'id', comment: 'comment' },
    ]);
  });

  it('IMPORT_CSV_HEADER true skips a first line whatever it holds, columns by position', async () => {
    const ds = loader.dataSource('t', schema('`id` Int64', '`comment` String') + IMPORT + 'IMPORT_CSV_HEADER true\n');
    const l = await loader.load(ds, 'a,b\n1,x\n');
    assert.deepEqual([l.table, l.quarantined], [[{ id: 1, comment: 'x' }], 0]);
  });
});

describe('delimiter and comments', () => {
  it('comment lines before the header are skipped', async () => {
    const ds = loader.dataSource('t', schema('`id` Int64', '`comment` String'));
    const l = await loader.load(ds, '# exported 2024-05-01\n# by a tool, with commas\nid,comment\n1,a\n2,b\n');
    assert.deepEqual([l.rows, l.quarantined], [2, 0]);
  });

  it('blank lines among the comment lines before the header are skipped too; a comment further down costs its line', async () => {
    const ds = loader.dataSource('t', schema('`id` Int64', '`n` Int64'));
    const l = await loader.load(ds, '\n# blank lines\n\nid\tn\n1\t2\n # comment\n3\t4\n');
    assert.deepEqual(
      [l.table, l.quarantined],
      [
        [
          { id: 1, n: 2 },
          { id: 3, n: 4 },
        ],
        1,
      ],
    );
    assert.deepEqual(
      l.quarantine.map((q) => q.c__line),
      [6],
    );
  });

  it('IMPORT_CSV_DELIMITER says it outright', async () => {
    const ds = loader.dataSource('t', schema('`id` Int64', '`comment` String') + IMPORT + 'IMPORT_CSV_DELIMITER ";"\n');
    const l = await loader.load(ds, '1;a,b\n2;c\n');
    assert.deepEqual(l.table, [
      { id: 1, comment: 'a,b' },
      { id: 2, comment: 'c' },
    ]);
  });

  it('a first line without the delimiter costs that line, not the file', async () => {
    const ds = loader.dataSource('t', schema('`id` Int64', '`comment` String'));
    const l = await loader.load(ds, 'a title line\n1;a\n2;b\n3;c\n');
    assert.deepEqual([l.rows, l.quarantined], [3, 1]);
    assert.deepEqual(
      l.quarantine.map((q) => q.c__line),
      [1],
    );
  });

  it('detectCsvDialect picks the delimiter that splits the lines alike', () => {
    const d = detectCsvDialect(headLines('a|b|c\n1|x,y|2\n3|z|4\n'), ['p', 'q', 'r']);
    assert.deepEqual([d.delim, d.fields, d.header], ['|', 3, undefined]);
    assert.deepEqual(detectCsvDialect(headLines('x\ty\n1\t2\n'), ['x', 'y'], { delimiter: ';' }).delim, ';');
  });
});

describe('datafile settings', () => {
  it('refuses a bad IMPORT_CSV_HEADER and IMPORT_CSV_DELIMITER with file:line', () => {
    assert.throws(
      () => loader.dataSource('t', schema('`id` Int64') + IMPORT + 'IMPORT_CSV_HEADER maybe\n'),
      /t\.datasource:6: Invalid IMPORT_CSV_HEADER: found "maybe", expected true, false or auto/,
    );
    assert.throws(
      () => loader.dataSource('t', schema('`id` Int64') + IMPORT + 'IMPORT_CSV_DELIMITER ";;"\n'),
      /t\.datasource:6: Invalid IMPORT_CSV_DELIMITER/,
    );
    assert.equal(
      loader.dataSource('t', schema('`id` Int64') + IMPORT + 'IMPORT_CSV_DELIMITER \\t\n').import?.csvDelimiter,
      '\t',
    );
  });
});

describe('an unnamed header column', () => {
  it('an index column without a name (`,a,b`) is the schema column at its place', async () => {
    const ds = loader.dataSource('t', schema('`column_1` Int64', '`a` Int64', '`b` String'));
    const l = await loader.load(ds, ',a,b\n0,10,x\n1,11,y\n');
    assert.deepEqual(
      [l.table, l.quarantined],
      [
        [
          { column_1: 0, a: 10, b: 'x' },
          { column_1: 1, a: 11, b: 'y' },
        ],
        0,
      ],
    );
  });
});
