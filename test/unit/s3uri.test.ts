import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  BucketUriError,
  collisionExample,
  compileBucketUri,
  describePattern,
  formatOfKey,
  objectFormat,
  hasWildcard,
  listPrefix,
  matchKey,
  parseBucketUri,
  patternsCollide,
  SUPPORTED_EXTENSIONS,
  type ObjectFormat,
} from '../../src/s3uri';
import { compileTokens, runAutomaton } from '../../src/s3uri/automaton';
import { tokenize } from '../../src/s3uri/parse';

// ---------------------------------------------------------------------------
// The reference's pattern table ("S3 file URI" > "Examples"), every row.
// ---------------------------------------------------------------------------
const referenceTable: ReadonlyArray<readonly [key: string, uri: string, expected: boolean]> = [
  ['example.ndjson', 's3://bucket-name/*.ndjson', true],
  ['example.ndjson.gz', 's3://bucket-name/**/*.ndjson.gz', true],
  ['example.ndjson', 's3://bucket-name/example.ndjson', true],
  ['pending/example.ndjson', 's3://bucket-name/*.ndjson', false],
  ['pending/example.ndjson', 's3://bucket-name/**/*.ndjson', true],
  ['pending/example.ndjson', 's3://bucket-name/pending/example.ndjson', true],
  ['pending/example.ndjson', 's3://bucket-name/pending/*.ndjson', true],
  ['pending/example.ndjson', 's3://bucket-name/pending/**/*.ndjson', true],
  ['pending/example.ndjson', 's3://bucket-name/**/pending/example.ndjson', true],
  ['pending/example.ndjson', 's3://bucket-name/other/example.ndjson', false],
  ['pending/example.ndjson.gz', 's3://bucket-name/pending/*.csv.gz', false],
  ['pending/o/inner/example.ndjson', 's3://bucket-name/*.ndjson', false],
  ['pending/o/inner/example.ndjson', 's3://bucket-name/**/*.ndjson', true],
  ['pending/o/inner/example.ndjson', 's3://bucket-name/**/inner/example.ndjson', true],
  ['pending/o/inner/example.ndjson', 's3://bucket-name/**/ex*.ndjson', true],
  ['pending/o/inner/example.ndjson', 's3://bucket-name/**/**/*.ndjson', true],
  ['pending/o/inner/example.ndjson', 's3://bucket-name/pending/**/*.ndjson', true],
  ['pending/o/inner/example.ndjson', 's3://bucket-name/inner/example.ndjson', false],
  ['pending/o/inner/example.ndjson', 's3://bucket-name/pending/example.ndjson', false],
  ['pending/o/inner/example.ndjson.gz', 's3://bucket-name/pending/*.ndjson.gz', false],
  ['pending/o/inner/example.ndjson.gz', 's3://bucket-name/other/example.ndjson.gz', false],
];

