/**
 * ENGINE_TTL (issue 19, item 6): the closed grammar the parser accepts, what
 * it refuses with file:line, the DELETE the sink renders from the parsed rule
 * (datafile text only as quoted identifiers and bound parameters), and the
 * rows that DELETE removes on a real DuckDB.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkDataSource, parseDataSource } from '../../src/datafiles/datasource';
import { checkTtl } from '../../src/datafiles/ttl';
import type { TtlRule } from '../../src/datafiles/types';
import { DuckDbSink } from '../../src/sinks/duckdb';
import { ttlDeleteSql } from '../../src/sinks/duckdbTtl';

const SCHEMA = ['`ts` DateTime', '`day` Date', '`n` Int32', '`odd name"x` DateTime64(3)', '`maybe` Nullable(DateTime)'];

function ds(ttl: string): string {
  return `SCHEMA >\n${SCHEMA.map((c) => `    ${c}`).join(',\n')}\n\nENGINE_TTL ${ttl}\n`;
}

const TTL_LINE = SCHEMA.length + 3;

describe('ENGINE_TTL grammar', () => {
  const accepted: [string, TtlRule][] = [
    ['"ts + toIntervalDay(60)"', { column: 'ts', amount: 60, unit: 'day' }],
    ['"ts + INTERVAL 1 HOUR"', { column: 'ts', amount: 1, unit: 'hour' }],
    ["'ts+interval 3 days'", { column: 'ts', amount: 3, unit: 'day' }],
    ['"`ts` + toIntervalMonth(1) DELETE"', { column: 'ts', amount: 1, unit: 'month' }],
    ['"day + INTERVAL 2 WEEK"', { column: 'day', amount: 2, unit: 'week' }],
    ['"`odd name\\"x` + toIntervalSecond(30)"', { column: 'odd name"x', amount: 30, unit: 'second' }],
    ['"maybe + toIntervalYear(1)"', { column: 'maybe', amount: 1, unit: 'year' }],
    ['"ts + INTERVAL 1 QUARTER"', { column: 'ts', amount: 1, unit: 'quarter' }],
    ['"ts + toIntervalMinute(0)"', { column: 'ts', amount: 0, unit: 'minute' }],
  ];
  for (const [text, rule] of accepted) {
    it(`accepts ENGINE_TTL ${text}`, () => {
      const d = parseDataSource(ds(text), 'd.datasource');
      const checked = checkTtl(d.ttl!, d.schema);
      assert.deepEqual(checked, { ok: true, value: rule });
    });
  }

  const refused: [string, RegExp][] = [
    ['"now()"', /Invalid ENGINE_TTL: found "now\(\)", expected `<Date or DateTime column> \+ INTERVAL <N> <unit>`/],
    [
      '"n + toIntervalDay(1)"',
      /found column "n" of type Int32, expected a column of type Date, Date32, DateTime or DateTime64/,
    ],
    ['"tss + toIntervalDay(1)"', /found column "tss", not in the SCHEMA, .*did you mean "ts"\?/],
    ['"ts + INTERVAL 1 DAY TO DISK \'cold\'"', /only row deletion is supported/],
    ['"ts + INTERVAL 1 DAY, ts + INTERVAL 2 DAY"', /only row deletion is supported/],
    ['"ts + INTERVAL 1 DAY WHERE n = 1"', /only row deletion is supported/],
    ['"ts + toIntervalDay(1); DROP TABLE x"', /Invalid ENGINE_TTL/],
    ['"ts + toIntervalDay(read_text(\'/etc/passwd\'))"', /Invalid ENGINE_TTL/],
    ['"ts + INTERVAL -1 DAY"', /Invalid ENGINE_TTL/],
    ['"ts + INTERVAL 1.5 DAY"', /Invalid ENGINE_TTL/],
    ['"ts - INTERVAL 1 DAY"', /Invalid ENGINE_TTL/],
    ['"ts + toIntervalYear(1001)"', /found 1001 year\(s\), expected at most 1000 years/],
    ['"ts + toIntervalDay(99999999999999999999)"', /expected at most 365000 days/],
    ['"toDate(ts) + INTERVAL 1 DAY"', /Invalid ENGINE_TTL/],
    ['"`ts` + INTERVAL 1 FORTNIGHT"', /Invalid ENGINE_TTL/],
  ];
  for (const [text, message] of refused) {
    it(`refuses ENGINE_TTL ${text} at its line`, () => {
      const errors = checkDataSource(ds(text), 'd.datasource').errors.map((e) => e.message);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.ok(errors[0]!.startsWith(`d.datasource:${TTL_LINE}: Invalid ENGINE_TTL: `), errors[0]);
      assert.match(errors[0]!, message);
    });
  }
});

describe('ENGINE_TTL on DuckDB', () => {
  it('renders only quoted identifiers, a function of ours and parameters', () => {
    assert.equal(
      ttlDeleteSql('events', { column: 'odd name"x', amount: 60, unit: 'day' }),
      'DELETE FROM "events" WHERE "odd name""x" + to_days($1::BIGINT) <= $2::TIMESTAMPTZ',
    );
    assert.throws(
      () => ttlDeleteSql('events', { column: 'ts', amount: 1, unit: 'day); DROP TABLE x; --' as never }),
      /unknown ENGINE_TTL unit/,
    );
    assert.throws(
      () => ttlDeleteSql('events', { column: 'ts', amount: 1.5, unit: 'day' }),
      /invalid ENGINE_TTL amount/,
    );
    assert.throws(
      () => ttlDeleteSql('events', { column: 'ts', amount: 1, unit: 'toString' as never }),
      /unknown ENGINE_TTL unit/,
    );
  });

  it('deletes the rows whose column + interval has passed, keeps the others and NULLs; a missing table deletes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's3c-ttl-'));
    const sink = await DuckDbSink.open(join(dir, 'ttl.duckdb'));
    try {
      const d = parseDataSource(
        `SCHEMA >\n    \`id\` Int32,\n    \`ts\` Nullable(DateTime),\n    \`day\` Date\n`,
        join(dir, 'expiring.datasource'),
      );
      const now = new Date('2026-03-31T12:00:00Z');
      assert.equal(await sink.expireRows('expiring', { column: 'ts', amount: 1, unit: 'day' }, now), 0);
      await sink.ensureTables(d);
      await sink.query(
        "INSERT INTO expiring VALUES (1, '2026-03-29 12:00:00', '2026-02-28'), (2, '2026-03-31 11:00:00', '2026-03-30'), " +
          "(3, NULL, '2026-01-01'), (4, '2026-03-30 12:00:00', '2026-03-31')",
      );
      // Exactly one day old expires (ClickHouse's `<=`); NULL never does.
      assert.equal(await sink.expireRows('expiring', { column: 'ts', amount: 1, unit: 'day' }, now), 2);
      assert.deepEqual(
        (await sink.query('SELECT id FROM expiring ORDER BY id')).map((r) => r.id),
        [2, 3],
      );
      // Months are calendar months: 2026-01-01 + 1 month is past on 2026-03-31, 2026-03-30 is not.
      assert.equal(await sink.expireRows('expiring', { column: 'day', amount: 1, unit: 'month' }, now), 1);
      assert.deepEqual(
        (await sink.query('SELECT id FROM expiring ORDER BY id')).map((r) => r.id),
        [2],
      );
    } finally {
      await sink.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
