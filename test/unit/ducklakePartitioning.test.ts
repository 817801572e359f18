/** ENGINE_PARTITION_KEY as a DuckLake `PARTITIONED BY` list (src/sinks/ducklake/partitioning.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDataSource } from '../../src/datafiles';
import { lakePartitioning } from '../../src/sinks/ducklake/partitioning';

function withKey(key: string | undefined) {
  const text =
    'SCHEMA >\n    `ts` DateTime,\n    `day` Date,\n    `region` String\n' +
    (key === undefined ? '' : `\nENGINE_PARTITION_KEY "${key}"\n`);
  return lakePartitioning(parseDataSource(text, 'events.datasource'));
}

describe('lakePartitioning', () => {
  it('maps columns and the ClickHouse date functions to DuckLake partition parts', () => {
    assert.equal(withKey(undefined), undefined);
    assert.equal(withKey('tuple()'), undefined);
    assert.deepEqual(withKey('region'), { by: '"region"' });
    assert.deepEqual(withKey('toYYYYMM(ts)'), { by: 'year("ts"), month("ts")' });
    assert.deepEqual(withKey('toDate(ts)'), { by: 'year("ts"), month("ts"), day("ts")' });
    assert.deepEqual(withKey('(toYear(day), `region`)'), { by: 'year("day"), "region"' });
    assert.deepEqual(withKey('tuple(toStartOfHour(ts), region)'), {
      by: 'year("ts"), month("ts"), day("ts"), hour("ts"), "region"',
    });
  });

  it('refuses what DuckLake cannot take: other functions, expressions (unknown columns the datafile parser refuses)', () => {
    assert.deepEqual(withKey('intHash32(region) % 8'), { unsupported: 'intHash32(region) % 8' });
    assert.deepEqual(withKey('toMonday(ts)'), { unsupported: 'toMonday(ts)' });
    assert.deepEqual(withKey('region, cityHash64(region)'), { unsupported: 'region, cityHash64(region)' });
  });
});