// ---------------------------------------------------------------------------
// Further matching cases: wildcard edges, literal characters, prefix mode.
// ---------------------------------------------------------------------------
const matchTable: ReadonlyArray<readonly [uri: string, key: string, expected: boolean]> = [
  // `*` stays within one level.
  ['s3://bkt/a*', 'a', true],
  ['s3://bkt/a*', 'abc', true],
  ['s3://bkt/a*', 'a/b', false],
  ['s3://bkt/*', 'x', true],
  ['s3://bkt/*', 'x/y', false],
  ['s3://bkt/*.csv', '.csv', true],
  ['s3://bkt/*.csv', 'a.csv.gz', false],
  ['s3://bkt/*.csv.gz', 'a.csv', false],
  ['s3://bkt/logs/*/*.csv', 'logs/2024/a.csv', true],
  ['s3://bkt/logs/*/*.csv', 'logs/a.csv', false],
  ['s3://bkt/logs/*/*.csv', 'logs/2024/01/a.csv', false],
  ['s3://bkt/logs/*/*.csv', 'logs//a.csv', true],
  ['s3://bkt/a*b*c.csv', 'abc.csv', true],
  ['s3://bkt/a*b*c.csv', 'aXbYc.csv', true],
  ['s3://bkt/a*b*c.csv', 'abbc.csv', true],
  ['s3://bkt/a*b*c.csv', 'acb.csv', false],
  ['s3://bkt/a*b*c.csv', 'a/b/c.csv', false],
  ['s3://bkt/data/2024-*-01.csv', 'data/2024-03-01.csv', true],
  ['s3://bkt/data/2024-*-01.csv', 'data/2024-01.csv', false],
  ['s3://bkt/data/2024-*-01.csv', 'data/2024--01.csv', true],
  // `**` crosses levels; `**/` may match zero directories.
  ['s3://bkt/**', 'x/y/z', true],
  ['s3://bkt/**', 'x', true],
  ['s3://bkt/a/**', 'a/x', true],
  ['s3://bkt/a/**', 'a/x/y', true],
  ['s3://bkt/a/**', 'a/', true],
  ['s3://bkt/a/**', 'a', false],
  ['s3://bkt/a/**/b.csv', 'a/b.csv', true],
  ['s3://bkt/a/**/b.csv', 'a/x/b.csv', true],
  ['s3://bkt/a/**/b.csv', 'a/x/y/b.csv', true],
  ['s3://bkt/a/**/b.csv', 'a//b.csv', true],
  ['s3://bkt/a/**/b.csv', 'ab.csv', false],
  ['s3://bkt/a/**/b.csv', 'a/xb.csv', false],
  ['s3://bkt/**/*.ndjson', 'example.ndjson', true],
  ['s3://bkt/**/*.ndjson', 'pending/o/inner/example.ndjson', true],
  ['s3://bkt/**/*.ndjson', 'example.ndjson.gz', false],
  ['s3://bkt/**.csv', 'x.csv', true],
  ['s3://bkt/**.csv', 'a/b/x.csv', true],
  ['s3://bkt/**.csv', 'a/b/x.csv.gz', false],
  // `**` not at the start of a level is plain "anything", never optional-directory.
  ['s3://bkt/a**/b.csv', 'a/b.csv', true],
  ['s3://bkt/a**/b.csv', 'ax/b.csv', true],
  ['s3://bkt/a**/b.csv', 'a/x/b.csv', true],
  ['s3://bkt/a**/b.csv', 'ab.csv', false],
  ['s3://bkt/x/**y.csv', 'x/y.csv', true],
  ['s3://bkt/x/**y.csv', 'x/a/by.csv', true],
  ['s3://bkt/x/**y.csv', 'xy.csv', false],
  // From the reference's "Considerations".
  ['s3://bkt/**/logs/*.ndjson', 'logs/a.ndjson', true],
  ['s3://bkt/**/logs/*.ndjson', 'x/y/logs/a.ndjson', true],
  ['s3://bkt/**/logs/*.ndjson', 'x/logs/y/a.ndjson', false],
  ['s3://bkt/**/logs/*.ndjson', 'xlogs/a.ndjson', false],
  // Every other character is literal.
  ['s3://bkt/data/report (1).csv', 'data/report (1).csv', true],
  ['s3://bkt/data/report (1).csv', 'data/report 1.csv', false],
  ['s3://bkt/data/[2024]*.csv', 'data/[2024]-jan.csv', true],
  ['s3://bkt/data/[2024]*.csv', 'data/2.csv', false],
  ['s3://bkt/data/[a-z].csv', 'data/q.csv', false],
  ['s3://bkt/data/[a-z].csv', 'data/[a-z].csv', true],
  ['s3://bkt/data/file?.csv', 'data/file?.csv', true],
  ['s3://bkt/data/file?.csv', 'data/file1.csv', false],
  ['s3://bkt/data/{a,b}.csv', 'data/{a,b}.csv', true],
  ['s3://bkt/data/{a,b}.csv', 'data/a.csv', false],
  ['s3://bkt/data/{1..3}.csv', 'data/2.csv', false],
  ['s3://bkt/data/a+b.csv', 'data/a+b.csv', true],
  ['s3://bkt/data/a+b.csv', 'data/aab.csv', false],
  ['s3://bkt/data/!(x).csv', 'data/!(x).csv', true],
  ['s3://bkt/data/!(x).csv', 'data/y.csv', false],
  ['s3://bkt/data/@(x|y).csv', 'data/x.csv', false],
  ['s3://bkt/data/@(x|y).csv', 'data/@(x|y).csv', true],
  ['s3://bkt/data/+(x)*.csv', 'data/+(x)1.csv', true],
  ['s3://bkt/data/+(x)*.csv', 'data/xx.csv', false],
  ['s3://bkt/data/%20.csv', 'data/%20.csv', true],
  ['s3://bkt/data/%20.csv', 'data/ .csv', false],
  ['s3://bkt/a.csv', 'aXcsv', false],
  ['s3://bkt/^a$.csv', '^a$.csv', true],
  ['s3://bkt/a|b.csv', 'a|b.csv', true],
  ['s3://bkt/a|b.csv', 'a.csv', false],
  ['s3://bkt/a\\b.csv', 'a\\b.csv', true],
  ['s3://bkt/a\\*.csv', 'a\\x.csv', true],
  ['s3://bkt/a\\*.csv', 'a*.csv', false],
  ['s3://bkt/a*.csv', 'a*.csv', true],
  ['s3://bkt/my file *.csv', 'my file 2024.csv', true],
  ['s3://bkt/my file *.csv', 'my-file-2024.csv', false],
  ['s3://bkt/*.csv', 'trailing space.csv ', false],
  ['s3://bkt/*.csv ', 'trailing space.csv ', true],
  ['s3://bkt/*.csv', 'line\nbreak.csv', true],
  ['s3://bkt/données/été *.csv', 'données/été 2024.csv', true],
  ['s3://bkt/données/été *.csv', 'donnees/ete 2024.csv', false],
  ['s3://bkt/📁/*.csv', '📁/a.csv', true],
  ['s3://bkt/*/a.csv', '📁/a.csv', true],
  ['s3://bkt/*/a.csv', '日本/a.csv', true],
  ['s3://bkt/?.csv', 'é.csv', false],
  // Case-sensitive keys; extensions in glob and exact mode are literal too.
  ['s3://bkt/Data/*.CSV', 'Data/x.CSV', true],
  ['s3://bkt/Data/*.CSV', 'data/x.csv', false],
  ['s3://bkt/*.csv', 'x.CSV', false],
  ['s3://bkt/DATA.CSV', 'DATA.CSV', true],
  ['s3://bkt/DATA.CSV', 'data.csv', false],
  // Glob mode does not require a supported extension (callers skip and count, R3.3).
  ['s3://bkt/logs/*', 'logs/readme.txt', true],
  ['s3://bkt/**/*.txt', 'a/b.txt', true],
  // Exact mode: one object.
  ['s3://bkt/pending/example.ndjson', 'pending/example.ndjson', true],
  ['s3://bkt/pending/example.ndjson', 'pending/example.ndjson.gz', false],
  ['s3://bkt/pending/example.ndjson', 'Pending/example.ndjson', false],
  ['s3://bkt/pending/example.ndjson', 'x/pending/example.ndjson', false],
  ['s3://bkt/a.parquet.gz', 'a.parquet.gz', true],
  ['s3://bkt/a.parquet.gz', 'a.parquet', false],
  // Prefix mode: every supported file under the prefix, taken as a directory.
  ['s3://bkt/my-path', 'my-path/a.csv', true],
  ['s3://bkt/my-path', 'my-path/x/y.parquet', true],
  ['s3://bkt/my-path', 'my-path/x/y.JSONL.GZ', true],
  ['s3://bkt/my-path', 'my-path/.csv', true],
  ['s3://bkt/my-path', 'my-path.csv', false],
  ['s3://bkt/my-path', 'my-pathology/a.csv', false],
  ['s3://bkt/my-path', 'my-path/readme.txt', false],
  ['s3://bkt/my-path', 'my-path/a.csv.zip', false],
  ['s3://bkt/my-path', 'my-path', false],
  ['s3://bkt/my-path', 'My-Path/a.csv', false],
  ['s3://bkt/my-path/', 'my-path/a.csv', true],
  ['s3://bkt/my-path/', 'my-path/deep/er/a.ndjson.gz', true],
  ['s3://bkt/my-path/', 'my-path.csv', false],
  ['s3://bkt', 'a.csv', true],
  ['s3://bkt', 'x/y.ndjson', true],
  ['s3://bkt', 'x/y.txt', false],
  ['s3://bkt/', 'a.json', true],
  ['s3://bkt/', 'a.json.bak', false],
  ['s3://bkt/x.txt', 'x.txt', false],
  ['s3://bkt/x.txt', 'x.txt/a.csv', true],
  ['s3://bkt/dir (old)/[v1]', 'dir (old)/[v1]/a.csv', true],
  ['s3://bkt/dir (old)/[v1]', 'dir (old)/v/a.csv', false],
];

