/**
 * ENGINE_PARTITION_KEY as a DuckLake `PARTITIONED BY` list (src/sinks/ducklake/partitioning.ts),
 * and the deploy warning that follows it (src/deploy/rules.ts engineWarnings).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DATASOURCE_KEYWORDS, parseDataSource } from '../../src/datafiles';
import { engineWarnings } from '../../src/deploy/rules';
import { readWritten } from '../../src/deploy/written';
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

describe('s3c deploy warns about ENGINE_PARTITION_KEY by destination', () => {
  /** The deploy warnings of a data source with ENGINE_PARTITION_KEY `key` (line 6) and a sorting key (line 7), for `destination`. */
  function warnings(key: string, destination?: 'duckdb' | 'ducklake'): string[] {
    const text =
      'SCHEMA >\n    `ts` DateTime,\n    `region` String\n\n' +
      `ENGINE "MergeTree"\nENGINE_PARTITION_KEY "${key}"\nENGINE_SORTING_KEY "ts"\n`;
    const ds = parseDataSource(text, 'events.datasource');
    return engineWarnings(ds, readWritten(text, ds.path, DATASOURCE_KEYWORDS), destination);
  }
  const notApplied = (line: number, what: string, on: string, why: string) =>
    `events.datasource:${line}: ${what} of data source events is not applied by the ${on} destination: ${why}`;
  const sortingWhy = 'rows are stored in load order, not sorted by the key (sort with ORDER BY when querying)';

  it('DuckDB (the default): every partition key, as before', () => {
    for (const destination of [undefined, 'duckdb'] as const)
      assert.deepEqual(warnings('toYYYYMM(ts)', destination), [
        notApplied(6, 'ENGINE_PARTITION_KEY "toYYYYMM(ts)"', 'DuckDB', 'DuckDB tables have no partitions'),
        notApplied(7, 'ENGINE_SORTING_KEY "ts"', 'DuckDB', sortingWhy),
      ]);
  });

  it('DuckLake: no warning for a key the lake partitions by, a warning for one it cannot', () => {
    const sorting = notApplied(7, 'ENGINE_SORTING_KEY "ts"', 'DuckLake', sortingWhy);
    assert.deepEqual(warnings('toYYYYMM(ts)', 'ducklake'), [sorting]);
    assert.deepEqual(warnings('(toDate(ts), region)', 'ducklake'), [sorting]);
    assert.deepEqual(warnings('intHash32(region) % 8', 'ducklake'), [
      notApplied(
        6,
        'ENGINE_PARTITION_KEY "intHash32(region) % 8"',
        'DuckLake',
        'DuckLake partitions by columns and by year, month, day or hour of a column only: the table is not partitioned',
      ),
      sorting,
    ]);
  });
});