describe('matchKey: the reference pattern table', () => {
  for (const [key, uri, expected] of referenceTable) {
    it(`${uri} ${expected ? 'matches' : 'does not match'} ${key}`, () => {
      assert.equal(matchKey(uri, key), expected);
    });
  }
});

describe('matchKey: wildcards, literal characters and modes', () => {
  for (const [uri, key, expected] of matchTable) {
    it(`${JSON.stringify(uri)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(key)}`, () => {
      assert.equal(matchKey(uri, key), expected);
      assert.equal(compileBucketUri(uri).matches(key), expected);
    });
  }

  it('agrees with the automaton the collision check uses, in every mode', () => {
    for (const [uri, key, expected] of [...matchTable, ...referenceTable.map(([k, u, e]) => [u, k, e] as const)]) {
      const automaton = compileTokens(tokenize(parseBucketUri(uri).pattern));
      assert.equal(runAutomaton(automaton, key), expected, `${uri} vs ${JSON.stringify(key)}`);
    }
  });

  it('matches in time linear in the key, however many wildcards the pattern has', () => {
    const uri = 's3://bkt/**a**a**a**a**a**a**a**a**b';
    const key = 'a'.repeat(1024);
    const started = performance.now();
    assert.equal(matchKey(uri, key), false);
    assert.equal(matchKey(uri, key.slice(1) + 'b'), true);
    assert.ok(performance.now() - started < 1000);
  });

  it('throws BucketUriError for an invalid URI', () => {
    assert.throws(() => matchKey('bkt/*.csv', 'a.csv'), BucketUriError);
  });
});

// ---------------------------------------------------------------------------
// Collisions (R3.5).
// ---------------------------------------------------------------------------
const collisions: ReadonlyArray<readonly [a: string, b: string, example?: string]> = [
  // The reference's examples.
  ['s3://my-bucket/stock_*.csv', 's3://my-bucket/stock_prices*.csv', 'stock_prices.csv'],
  ['s3://my-bucket/**/*.csv', 's3://my-bucket/transactions/*.csv', 'transactions/.csv'],
  ['s3://my-bucket/*.csv', 's3://my-bucket/export_*.csv', 'export_.csv'],
  // Overlaps no prefix comparison finds.
  ['s3://bkt/a*.csv', 's3://bkt/*b.csv', 'ab.csv'],
  ['s3://bkt/x/*.csv', 's3://bkt/*/y.csv', 'x/y.csv'],
  ['s3://bkt/*.csv', 's3://bkt/**/*.csv', '.csv'],
  ['s3://bkt/data/2024-*.csv', 's3://bkt/data/*-01.csv', 'data/2024-01.csv'],
  ['s3://bkt/a/*/c.csv', 's3://bkt/**/b/**', 'a/b/c.csv'],
  ['s3://bkt/**/a*', 's3://bkt/**/*b', 'ab'],
  ['s3://bkt/x*/y', 's3://bkt/x/*y', 'x/y'],
  ['s3://bkt/**/x/*.csv', 's3://bkt/*/x/*.csv', '/x/.csv'],
  ['s3://bkt/a/**/b.csv', 's3://bkt/a/b.csv', 'a/b.csv'],
  ['s3://bkt/*.csv', 's3://bkt/**', '.csv'],
  ['s3://bkt/logs/**', 's3://bkt/**/*.parquet', 'logs/.parquet'],
  ['s3://bkt/*a*a*', 's3://bkt/*aa*', 'aa'],
  // Same URI, exact URIs.
  ['s3://bkt/**/*.ndjson', 's3://bkt/**/*.ndjson', '.ndjson'],
  ['s3://bkt/a/b.csv', 's3://bkt/a/b.csv', 'a/b.csv'],
  ['s3://bkt/a/b.csv', 's3://bkt/a/*.csv', 'a/b.csv'],
  ['s3://bkt/a/[b].csv', 's3://bkt/a/[*].csv', 'a/[b].csv'],
  // Prefix mode.
  ['s3://bkt/my-path', 's3://bkt/my-path/a.csv', 'my-path/a.csv'],
  ['s3://bkt/my-path', 's3://bkt/my-path/', 'my-path/.csv'],
  ['s3://bkt/my-path', 's3://bkt/**/*.csv', 'my-path/.csv'],
  ['s3://bkt/my-path', 's3://bkt/*/*', 'my-path/.csv'],
  ['s3://bkt/my-path', 's3://bkt/my-path/a.txt', 'my-path/a.txt/.csv'],
  ['s3://bkt/my-path', 's3://bkt/', 'my-path/.csv'],
  ['s3://bkt/dir', 's3://bkt/dir/*.CSV', 'dir/.CSV'],
  ['s3://bkt', 's3://bkt/**/*.JSON.GZ', '.JSON.GZ'],
  ['s3://bkt/a', 's3://bkt/a/b', 'a/b/.csv'],
];

const nonCollisions: ReadonlyArray<readonly [a: string, b: string]> = [
  // The reference's examples.
  ['s3://my-bucket/export_*.csv', 's3://my-bucket/import_*.csv'],
  ['s3://my-bucket/prod/*.csv', 's3://my-bucket/staging/*.csv'],
  ['s3://my-bucket/data/*.json', 's3://my-bucket/data/*.csv'],
  // Further cases.
  ['s3://bkt/*.csv', 's3://bkt/x/*.csv'],
  ['s3://bkt/*.csv', 's3://bkt/*.csv.gz'],
  ['s3://bkt/*/*.csv', 's3://bkt/*.csv'],
  ['s3://bkt/**/*.json', 's3://bkt/**/*.json.gz'],
  ['s3://bkt/*.json', 's3://bkt/*.jsonl'],
  ['s3://bkt/**/x/*.csv', 's3://bkt/*/y/*.csv'],
  ['s3://bkt/a**/b.csv', 's3://bkt/ab.csv'],
  ['s3://bkt/*x/y*', 's3://bkt/*/z*'],
  ['s3://bkt/*.CSV', 's3://bkt/*.csv'],
  ['s3://bkt/[ab].csv', 's3://bkt/a.csv'],
  ['s3://bkt/{a,b}/*.csv', 's3://bkt/a/*.csv'],
  ['s3://bkt/a?.csv', 's3://bkt/ab.csv'],
  ['s3://bkt/a/b.csv', 's3://bkt/a/c.csv'],
  ['s3://bkt/logs/*/*.csv', 's3://bkt/logs/*.csv'],
  ['s3://bkt/logs/2024-*/*.csv', 's3://bkt/logs/2023-*/*.csv'],
  // Different buckets never collide.
  ['s3://aaa/*.csv', 's3://bbb/*.csv'],
  ['s3://aaa', 's3://bbb'],
  // Prefix mode.
  ['s3://bkt/my-path', 's3://bkt/my-path.csv'],
  ['s3://bkt/my-path', 's3://bkt/my-pathology/*.csv'],
  ['s3://bkt/my-path', 's3://bkt/**/*.txt'],
  ['s3://bkt/my-path', 's3://bkt/my-path/*.txt'],
  ['s3://bkt/my-path', 's3://bkt/*'],
  ['s3://bkt/my-path', 's3://bkt/other'],
  ['s3://bkt/my-path', 's3://bkt/my-path/*.csv.bak'],
  ['s3://bkt/my-path', 's3://bkt/my-path/**/*.gz.bak'],
  ['s3://bkt', 's3://bkt/**/*.tsv'],
  ['s3://bkt/a', 's3://bkt/a/**/*.csv.zip'],
];

describe('patternsCollide: colliding pairs', () => {
  for (const [a, b, example] of collisions) {
    it(`${a} collides with ${b}`, () => {
      assert.equal(patternsCollide(a, b), true);
      assert.equal(patternsCollide(b, a), true);
      const witness = collisionExample(a, b);
      assert.ok(witness !== undefined);
      assert.equal(matchKey(a, witness), true, `${a} should match ${JSON.stringify(witness)}`);
      assert.equal(matchKey(b, witness), true, `${b} should match ${JSON.stringify(witness)}`);
      if (example !== undefined) assert.equal(witness, example);
    });
  }
});

describe('patternsCollide: pairs that do not collide', () => {
  for (const [a, b] of nonCollisions) {
    it(`${a} does not collide with ${b}`, () => {
      assert.equal(patternsCollide(a, b), false);
      assert.equal(patternsCollide(b, a), false);
      assert.equal(collisionExample(a, b), undefined);
    });
  }
});

describe('patternsCollide: exhaustive agreement with brute force', () => {
  // Every glob pattern of up to four symbols over {a, b, /, *} (so `*`, `**`
  // and `**/` in every position) against every key of up to six characters
  // over {a, b, /}. A common short key must mean a collision, and every
  // collision must come with an example key that both patterns match.
  const symbols = ['a', 'b', '/', '*'];
  const patterns: string[] = [];
  const grow = (prefix: string): void => {
    if (prefix.includes('*') && !prefix.includes('***')) patterns.push(prefix);
    if (prefix.length < 4) for (const s of symbols) grow(prefix + s);
  };
  grow('');
  const keys: string[] = [];
  const growKey = (prefix: string): void => {
    keys.push(prefix);
    if (prefix.length < 6) for (const s of ['a', 'b', '/']) growKey(prefix + s);
  };
  growKey('');
  const matched = patterns.map((p) => keys.map((k) => matchKey(`s3://bkt/${p}`, k)));

  it('matchKey agrees with an independent regular-expression oracle', () => {
    for (const [i, p] of patterns.entries()) {
      const oracle = oracleRegExp(p);
      for (const [j, k] of keys.entries()) {
        assert.equal(matched[i]![j], oracle.test(k), `${p} vs ${JSON.stringify(k)}`);
      }
    }
  });

  it(`collisions agree for all ${patterns.length * patterns.length} pattern pairs`, () => {
    for (const [i, a] of patterns.entries()) {
      for (const [j, b] of patterns.entries()) {
        const shortCommonKey = keys.find((_, k) => matched[i]![k] && matched[j]![k]);
        const witness = collisionExample(`s3://bkt/${a}`, `s3://bkt/${b}`);
        if (shortCommonKey !== undefined) assert.ok(witness !== undefined, `${a} vs ${b}: ${shortCommonKey}`);
        if (witness !== undefined) {
          assert.ok(matchKey(`s3://bkt/${a}`, witness) && matchKey(`s3://bkt/${b}`, witness), `${a} vs ${b}`);
          if (shortCommonKey !== undefined) assert.ok(witness.length <= shortCommonKey.length);
        }
      }
    }
  });
});

/** The matching rules, written a second way: a fully escaped regular expression. */
function oracleRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length;) {
    if (pattern.startsWith('**/', i) && (i === 0 || pattern[i - 1] === '/')) {
      source += '(?:.*/)?';
      i += 3;
    } else if (pattern.startsWith('**', i)) {
      source += '.*';
      i += 2;
    } else if (pattern[i] === '*') {
      source += '[^/]*';
      i += 1;
    } else {
      source += pattern[i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      i += 1;
    }
  }
  return new RegExp(`^${source}$`, 's');
}

// ---------------------------------------------------------------------------
// listPrefix (R3.4), hasWildcard, describePattern.
// ---------------------------------------------------------------------------
const listPrefixTable: ReadonlyArray<readonly [uri: string, bucket: string, prefix: string]> = [
  ['s3://bkt/logs/2024-*/x.csv', 'bkt', 'logs/2024-'],
  ['s3://bkt/**/*.csv', 'bkt', ''],
  ['s3://bkt/*.csv', 'bkt', ''],
  ['s3://bkt/pending/**/*.ndjson', 'bkt', 'pending/'],
  ['s3://bkt/pending/*.ndjson', 'bkt', 'pending/'],
  ['s3://bkt/a/b/c.csv', 'bkt', 'a/b/c.csv'],
  ['s3://bkt/my-path', 'bkt', 'my-path/'],
  ['s3://bkt/my-path/', 'bkt', 'my-path/'],
  ['s3://bkt', 'bkt', ''],
  ['s3://bkt/', 'bkt', ''],
  ['s3://bkt/data/[x]*.csv', 'bkt', 'data/[x]'],
  ['s3://bkt/a b/c?*', 'bkt', 'a b/c?'],
  ['s3://my.bucket-1/été/*.csv', 'my.bucket-1', 'été/'],
];

describe('listPrefix', () => {
  for (const [uri, bucket, prefix] of listPrefixTable) {
    it(`${uri} lists ${JSON.stringify(prefix)}`, () => {
      assert.deepEqual(listPrefix(uri), { bucket, prefix });
      assert.equal(compileBucketUri(uri).listPrefix, prefix);
    });
  }

  it('every matching key in the tables starts with the listing prefix', () => {
    for (const [uri, key, expected] of matchTable) {
      if (expected) assert.ok(key.startsWith(listPrefix(uri).prefix), `${uri} vs ${key}`);
    }
  });
});

describe('hasWildcard and describePattern', () => {
  const cases: ReadonlyArray<readonly [uri: string, wildcard: boolean, description: string]> = [
    ['s3://bkt/*.csv', true, 'every object whose key matches "*.csv" in bucket "bkt", listed from the bucket root'],
    ['s3://bkt/logs/**', true, 'every object whose key matches "logs/**" in bucket "bkt", listed from "logs/"'],
    ['s3://bkt/a/b.csv', false, 'the object "a/b.csv" in bucket "bkt"'],
    ['s3://bkt/my-path', false, 'every CSV, NDJSON or Parquet object under "my-path/" in bucket "bkt"'],
    ['s3://bkt', false, 'every CSV, NDJSON or Parquet object in bucket "bkt"'],
  ];
  for (const [uri, wildcard, description] of cases) {
    it(uri, () => {
      assert.equal(hasWildcard(uri), wildcard);
      assert.equal(describePattern(uri), description);
    });
  }

  it('reports the mode', () => {
    assert.equal(compileBucketUri('s3://bkt/*.csv').mode, 'glob');
    assert.equal(compileBucketUri('s3://bkt/a.csv').mode, 'exact');
    assert.equal(compileBucketUri('s3://bkt/a').mode, 'prefix');
  });
});

// ---------------------------------------------------------------------------
// formatOfKey (R4.1).
// ---------------------------------------------------------------------------
const csv = (compression: 'gzip' | 'none'): ObjectFormat => ({ format: 'csv', compression });
const ndjson = (compression: 'gzip' | 'none'): ObjectFormat => ({ format: 'ndjson', compression });
const parquet = (compression: 'gzip' | 'none'): ObjectFormat => ({ format: 'parquet', compression });

const formatTable: ReadonlyArray<readonly [key: string, expected: ObjectFormat | undefined]> = [
  ['a.csv', csv('none')],
  ['a.csv.gz', csv('gzip')],
  ['a.ndjson', ndjson('none')],
  ['a.ndjson.gz', ndjson('gzip')],
  ['a.jsonl', ndjson('none')],
  ['a.jsonl.gz', ndjson('gzip')],
  ['a.json', ndjson('none')],
  ['a.json.gz', ndjson('gzip')],
  ['a.parquet', parquet('none')],
  ['a.parquet.gz', parquet('gzip')],
  ['dir/sub dir/A.CSV', csv('none')],
  ['A.Csv.Gz', csv('gzip')],
  ['x.JSONL', ndjson('none')],
  ['x.parquet.GZ', parquet('gzip')],
  ['a.b.c.json', ndjson('none')],
  ['.csv', csv('none')],
  ['dir/.ndjson.gz', ndjson('gzip')],
  ['été/données.parquet', parquet('none')],
  ['a.gz', undefined],
  ['a.txt', undefined],
  ['a.tsv', undefined],
  ['a.csv.zip', undefined],
  ['a.csv.gz.gz', undefined],
  ['a.csv.bz2', undefined],
  ['a.json5', undefined],
  ['a.csvx', undefined],
  ['csv', undefined],
  ['dir.csv/file', undefined],
  ['a.csv ', undefined],
  ['', undefined],
];

describe('formatOfKey', () => {
  for (const [key, expected] of formatTable) {
    it(`${JSON.stringify(key)} is ${expected === undefined ? 'unsupported' : `${expected.format}/${expected.compression}`}`, () => {
      assert.deepEqual(formatOfKey(key), expected);
    });
  }

  it('lists exactly the ten supported extensions', () => {
    assert.deepEqual([...SUPPORTED_EXTENSIONS].sort(), [
      '.csv',
      '.csv.gz',
      '.json',
      '.json.gz',
      '.jsonl',
      '.jsonl.gz',
      '.ndjson',
      '.ndjson.gz',
      '.parquet',
      '.parquet.gz',
    ]);
    for (const extension of SUPPORTED_EXTENSIONS) assert.ok(formatOfKey(`x${extension}`) !== undefined);
  });
});

// ---------------------------------------------------------------------------
// parseBucketUri.
// ---------------------------------------------------------------------------
const EXPECTED = 'expected s3://<bucket>/<pattern>, for example s3://my-bucket/data/*.csv';

const parseTable: ReadonlyArray<readonly [uri: string, bucket: string, pattern: string]> = [
  ['s3://bucket-name/*.ndjson', 'bucket-name', '*.ndjson'],
  ['s3://bkt', 'bkt', ''],
  ['s3://bkt/', 'bkt', ''],
  ['s3://bkt//x.csv', 'bkt', '/x.csv'],
  ['s3://my.bucket.name/a b/c?.csv', 'my.bucket.name', 'a b/c?.csv'],
  ['s3://a-1/x', 'a-1', 'x'],
  ['s3://123/x', '123', 'x'],
  ['s3://1.2.3/x', '1.2.3', 'x'],
  ['s3://xn--bucket/x', 'xn--bucket', 'x'],
  ['s3://my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias/x', 'my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias', 'x'],
  [`s3://${'a'.repeat(63)}/x`, 'a'.repeat(63), 'x'],
  ['s3://bkt/**/x/**', 'bkt', '**/x/**'],
];

const parseErrors: ReadonlyArray<readonly [uri: string, type: BucketUriError['type'], reason: string]> = [
  ['', 'missing-scheme', 'it must start with "s3://"'],
  ['bucket/x.csv', 'missing-scheme', 'it must start with "s3://"'],
  ['s3:/bucket/x.csv', 'missing-scheme', 'it must start with "s3://"'],
  [' s3://bucket/x.csv', 'missing-scheme', 'it must start with "s3://"'],
  ['https://bucket.s3.amazonaws.com/x.csv', 'missing-scheme', 'it must start with "s3://"'],
  ['S3://bucket/x.csv', 'missing-scheme', 'the scheme must be lowercase "s3://"'],
  ['s3://', 'invalid-bucket', 'the bucket name is empty'],
  ['s3:///x.csv', 'invalid-bucket', 'the bucket name is empty'],
  ['s3://ab/x.csv', 'invalid-bucket', 'bucket name "ab" is 2 characters long; S3 bucket names are 3 to 63 characters'],
  [
    `s3://${'a'.repeat(64)}/x.csv`,
    'invalid-bucket',
    `bucket name "${'a'.repeat(64)}" is 64 characters long; S3 bucket names are 3 to 63 characters`,
  ],
  [
    's3://My-Bucket/x.csv',
    'invalid-bucket',
    'bucket name "My-Bucket" contains "M"; S3 bucket names use only lowercase letters, digits, dots and hyphens',
  ],
  [
    's3://my_bucket/x.csv',
    'invalid-bucket',
    'bucket name "my_bucket" contains "_"; S3 bucket names use only lowercase letters, digits, dots and hyphens',
  ],
  [
    's3://my bucket/x.csv',
    'invalid-bucket',
    'bucket name "my bucket" contains " "; S3 bucket names use only lowercase letters, digits, dots and hyphens',
  ],
  [
    's3://bkt*/x.csv',
    'invalid-bucket',
    'bucket name "bkt*" contains "*"; S3 bucket names use only lowercase letters, digits, dots and hyphens',
  ],
  ['s3://-bucket/x.csv', 'invalid-bucket', 'bucket name "-bucket" must start and end with a lowercase letter or digit'],
  ['s3://bucket./x.csv', 'invalid-bucket', 'bucket name "bucket." must start and end with a lowercase letter or digit'],
  ['s3://my..bucket/x.csv', 'invalid-bucket', 'bucket name "my..bucket" contains two adjacent dots'],
  ['s3://192.168.1.1/x.csv', 'invalid-bucket', 'bucket name "192.168.1.1" is formatted like an IP address'],
  [
    's3://bkt/***.csv',
    'invalid-pattern',
    'the pattern contains "***"; use * (within one directory level) or ** (across levels)',
  ],
  [
    's3://bkt/a/****/x.csv',
    'invalid-pattern',
    'the pattern contains "****"; use * (within one directory level) or ** (across levels)',
  ],
];

describe('parseBucketUri', () => {
  for (const [uri, bucket, pattern] of parseTable) {
    it(`parses ${uri}`, () => {
      assert.deepEqual(parseBucketUri(uri), { bucket, pattern });
    });
  }

  for (const [uri, type, reason] of parseErrors) {
    it(`rejects ${JSON.stringify(uri)} (${type})`, () => {
      const message = `Invalid bucket URI ${JSON.stringify(uri)}: ${reason}; ${EXPECTED}`;
      assert.throws(
        () => parseBucketUri(uri),
        (error: unknown) => {
          assert.ok(error instanceof BucketUriError);
          assert.ok(error instanceof Error);
          assert.equal(error.name, 'BucketUriError');
          assert.equal(error.type, type);
          assert.equal(error.uri, uri);
          assert.equal(error.message, message);
          return true;
        },
      );
      // Every entry point parses first.
      for (const call of [
        () => matchKey(uri, 'x.csv'),
        () => listPrefix(uri),
        () => hasWildcard(uri),
        () => describePattern(uri),
        () => patternsCollide(uri, 's3://bkt/*.csv'),
        () => patternsCollide('s3://bkt/*.csv', uri),
      ]) {
        assert.throws(call, { name: 'BucketUriError', message });
      }
    });
  }
});

describe('objectFormat', () => {
  it('IMPORT_FORMAT applies to every key whatever its extension; a final .gz still means gzip', () => {
    assert.deepEqual(objectFormat('a/titles.tsv', 'csv'), { format: 'csv', compression: 'none' });
    assert.deepEqual(objectFormat('a/lineitem.tbl.GZ', 'csv'), { format: 'csv', compression: 'gzip' });
    assert.deepEqual(objectFormat('a/places.geojsonl', 'ndjson'), { format: 'ndjson', compression: 'none' });
    assert.deepEqual(objectFormat('a/x.csv', 'ndjson'), { format: 'ndjson', compression: 'none' });
  });
  it('without IMPORT_FORMAT the extension decides, and an unknown one tells nothing', () => {
    assert.deepEqual(objectFormat('a/x.jsonl.gz'), { format: 'ndjson', compression: 'gzip' });
    assert.equal(objectFormat('a/titles.tsv'), undefined);
  });
});
