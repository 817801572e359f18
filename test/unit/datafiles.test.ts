import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type Column,
  type ColumnType,
  type DataSourceDef,
  DatafileError,
  checkColumnType,
  checkConnection,
  checkCron,
  checkDataSource,
  checkFromTimestamp,
  checkJsonPath,
  defaultSortingKey,
  formatColumnType,
  isDatafileError,
  loadProject,
  parseColumnType,
  parseConnection,
  parseDataSource,
  resolveSecrets,
  roleAccountId,
} from '../../src/datafiles/index';

const ACCEPTED =
  "String, LowCardinality(T), FixedString(N), UUID, Bool, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float32, Float64, Decimal(P, S), Decimal32(S), Decimal64(S), Decimal128(S), Date, Date32, DateTime, DateTime('tz'), DateTime64(p), DateTime64(p, 'tz'), Nullable(T), Array(T), Map(String, T)";
const KEYWORDS =
  'DESCRIPTION, SCHEMA, ENGINE, ENGINE_PARTITION_KEY, ENGINE_SORTING_KEY, ENGINE_TTL, IMPORT_CONNECTION_NAME, IMPORT_BUCKET_URI, IMPORT_SCHEDULE, IMPORT_FROM_TIMESTAMP, IMPORT_FORMAT, IMPORT_CSV_HEADER, IMPORT_CSV_DELIMITER, IMPORT_ENCODING';

const S: ColumnType = { kind: 'String' };
const int = (bits: 8 | 16 | 32 | 64, signed = true): ColumnType => ({ kind: 'Int', bits, signed });

/** Error messages of a datasource text, all of them. */
function dsErrors(text: string, file = 'events.datasource'): string[] {
  return checkDataSource(text, file).errors.map((e) => e.message);
}

/** A datasource with a one-column schema plus `rest`. */
function ds(rest: string, schema = '    `id` Int64 `json:$.id`'): string {
  return `SCHEMA >\n${schema}\n\n${rest}`;
}

const noSecrets = (raw: string) => raw;

// ---------------------------------------------------------------------------
describe('column types (R1.3)', () => {
  const valid: [string, ColumnType, string][] = [
    ['String', S, 'String'],
    ['LowCardinality(String)', { kind: 'LowCardinality', inner: S }, 'LowCardinality(String)'],
    [
      'LowCardinality(Nullable(String))',
      { kind: 'LowCardinality', inner: { kind: 'Nullable', inner: S } },
      'LowCardinality(Nullable(String))',
    ],
    ['FixedString(16)', { kind: 'FixedString', length: 16 }, 'FixedString(16)'],
    ['UUID', { kind: 'UUID' }, 'UUID'],
    ['Bool', { kind: 'Bool' }, 'Bool'],
    ['Int8', int(8), 'Int8'],
    ['Int16', int(16), 'Int16'],
    ['Int32', int(32), 'Int32'],
    ['Int64', int(64), 'Int64'],
    ['UInt8', int(8, false), 'UInt8'],
    ['UInt16', int(16, false), 'UInt16'],
    ['UInt32', int(32, false), 'UInt32'],
    ['UInt64', int(64, false), 'UInt64'],
    ['Float32', { kind: 'Float', bits: 32 }, 'Float32'],
    ['Float64', { kind: 'Float', bits: 64 }, 'Float64'],
    ['Decimal(10, 2)', { kind: 'Decimal', precision: 10, scale: 2 }, 'Decimal(10, 2)'],
    ['Decimal(38,38)', { kind: 'Decimal', precision: 38, scale: 38 }, 'Decimal(38, 38)'],
    ['Decimal(1, 0)', { kind: 'Decimal', precision: 1, scale: 0 }, 'Decimal(1, 0)'],
    ['Decimal(5)', { kind: 'Decimal', precision: 5, scale: 0 }, 'Decimal(5, 0)'],
    ['Decimal32(2)', { kind: 'Decimal', precision: 9, scale: 2 }, 'Decimal(9, 2)'],
    ['Decimal64(4)', { kind: 'Decimal', precision: 18, scale: 4 }, 'Decimal(18, 4)'],
    ['Decimal128(10)', { kind: 'Decimal', precision: 38, scale: 10 }, 'Decimal(38, 10)'],
    ['Date', { kind: 'Date' }, 'Date'],
    ['Date32', { kind: 'Date32' }, 'Date32'],
    ['DateTime', { kind: 'DateTime' }, 'DateTime'],
    ["DateTime('UTC')", { kind: 'DateTime', timezone: 'UTC' }, "DateTime('UTC')"],
    ["DateTime( 'Europe/Madrid' )", { kind: 'DateTime', timezone: 'Europe/Madrid' }, "DateTime('Europe/Madrid')"],
    ['DateTime64(3)', { kind: 'DateTime64', precision: 3 }, 'DateTime64(3)'],
    ['DateTime64(0)', { kind: 'DateTime64', precision: 0 }, 'DateTime64(0)'],
    [
      "DateTime64(9, 'America/New_York')",
      { kind: 'DateTime64', precision: 9, timezone: 'America/New_York' },
      "DateTime64(9, 'America/New_York')",
    ],
    ["DateTime64(6,'UTC')", { kind: 'DateTime64', precision: 6, timezone: 'UTC' }, "DateTime64(6, 'UTC')"],
    ['Nullable(Int32)', { kind: 'Nullable', inner: int(32) }, 'Nullable(Int32)'],
    [
      'Nullable(DateTime64(3))',
      { kind: 'Nullable', inner: { kind: 'DateTime64', precision: 3 } },
      'Nullable(DateTime64(3))',
    ],
    ['Array(String)', { kind: 'Array', element: S }, 'Array(String)'],
    [
      'Array(Nullable(Float64))',
      { kind: 'Array', element: { kind: 'Nullable', inner: { kind: 'Float', bits: 64 } } },
      'Array(Nullable(Float64))',
    ],
    [
      'Array(Array(UInt8))',
      { kind: 'Array', element: { kind: 'Array', element: int(8, false) } },
      'Array(Array(UInt8))',
    ],
    ['Map(String, String)', { kind: 'Map', key: S, value: S }, 'Map(String, String)'],
    [
      'Map(String,Array(Int64))',
      { kind: 'Map', key: S, value: { kind: 'Array', element: int(64) } },
      'Map(String, Array(Int64))',
    ],
    [
      'Map(LowCardinality(String), Nullable(Decimal32(2)))',
      {
        kind: 'Map',
        key: { kind: 'LowCardinality', inner: S },
        value: { kind: 'Nullable', inner: { kind: 'Decimal', precision: 9, scale: 2 } },
      },
      'Map(LowCardinality(String), Nullable(Decimal(9, 2)))',
    ],
    [
      'Array(Map(String, Array(LowCardinality(String))))',
      {
        kind: 'Array',
        element: { kind: 'Map', key: S, value: { kind: 'Array', element: { kind: 'LowCardinality', inner: S } } },
      },
      'Array(Map(String, Array(LowCardinality(String))))',
    ],
    ['  Array ( String )  ', { kind: 'Array', element: S }, 'Array(String)'],
  ];
  for (const [text, type, normalised] of valid) {
    it(`parses ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseColumnType(text), type);
      assert.equal(formatColumnType(type), normalised);
      // The normalised text parses back to the same type.
      assert.deepEqual(parseColumnType(normalised), type);
    });
  }

  const invalid: [string, string][] = [
    ['Strng', `x:3: Unknown column type: found "Strng", expected one of ${ACCEPTED}; did you mean "String"?`],
    ['string', `x:3: Unknown column type: found "string", expected one of ${ACCEPTED}; did you mean "String"?`],
    ['Text', `x:3: Unknown column type: found "Text", expected one of ${ACCEPTED}`],
    ['Int128', `x:3: Unknown column type: found "Int128", expected one of ${ACCEPTED}; did you mean "Int8"?`],
    ['', `x:3: Missing column type: found nothing, expected a type (${ACCEPTED})`],
    ['String(3)', 'x:3: Invalid column type: found "String(3)", expected String without arguments'],
    [
      'FixedString',
      'x:3: Missing type arguments: found "FixedString", expected FixedString(N) with a length N of at least 1',
    ],
    ['FixedString(0)', 'x:3: Invalid FixedString length: found 0, expected a whole number from 1 to 65535'],
    ['Decimal(39, 2)', 'x:3: Invalid Decimal precision: found 39, expected a whole number from 1 to 38'],
    ['Decimal(0, 0)', 'x:3: Invalid Decimal precision: found 0, expected a whole number from 1 to 38'],
    ['Decimal(10, 11)', 'x:3: Invalid Decimal scale: found 11, expected a whole number from 0 to 10'],
    [
      'Decimal(10 2)',
      'x:3: Invalid column type: found "2" at character 12 of "Decimal(10 2)", expected ")" after the Decimal scale',
    ],
    ['Decimal32(10)', 'x:3: Invalid Decimal32 scale: found 10, expected a whole number from 0 to 9'],
    [
      'DateTime64',
      'x:3: Missing type arguments: found "DateTime64", expected DateTime64(p) or DateTime64(p, \'tz\') with a precision p from 0 to 9',
    ],
    ['DateTime64(10)', 'x:3: Invalid DateTime64 precision: found 10, expected a whole number from 0 to 9'],
    [
      "DateTime64(3, 'Nowhere/City')",
      "x:3: Unknown DateTime64 time zone: found \"Nowhere/City\", expected an IANA time zone such as 'UTC' or 'Europe/Madrid'",
    ],
    [
      'DateTime(UTC)',
      'x:3: Invalid DateTime time zone: found "UTC" at character 10 of "DateTime(UTC)", expected a quoted IANA time zone such as \'UTC\' or \'Europe/Madrid\'',
    ],
    ["DateTime('UTC", 'x:3: Unterminated quoted string in column type: found "\'UTC", expected a closing \''],
    [
      'Nullable(Nullable(String))',
      'x:3: Invalid Nullable type: found "Nullable(Nullable(String))", expected Nullable of a plain type (Nullable cannot wrap Nullable, LowCardinality, Array or Map)',
    ],
    [
      'Nullable(Array(String))',
      'x:3: Invalid Nullable type: found "Nullable(Array(String))", expected Nullable of a plain type (Nullable cannot wrap Nullable, LowCardinality, Array or Map)',
    ],
    [
      'Nullable(LowCardinality(String))',
      'x:3: Invalid Nullable type: found "Nullable(LowCardinality(String))", expected Nullable of a plain type (Nullable cannot wrap Nullable, LowCardinality, Array or Map); write LowCardinality(Nullable(T)) instead',
    ],
    [
      'LowCardinality(Array(String))',
      'x:3: Invalid LowCardinality type: found "LowCardinality(Array(String))", expected LowCardinality of String, FixedString, a number, Date, Date32, DateTime, UUID or Nullable of one of them',
    ],
    [
      'Map(Array(String), Int8)',
      'x:3: Invalid Map key type: found "Array(String)", expected String, LowCardinality(String), FixedString(N), an integer, UUID, Date, Date32 or DateTime',
    ],
    [
      'Map(String)',
      'x:3: Invalid column type: found ")" at character 11 of "Map(String)", expected "," between the Map key and value types',
    ],
    ['Array()', `x:3: Invalid column type: found ")" at character 7 of "Array()", expected a type name (${ACCEPTED})`],
    [
      'Array(String',
      'x:3: Invalid column type: found end of type in "Array(String", expected ")" after the Array element type',
    ],
    [
      'Array(String))',
      'x:3: Invalid column type: found ")" at character 14 of "Array(String))", expected end of the type',
    ],
    ['Int32 x', 'x:3: Invalid column type: found "x" at character 7 of "Int32 x", expected end of the type'],
    [
      'Array(String;)',
      'x:3: Invalid character in column type: found ";" at character 13 of "Array(String;)", expected a type name, "(", ")", ",", a number or a quoted string',
    ],
  ];
  for (const [text, message] of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseColumnType(text, { file: 'x', line: 3 }),
        (e: unknown) => {
          assert.ok(e instanceof DatafileError);
          assert.equal(e.message, message);
          assert.equal(e.file, 'x');
          assert.equal(e.line, 3);
          return true;
        },
      );
      assert.equal(checkColumnType(text).ok, false);
    });
  }
});

// ---------------------------------------------------------------------------
describe('JSONPath (R1.3)', () => {
  const valid: [string, unknown[]][] = [
    ['$', []],
    ['$.a', [{ kind: 'key', key: 'a' }]],
    [
      '$.a.b',
      [
        { kind: 'key', key: 'a' },
        { kind: 'key', key: 'b' },
      ],
    ],
    [
      '$.a[0]',
      [
        { kind: 'key', key: 'a' },
        { kind: 'index', index: 0 },
      ],
    ],
    [
      '$.a[12].b',
      [
        { kind: 'key', key: 'a' },
        { kind: 'index', index: 12 },
        { kind: 'key', key: 'b' },
      ],
    ],
    ["$['key with spaces']", [{ kind: 'key', key: 'key with spaces' }]],
    ['$["double quoted"]', [{ kind: 'key', key: 'double quoted' }]],
    ["$['it\\'s']", [{ kind: 'key', key: "it's" }]],
    ['$.a[:]', [{ kind: 'key', key: 'a' }, { kind: 'all' }]],
    [
      "$.a[:].b['c d'][0]",
      [
        { kind: 'key', key: 'a' },
        { kind: 'all' },
        { kind: 'key', key: 'b' },
        { kind: 'key', key: 'c d' },
        { kind: 'index', index: 0 },
      ],
    ],
    ['$.user-agent', [{ kind: 'key', key: 'user-agent' }]],
    ['$.0', [{ kind: 'key', key: '0' }]],
    ['$.ñandú', [{ kind: 'key', key: 'ñandú' }]],
    ['$[0]', [{ kind: 'index', index: 0 }]],
  ];
  for (const [p, segments] of valid) {
    it(`accepts ${p}`, () => assert.deepEqual(checkJsonPath(p), { ok: true, value: segments }));
  }

  const invalid: [string, string, string][] = [
    ['', 'end of path', '"$" at the start (the whole document)'],
    ['a.b', '"a" at character 1', '"$" at the start (the whole document)'],
    ['$.', 'end of path', 'a key name after "." (or "[\'key\']" for other characters)'],
    ['$..a', '"." at character 3', 'a key name after "." (or "[\'key\']" for other characters)'],
    ['$a', '"a" at character 2', '".key", "[0]", "[\'key\']" or "[:]"'],
    ['$.a b', '" " at character 4', '".key", "[0]", "[\'key\']" or "[:]"'],
    ['$[x]', '"[x]" at character 2', '"[N]" with N ≥ 0, "[\'key\']" or "[:]"'],
    ['$[-1]', '"[-1]" at character 2', '"[N]" with N ≥ 0, "[\'key\']" or "[:]"'],
    ['$.a[', '"[" at character 4', '"[N]" with N ≥ 0, "[\'key\']" or "[:]"'],
    ["$['a'", 'end of path', '"]" after the quoted key'],
    ["$['a", 'end of path', "a closing '"],
    ['$[*]', '"[*]" at character 2', '"[N]" with N ≥ 0, "[\'key\']" or "[:]"'],
    // Found by the datafile fuzz test: a NUL in a key cut the load's SQL short.
    ['$["\u0000"]', '"\\u0000" at character 4', 'a key without control characters (tab, NUL, ...)'],
    ["$['a\\\u0000']", '"\\u0000" at character 6', 'a key without control characters (tab, NUL, ...)'],
    ["$.a['\t']", '"\\t" at character 6', 'a key without control characters (tab, NUL, ...)'],
  ];
  for (const [p, found, expected] of invalid) {
    it(`refuses ${JSON.stringify(p)}`, () => {
      assert.deepEqual(checkJsonPath(p), {
        ok: false,
        problem: { what: `Invalid JSONPath ${JSON.stringify(p)}`, found, expected },
      });
    });
  }

  it('reports a bad path in a schema with file and line', () => {
    assert.deepEqual(dsErrors(ds('', '    `a` String `json:$.a..b`')), [
      'events.datasource:2: Invalid JSONPath "$.a..b": found "." at character 5, expected a key name after "." (or "[\'key\']" for other characters)',
    ]);
  });
});

// ---------------------------------------------------------------------------
describe('cron expressions (IMPORT_SCHEDULE extension)', () => {
  const valid: [string, string][] = [
    ['* * * * *', '* * * * *'],
    ['0 * * * *', '0 * * * *'],
    ['*/15 0-23/2 1,15 * 1-5', '*/15 0-23/2 1,15 * 1-5'],
    ['0  3   * * 0', '0 3 * * 0'],
    ['0 0 1 JAN,jul MON-FRI', '0 0 1 JAN,jul MON-FRI'],
    ['59 23 31 12 7', '59 23 31 12 7'],
    ['5/10 * * * *', '5/10 * * * *'],
  ];
  for (const [expr, normalised] of valid) {
    it(`accepts ${JSON.stringify(expr)}`, () => assert.deepEqual(checkCron(expr), { ok: true, value: normalised }));
  }
  const invalid: [string, string, string, string][] = [
    [
      '* * * *',
      'Invalid cron expression',
      '4 fields in "* * * *"',
      '5 fields: minute hour day-of-month month day-of-week',
    ],
    [
      '* * * * * *',
      'Invalid cron expression',
      '6 fields in "* * * * * *"',
      '5 fields: minute hour day-of-month month day-of-week',
    ],
    ['60 * * * *', 'Invalid cron minute field', '"60"', 'a number in 0-59'],
    ['* 24 * * *', 'Invalid cron hour field', '"24"', 'a number in 0-23'],
    ['* * 0 * *', 'Invalid cron day of month field', '"0"', 'a number in 1-31'],
    ['* * * 13 *', 'Invalid cron month field', '"13"', 'a number in 1-12'],
    ['* * * * 8', 'Invalid cron day of week field', '"8"', 'a number in 0-7'],
    [
      '* * * FOO *',
      'Invalid cron month field',
      '"FOO"',
      'a number in 1-12 or a name (JAN, FEB, MAR, APR, MAY, JUN, JUL, AUG, SEP, OCT, NOV, DEC)',
    ],
    ['*/0 * * * *', 'Invalid cron minute field', '"*/0"', 'a step of at least 1 after "/"'],
    ['*/x * * * *', 'Invalid cron minute field', '"*/x"', 'a step of at least 1 after "/"'],
    ['10-5 * * * *', 'Invalid cron minute field', '"10-5"', 'a range whose start is not after its end'],
    [
      '1,,2 * * * *',
      'Invalid cron minute field',
      '"1,,2"',
      '"*", N, N-M, a list N,M,... and /STEP after "*", N or N-M (no empty list items)',
    ],
    [
      '1-2-3 * * * *',
      'Invalid cron minute field',
      '"1-2-3"',
      '"*", N, N-M, a list N,M,... and /STEP after "*", N or N-M',
    ],
    ['*/2/3 * * * *', 'Invalid cron minute field', '"*/2/3"', 'at most one /STEP'],
  ];
  for (const [expr, what, found, expected] of invalid) {
    it(`refuses ${JSON.stringify(expr)}`, () =>
      assert.deepEqual(checkCron(expr), { ok: false, problem: { what, found, expected } }));
  }
});

// ---------------------------------------------------------------------------
describe('IMPORT_FROM_TIMESTAMP', () => {
  const valid: [string, string][] = [
    ['2024-05-01T00:00:00Z', '2024-05-01T00:00:00Z'],
    ['2024-05-01T02:30:00+02:00', '2024-05-01T00:30:00Z'],
    ['2024-05-01T00:00:00-0530', '2024-05-01T05:30:00Z'],
    ['2024-02-29T23:59:59Z', '2024-02-29T23:59:59Z'],
    ['2024-05-01T00:00:00.250Z', '2024-05-01T00:00:00.250Z'],
    ['2024-05-01T00:00:00.000000001Z', '2024-05-01T00:00:00Z'],
    ['2024-01-01T00:30:00+01:00', '2023-12-31T23:30:00Z'],
  ];
  for (const [value, normalised] of valid) {
    it(`normalises ${value}`, () => assert.deepEqual(checkFromTimestamp(value), { ok: true, value: normalised }));
  }

  const invalid: [string, string][] = [
    [
      '2024-05-01T00:00:00',
      'events.datasource:4: Invalid IMPORT_FROM_TIMESTAMP: found "2024-05-01T00:00:00" without a UTC offset, expected an explicit UTC offset: YYYY-MM-DDTHH:MM:SSZ or e.g. +02:00 at the end',
    ],
    [
      '2024-05-01',
      'events.datasource:4: Invalid IMPORT_FROM_TIMESTAMP: found "2024-05-01", expected YYYY-MM-DDTHH:MM:SSZ, e.g. 2024-05-01T00:00:00Z',
    ],
    [
      '2024-05-01 00:00:00Z',
      'events.datasource:4: Invalid IMPORT_FROM_TIMESTAMP: found "2024-05-01 00:00:00Z", expected YYYY-MM-DDTHH:MM:SSZ, e.g. 2024-05-01T00:00:00Z',
    ],
    [
      'yesterday',
      'events.datasource:4: Invalid IMPORT_FROM_TIMESTAMP: found "yesterday", expected YYYY-MM-DDTHH:MM:SSZ, e.g. 2024-05-01T00:00:00Z',
    ],
    [
      '2023-02-29T00:00:00Z',
      'events.datasource:4: Invalid IMPORT_FROM_TIMESTAMP: found "2023-02-29T00:00:00Z", which is not a real date and time, expected a valid calendar date and a time from 00:00:00 to 23:59:59',
    ],
    [
      '2024-05-01T24:00:00Z',
      'events.datasource:4: Invalid IMPORT_FROM_TIMESTAMP: found "2024-05-01T24:00:00Z", which is not a real date and time, expected a valid calendar date and a time from 00:00:00 to 23:59:59',
    ],
    [
      '2024-05-01T00:00:00+24:00',
      'events.datasource:4: Invalid IMPORT_FROM_TIMESTAMP: found "2024-05-01T00:00:00+24:00" with offset "+24:00", expected an offset from -23:59 to +23:59',
    ],
  ];
  for (const [value, message] of invalid) {
    it(`refuses ${value}`, () => {
      const text = ds(
        `IMPORT_FROM_TIMESTAMP ${value}\nIMPORT_CONNECTION_NAME s3sample\nIMPORT_BUCKET_URI s3://b-1/*.csv\nIMPORT_SCHEDULE @auto`,
      );
      const errors = dsErrors(text);
      assert.deepEqual(errors, [message]);
      assert.ok(errors[0]?.includes('Invalid IMPORT_FROM_TIMESTAMP'));
    });
  }
});

// ---------------------------------------------------------------------------
const SAMPLE = `DESCRIPTION >
    Analytics events landing data source

SCHEMA >
    \`timestamp\` DateTime \`json:$.timestamp\`,
    \`session_id\` String \`json:$.session_id\`,
    \`action\` LowCardinality(String) \`json:$.action\`,
    \`version\` LowCardinality(String) \`json:$.version\`,
    \`payload\` String \`json:$.payload\`

ENGINE "MergeTree"
ENGINE_PARTITION_KEY "toYYYYMM(timestamp)"
ENGINE_SORTING_KEY "timestamp"
ENGINE_TTL "timestamp + toIntervalDay(60)"

IMPORT_CONNECTION_NAME s3sample
IMPORT_BUCKET_URI s3://my-bucket/*.csv
IMPORT_SCHEDULE @auto
`;

const LC: ColumnType = { kind: 'LowCardinality', inner: S };

describe('.datasource files (R1.2)', () => {
  it("parses the reference's sample s3sample.datasource", () => {
    const expected: DataSourceDef = {
      name: 's3sample',
      path: 'project/s3sample.datasource',
      description: 'Analytics events landing data source',
      schema: [
        { name: 'timestamp', typeText: 'DateTime', type: { kind: 'DateTime' }, jsonPath: '$.timestamp', line: 5 },
        { name: 'session_id', typeText: 'String', type: S, jsonPath: '$.session_id', line: 6 },
        { name: 'action', typeText: 'LowCardinality(String)', type: LC, jsonPath: '$.action', line: 7 },
        { name: 'version', typeText: 'LowCardinality(String)', type: LC, jsonPath: '$.version', line: 8 },
        { name: 'payload', typeText: 'String', type: S, jsonPath: '$.payload', line: 9 },
      ],
      engine: 'MergeTree',
      partitionKey: 'toYYYYMM(timestamp)',
      sortingKey: 'timestamp',
      ttl: 'timestamp + toIntervalDay(60)',
      import: { connectionName: 's3sample', bucketUri: 's3://my-bucket/*.csv', schedule: { kind: 'auto' } },
    };
    assert.deepEqual(parseDataSource(SAMPLE, 'project/s3sample.datasource'), expected);
    // CRLF line endings read the same.
    assert.deepEqual(parseDataSource(SAMPLE.replace(/\n/g, '\r\n'), 'project/s3sample.datasource'), expected);
  });

  it('keeps a multi-line DESCRIPTION with its relative indentation and inner blank lines', () => {
    const d = parseDataSource(
      `DESCRIPTION >\n    First line.\n\n      indented\n    # not a comment here\n\n${ds('')}`,
      'd.datasource',
    );
    assert.equal(d.description, 'First line.\n\n  indented\n# not a comment here');
  });

  it('accepts an inline DESCRIPTION, quoted with double or single quotes', () => {
    assert.equal(parseDataSource(ds('DESCRIPTION "Events"'), 'd.datasource').description, 'Events');
    assert.equal(parseDataSource(ds("DESCRIPTION 'It\\'s'"), 'd.datasource').description, "It's");
  });

  it('parses columns: backquoted and bare names, optional JSONPath, DEFAULT in either order, comments, trailing comma', () => {
    const d = parseDataSource(
      `SCHEMA >
    # a comment inside the schema
    \`id\` UInt64 \`json:$.id\`,
    name Nullable(String),
    \`user agent\` String \`json:$['user agent']\` DEFAULT 'unknown',
    \`n\` Int32 DEFAULT 0 \`json:$.n\`,
    \`ts\` DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC') \`json:$.ts\`,
    \`tags\` Array(String) \`json:$.tags[:]\` DEFAULT [],
    \`m\` Map(String, Int64) \`json:$\` DEFAULT map('a', 1, 'b', 2),
`,
      'cols.datasource',
    );
    const expected: Column[] = [
      { name: 'id', typeText: 'UInt64', type: int(64, false), jsonPath: '$.id', line: 3 },
      { name: 'name', typeText: 'Nullable(String)', type: { kind: 'Nullable', inner: S }, line: 4 },
      {
        name: 'user agent',
        typeText: 'String',
        type: S,
        jsonPath: "$['user agent']",
        defaultExpr: "'unknown'",
        line: 5,
      },
      { name: 'n', typeText: 'Int32', type: int(32), jsonPath: '$.n', defaultExpr: '0', line: 6 },
      {
        name: 'ts',
        typeText: "DateTime64(3, 'UTC')",
        type: { kind: 'DateTime64', precision: 3, timezone: 'UTC' },
        jsonPath: '$.ts',
        defaultExpr: "now64(3, 'UTC')",
        line: 7,
      },
      {
        name: 'tags',
        typeText: 'Array(String)',
        type: { kind: 'Array', element: S },
        jsonPath: '$.tags[:]',
        defaultExpr: '[]',
        line: 8,
      },
      {
        name: 'm',
        typeText: 'Map(String, Int64)',
        type: { kind: 'Map', key: S, value: int(64) },
        jsonPath: '$',
        defaultExpr: "map('a', 1, 'b', 2)",
        line: 9,
      },
    ];
    assert.deepEqual(d.schema, expected);
    assert.equal(d.sortingKey, 'ts');
  });

  it('normalises the type text of columns', () => {
    const d = parseDataSource(ds('', "    `t` DateTime64( 3,'UTC' ),\n    `d` Decimal32(2)"), 'd.datasource');
    assert.deepEqual(
      d.schema.map((c) => c.typeText),
      ["DateTime64(3, 'UTC')", 'Decimal(9, 2)'],
    );
  });

  const engines: [string, string][] = [
    ['', 'MergeTree'],
    ['ENGINE "MergeTree"', 'MergeTree'],
    ['ENGINE MergeTree', 'MergeTree'],
    ["ENGINE 'ReplacingMergeTree'", 'ReplacingMergeTree'],
    ['ENGINE "MergeTree()"', 'MergeTree'],
    ['ENGINE SummingMergeTree', 'SummingMergeTree'],
    ['ENGINE AggregatingMergeTree', 'AggregatingMergeTree'],
  ];
  for (const [line, engine] of engines) {
    it(`ENGINE: ${JSON.stringify(line)} gives ${engine}`, () =>
      assert.equal(parseDataSource(ds(line), 'd.datasource').engine, engine));
  }

  it('ENGINE_PARTITION_KEY, ENGINE_SORTING_KEY, ENGINE_TTL, quoted, bare and as a block', () => {
    const d = parseDataSource(
      ds(
        `ENGINE_PARTITION_KEY toYYYYMM(ts)\nENGINE_SORTING_KEY >\n    ts,\n    id\nENGINE_TTL 'ts + toIntervalDay(7)'`,
        '    `id` Int64,\n    `ts` DateTime',
      ),
      'd.datasource',
    );
    assert.equal(d.partitionKey, 'toYYYYMM(ts)');
    assert.equal(d.sortingKey, 'ts, id');
    assert.equal(d.ttl, 'ts + toIntervalDay(7)');
  });

  it('an empty ENGINE_PARTITION_KEY "" means no partition key; an empty ENGINE_SORTING_KEY means no sorting key', () => {
    const d = parseDataSource(ds('ENGINE_PARTITION_KEY ""\nENGINE_SORTING_KEY ""'), 'd.datasource');
    assert.equal(d.partitionKey, undefined);
    assert.equal(d.sortingKey, undefined);
    assert.equal('partitionKey' in d, false);
  });

  it('accepts sorting keys with tuple(), parentheses, functions and backquoted names', () => {
    for (const key of ['tuple()', '(id, ts)', 'tuple(id, ts)', 'toDate(ts), id', '`id`, cityHash64(id)']) {
      assert.equal(
        parseDataSource(ds(`ENGINE_SORTING_KEY "${key}"`, '    `id` Int64,\n    `ts` DateTime'), 'd.datasource')
          .sortingKey,
        key,
      );
    }
  });

  const sortingDefaults: [string[], string | undefined][] = [
    [['`s` String', '`n` Int32', '`t` DateTime'], 't'],
    [['`s` String', '`n` Int32', '`t` DateTime64(3)'], 't'],
    [['`s` String', "`t` DateTime('UTC')"], 't'],
    [['`s` String', '`n` Nullable(DateTime)', '`f` Float32'], 'f'],
    [['`s` String', '`d` Decimal(10, 2)'], 'd'],
    [['`s` String', '`u` UInt8'], 'u'],
    [['`a` Array(String)', '`s` LowCardinality(String)'], 's'],
    [['`x` Nullable(String)', '`s` String'], 's'],
    [['`t` LowCardinality(DateTime)', '`n` Int8'], 't'],
    [['`my col` String'], '`my col`'],
    [['`d` Date', '`b` Bool', '`a` Array(Int8)'], undefined],
  ];
  for (const [columns, key] of sortingDefaults) {
    it(`default sorting key of ${columns.join(', ')} is ${key}`, () => {
      const schema = columns.map((c) => `    ${c}`).join(',\n');
      const d = parseDataSource(ds('', schema), 'd.datasource');
      assert.equal(d.sortingKey, key);
      assert.equal(defaultSortingKey(d.schema), key);
    });
  }

  it('IMPORT_* settings: every schedule, cron, timestamp, format, quotes', () => {
    const imp = (lines: string) =>
      parseDataSource(
        ds(`IMPORT_CONNECTION_NAME 'conn_1'\nIMPORT_BUCKET_URI "s3://my.bucket-1/a/**/*.ndjson.gz"\n${lines}`),
        'd.datasource',
      ).import;
    assert.deepEqual(imp('IMPORT_SCHEDULE @auto'), {
      connectionName: 'conn_1',
      bucketUri: 's3://my.bucket-1/a/**/*.ndjson.gz',
      schedule: { kind: 'auto' },
    });
    assert.deepEqual(imp('IMPORT_SCHEDULE @once')?.schedule, { kind: 'once' });
    assert.deepEqual(imp('IMPORT_SCHEDULE "@on-demand"')?.schedule, { kind: 'on-demand' });
    assert.deepEqual(imp('IMPORT_SCHEDULE */5  * * * *')?.schedule, { kind: 'cron', expression: '*/5 * * * *' });
    assert.deepEqual(imp("IMPORT_SCHEDULE '0 3 * * MON'")?.schedule, { kind: 'cron', expression: '0 3 * * MON' });
    assert.equal(
      imp('IMPORT_SCHEDULE @auto\nIMPORT_FROM_TIMESTAMP 2024-05-01T02:00:00+02:00')?.fromTimestamp,
      '2024-05-01T00:00:00Z',
    );
    assert.equal(
      imp('IMPORT_SCHEDULE @auto\nIMPORT_FROM_TIMESTAMP "2024-05-01T00:00:00Z"')?.fromTimestamp,
      '2024-05-01T00:00:00Z',
    );
    for (const f of ['csv', 'ndjson', 'parquet'])
      assert.equal(imp(`IMPORT_SCHEDULE @auto\nIMPORT_FORMAT ${f}`)?.format, f);
    assert.equal(imp('IMPORT_SCHEDULE @auto\nIMPORT_FORMAT "CSV"')?.format, 'csv');
    assert.deepEqual(imp('IMPORT_SCHEDULE @once\nIMPORT_FORMAT parquet\nIMPORT_FROM_TIMESTAMP 2020-01-01T00:00:00Z'), {
      connectionName: 'conn_1',
      bucketUri: 's3://my.bucket-1/a/**/*.ndjson.gz',
      schedule: { kind: 'once' },
      fromTimestamp: '2020-01-01T00:00:00Z',
      format: 'parquet',
    });
  });

  it('bucket URIs: bucket only, prefix, trailing slash', () => {
    for (const uri of ['s3://abc', 's3://abc/', 's3://abc/prefix', 's3://a.b-c/x/y/*.csv']) {
      const d = parseDataSource(
        ds(`IMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI ${uri}\nIMPORT_SCHEDULE @once`),
        'd.datasource',
      );
      assert.equal(d.import?.bucketUri, uri);
    }
  });

  it('a data source without IMPORT_* has no import settings', () => {
    assert.equal('import' in parseDataSource(ds(''), 'd.datasource'), false);
  });

  it('keywords are case-insensitive; # comments and blank lines are ignored, also between block lines', () => {
    const d = parseDataSource(
      `# leading comment\nschema >\n    \`a\` Int8,\n# comment at column 0 inside the block\n    \`b\` String\n\nengine 'MergeTree'\n   # indented comment\n`,
      'd.datasource',
    );
    assert.deepEqual(
      d.schema.map((c) => c.name),
      ['a', 'b'],
    );
    assert.equal(d.engine, 'MergeTree');
  });

  it('resolves tb_secret references in values when given a resolver', () => {
    const lookup = (n: string) => ({ BUCKET: 'secret-bucket' })[n];
    const d = parseDataSource(
      ds(
        'IMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI s3://{{ tb_secret("BUCKET") }}/*.csv\nIMPORT_SCHEDULE {{ tb_secret("SCHED", "@once") }}',
      ),
      'd.datasource',
      (raw, line) => resolveSecrets(raw, lookup, { file: 'd.datasource', line }),
    );
    assert.equal(d.import?.bucketUri, 's3://secret-bucket/*.csv');
    assert.deepEqual(d.import?.schedule, { kind: 'once' });
  });
});

// ---------------------------------------------------------------------------
describe('.datasource errors (R1.4): exact messages', () => {
  const IMPORT_OK = 'IMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI s3://bucket/*.csv\nIMPORT_SCHEDULE @auto';
  const cases: { name: string; text: string; file?: string; errors: string[] }[] = [
    {
      name: 'bad data source name',
      text: ds(''),
      file: 'dir/my-events.datasource',
      errors: [
        'dir/my-events.datasource:1: Invalid data source name: found "my-events", expected a name matching ^[a-zA-Z_][a-zA-Z0-9_]*$ (letters, digits and _, not starting with a digit)',
      ],
    },
    {
      name: 'name starting with a digit',
      text: ds(''),
      file: '1events.datasource',
      errors: [
        '1events.datasource:1: Invalid data source name: found "1events", expected a name matching ^[a-zA-Z_][a-zA-Z0-9_]*$ (letters, digits and _, not starting with a digit)',
      ],
    },
    {
      name: 'wrong extension',
      text: ds(''),
      file: 'events.txt',
      errors: [
        'events.txt:1: Invalid data source file name: found "events.txt", expected a file name ending in .datasource',
      ],
    },
    {
      name: 'unknown keyword with suggestion',
      text: ds('ENGINE_SORTNG_KEY id'),
      errors: [
        `events.datasource:4: Unknown keyword: found "ENGINE_SORTNG_KEY", expected one of ${KEYWORDS}; did you mean ENGINE_SORTING_KEY?`,
      ],
    },
    {
      name: 'unknown keyword without suggestion',
      text: ds('TOKEN read'),
      errors: [`events.datasource:4: Unknown keyword: found "TOKEN", expected one of ${KEYWORDS}`],
    },
    {
      name: 'duplicate keyword',
      text: ds('ENGINE MergeTree\nENGINE MergeTree'),
      errors: [
        'events.datasource:5: Duplicate keyword ENGINE: found a second ENGINE (the first is on line 4), expected ENGINE at most once per file',
      ],
    },
    {
      name: 'missing SCHEMA',
      text: 'ENGINE MergeTree\n',
      errors: [
        'events.datasource:1: Missing SCHEMA: found no SCHEMA block, expected "SCHEMA >" followed by indented column lines such as `id` Int64 `json:$.id`',
      ],
    },
    {
      name: 'SCHEMA without >',
      text: 'SCHEMA `id` Int64\n',
      errors: [
        'events.datasource:1: Invalid SCHEMA line: found "SCHEMA `id` Int64", expected "SCHEMA >" followed by indented lines',
      ],
    },
    {
      name: 'empty SCHEMA',
      text: 'SCHEMA >\n\nENGINE MergeTree\n',
      errors: [
        'events.datasource:1: Empty SCHEMA: found no columns, expected indented column lines such as `id` Int64 `json:$.id`',
      ],
    },
    {
      name: 'indented line outside a block',
      text: ds('ENGINE MergeTree\n    stray'),
      errors: [
        'events.datasource:5: Unexpected indented line: found "stray", expected a keyword at the start of the line (indented lines only follow "KEYWORD >")',
      ],
    },
    {
      name: 'keyword glued to its value',
      text: ds('IMPORT_SCHEDULE=@auto'),
      errors: [
        'events.datasource:4: Invalid IMPORT_SCHEDULE line: found "IMPORT_SCHEDULE=@auto", expected IMPORT_SCHEDULE, a space, then the value',
      ],
    },
    {
      name: 'keyword without value',
      text: ds('ENGINE'),
      errors: ['events.datasource:4: Missing value for ENGINE: found end of line, expected ENGINE followed by a value'],
    },
    {
      name: 'block form for a one-line keyword',
      text: ds('IMPORT_SCHEDULE >\n    @auto'),
      errors: [
        'events.datasource:4: Invalid IMPORT_SCHEDULE line: found "IMPORT_SCHEDULE >", expected IMPORT_SCHEDULE followed by its value on the same line',
        'events.datasource:5: Unexpected indented line: found "@auto", expected a keyword at the start of the line (indented lines only follow "KEYWORD >")',
      ],
    },
    {
      name: 'text on the same line as "KEYWORD >"',
      text: `DESCRIPTION > Events\n${ds('')}`,
      errors: [
        'events.datasource:1: Invalid DESCRIPTION line: found "DESCRIPTION > Events", expected "DESCRIPTION >" alone on its line, with the text on the following indented lines',
      ],
    },
    {
      name: 'line that is not a keyword',
      text: ds('"ENGINE" MergeTree'),
      errors: [
        `events.datasource:4: Invalid line: found "\\"ENGINE\\" MergeTree", expected a keyword (${KEYWORDS}) followed by a value or ">"`,
      ],
    },
    {
      name: 'unterminated quote',
      text: ds('ENGINE "MergeTree'),
      errors: ['events.datasource:4: Unterminated quoted value: found "\\"MergeTree", expected a closing "'],
    },
    {
      name: 'text after a quoted value',
      text: ds('ENGINE "MergeTree" # comment'),
      errors: [
        'events.datasource:4: Unexpected text after quoted value: found "# comment", expected end of line after the closing quote; a comment goes on a line of its own: "#" starts a comment only at the start of a line',
      ],
    },
    {
      // The README showed this once (issue #19, item 11): the reference has no inline comments, and a key may contain `#`.
      name: 'a comment after an unquoted value is part of the value',
      text: ds(
        'IMPORT_CONNECTION_NAME s3sample\nIMPORT_BUCKET_URI s3://b-1/#1/*.csv\nIMPORT_SCHEDULE @auto   # or @once',
      ),
      errors: [
        'events.datasource:6: Invalid IMPORT_SCHEDULE: found "@auto   # or @once", expected @auto, @once, @on-demand or a 5-field cron expression such as "0 * * * *"; a comment goes on a line of its own: "#" starts a comment only at the start of a line',
      ],
    },
    {
      name: 'unknown engine',
      text: ds('ENGINE "Memory"'),
      errors: [
        'events.datasource:4: Unknown ENGINE: found "Memory", expected one of MergeTree, ReplacingMergeTree, SummingMergeTree, AggregatingMergeTree',
      ],
    },
    {
      name: 'unknown column in the sorting key',
      text: ds('ENGINE_SORTING_KEY "ts, idd"', '    `id` Int64,\n    `ts` DateTime'),
      errors: [
        'events.datasource:5: Unknown column in ENGINE_SORTING_KEY: found "idd", expected a column of the SCHEMA (id, ts); did you mean "id"?',
      ],
    },
    {
      name: 'unknown column in the partition key',
      text: ds('ENGINE_PARTITION_KEY "(region)"'),
      errors: [
        'events.datasource:4: Unknown column in ENGINE_PARTITION_KEY: found "region", expected a column of the SCHEMA (id)',
      ],
    },
    {
      name: 'unknown column type, with file and line of the column',
      text: ds('', '    `id` Int64,\n    `n` Integer'),
      errors: [`events.datasource:3: Unknown column type: found "Integer", expected one of ${ACCEPTED}`],
    },
    {
      name: 'missing column type',
      text: ds('', '    `id`,\n    `n` Int8'),
      errors: ['events.datasource:2: Missing column type: found ",", expected a type after the column name "id"'],
    },
    {
      name: 'missing comma between columns',
      text: ds('', '    `id` Int64 `json:$.id`\n    `n` Int8'),
      errors: [
        'events.datasource:2: Missing comma after column: found end of line, expected "," between columns (one column per line)',
      ],
    },
    {
      name: 'two columns on one line',
      text: ds('', '    `id` Int64, `n` Int8'),
      errors: [
        'events.datasource:2: More than one column on a line: found "`n` Int8", expected end of line after "," (one column per line)',
      ],
    },
    {
      name: 'duplicate column',
      text: ds('', '    `id` Int64,\n    `id` String'),
      errors: [
        'events.datasource:3: Duplicate column name: found "id" again (first on line 2), expected each column name once',
      ],
    },
    {
      name: 'unknown column attribute',
      text: ds('', '    `id` Int64 CODEC(ZSTD)'),
      errors: [
        'events.datasource:2: Unexpected text in column: found "CODEC(ZSTD)", expected `json:$.path`, DEFAULT expr or "," at the end of the line',
      ],
    },
    {
      name: 'backquoted attribute that is not a JSONPath',
      text: ds('', '    `id` Int64 `$.id`'),
      errors: ['events.datasource:2: Invalid column attribute: found "`$.id`", expected `json:$.path`'],
    },
    {
      name: 'DEFAULT without expression',
      text: ds('', '    `id` Int64 DEFAULT,\n    `n` Int8'),
      errors: [
        'events.datasource:2: Missing DEFAULT expression: found ",", expected an expression after DEFAULT, e.g. DEFAULT 0 or DEFAULT now()',
      ],
    },
    {
      name: 'invalid column name',
      text: ds('', '    1abc Int64'),
      errors: [
        'events.datasource:2: Invalid column name: found "1abc", expected `name` in backticks or a name of letters, digits and _',
      ],
    },
    {
      name: 'IMPORT_* without the required settings',
      text: ds('IMPORT_FORMAT csv'),
      errors: [
        'events.datasource:4: Missing IMPORT_CONNECTION_NAME: found only IMPORT_FORMAT, expected IMPORT_CONNECTION_NAME <connection> when any IMPORT_* setting is given',
        'events.datasource:4: Missing IMPORT_BUCKET_URI: found only IMPORT_FORMAT, expected IMPORT_BUCKET_URI s3://bucket/pattern when any IMPORT_* setting is given',
        'events.datasource:4: Missing IMPORT_SCHEDULE: found only IMPORT_FORMAT, expected IMPORT_SCHEDULE @auto, @once, @on-demand or a cron expression when any IMPORT_* setting is given',
      ],
    },
    {
      name: 'missing IMPORT_SCHEDULE only',
      text: ds('IMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI s3://bucket/x.csv'),
      errors: [
        'events.datasource:4: Missing IMPORT_SCHEDULE: found only IMPORT_CONNECTION_NAME, IMPORT_BUCKET_URI, expected IMPORT_SCHEDULE @auto, @once, @on-demand or a cron expression when any IMPORT_* setting is given',
      ],
    },
    {
      name: 'bad schedule',
      text: ds('IMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI s3://bucket/*.csv\nIMPORT_SCHEDULE @hourly'),
      errors: [
        'events.datasource:6: Invalid IMPORT_SCHEDULE: found "@hourly", expected @auto, @once, @on-demand or a 5-field cron expression such as "0 * * * *"',
      ],
    },
    {
      name: 'bad cron schedule',
      text: ds('IMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI s3://bucket/*.csv\nIMPORT_SCHEDULE 0 25 * * *'),
      errors: ['events.datasource:6: Invalid cron hour field: found "25", expected a number in 0-23'],
    },
    {
      name: 'bucket URI without s3://',
      text: ds('IMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI https://bucket/x.csv\nIMPORT_SCHEDULE @once'),
      errors: [
        'events.datasource:5: Invalid IMPORT_BUCKET_URI: found "https://bucket/x.csv", expected s3://bucket/pattern, starting with s3://',
      ],
    },
    {
      name: 'bucket URI without bucket',
      text: ds('IMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI s3:///x.csv\nIMPORT_SCHEDULE @once'),
      errors: [
        'events.datasource:5: Invalid IMPORT_BUCKET_URI: found "s3:///x.csv" with no bucket name, expected s3://bucket/pattern with a bucket name after s3://',
      ],
    },
    {
      name: 'bucket URI with an invalid bucket name',
      text: ds('IMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI s3://My_Bucket/x.csv\nIMPORT_SCHEDULE @once'),
      errors: [
        'events.datasource:5: Invalid bucket name in IMPORT_BUCKET_URI: found "s3://My_Bucket/x.csv", expected a bucket name of 3 to 63 lower-case letters, digits, "." and "-", starting and ending with a letter or digit',
      ],
    },
    {
      name: 'bad connection name',
      text: ds('IMPORT_CONNECTION_NAME my.conn\nIMPORT_BUCKET_URI s3://bucket/x.csv\nIMPORT_SCHEDULE @once'),
      errors: [
        'events.datasource:4: Invalid IMPORT_CONNECTION_NAME: found "my.conn", expected the name of a .connection file: letters, digits, _ and -, not starting with a digit or -',
      ],
    },
    {
      name: 'bad format',
      text: ds(`${IMPORT_OK}\nIMPORT_FORMAT json`),
      errors: ['events.datasource:7: Invalid IMPORT_FORMAT: found "json", expected csv, ndjson, parquet'],
    },
    {
      name: 'several errors of one file, all reported in line order',
      text: 'SCHEMA >\n    `a` Strng,\n    `b` Int8 `json:$..b`\nENGIN MergeTree\nIMPORT_CONNECTION_NAME c\nIMPORT_BUCKET_URI s3://bucket/x.csv\nIMPORT_SCHEDULE @auto\nIMPORT_FROM_TIMESTAMP 2024-01-01T00:00:00\n',
      errors: [
        `events.datasource:2: Unknown column type: found "Strng", expected one of ${ACCEPTED}; did you mean "String"?`,
        'events.datasource:3: Invalid JSONPath "$..b": found "." at character 3, expected a key name after "." (or "[\'key\']" for other characters)',
        `events.datasource:4: Unknown keyword: found "ENGIN", expected one of ${KEYWORDS}; did you mean ENGINE?`,
        'events.datasource:8: Invalid IMPORT_FROM_TIMESTAMP: found "2024-01-01T00:00:00" without a UTC offset, expected an explicit UTC offset: YYYY-MM-DDTHH:MM:SSZ or e.g. +02:00 at the end',
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = checkDataSource(c.text, c.file ?? 'events.datasource');
      assert.deepEqual(
        r.errors.map((e) => e.message),
        c.errors,
      );
      assert.equal(r.dataSource, undefined);
      for (const e of r.errors) {
        assert.ok(e instanceof DatafileError);
        assert.equal(e.type, 'DatafileError');
        assert.ok(e.found.length > 0 && e.expected.length > 0);
      }
      // parseDataSource throws the first one.
      assert.throws(
        () => parseDataSource(c.text, c.file ?? 'events.datasource'),
        (e: unknown) => e instanceof DatafileError && e.message === c.errors[0],
      );
    });
  }

  it('error objects carry file, line, found and expected separately', () => {
    const [e] = checkDataSource(ds('ENGINE "Memory"'), 'a/b.datasource').errors;
    assert.ok(e);
    assert.equal(e.file, 'a/b.datasource');
    assert.equal(e.line, 4);
    assert.equal(e.what, 'Unknown ENGINE');
    assert.equal(e.found, '"Memory"');
    assert.equal(e.expected, 'one of MergeTree, ReplacingMergeTree, SummingMergeTree, AggregatingMergeTree');
    assert.equal(e.name, 'DatafileError');
  });

  it('isDatafileError recognises the class and its plain-object form (e.g. after serialisation)', () => {
    const [e] = checkDataSource(ds('ENGINE "Memory"'), 'a/b.datasource').errors;
    assert.equal(isDatafileError(e), true);
    assert.equal(isDatafileError(JSON.parse(JSON.stringify({ ...e, type: e?.type }))), true);
    assert.equal(isDatafileError(new Error('x')), false);
  });

  it('reports keyword lines for later checks', () => {
    assert.deepEqual(checkDataSource(SAMPLE, 's3sample.datasource').lines, {
      DESCRIPTION: 1,
      SCHEMA: 4,
      ENGINE: 11,
      ENGINE_PARTITION_KEY: 12,
      ENGINE_SORTING_KEY: 13,
      ENGINE_TTL: 14,
      IMPORT_CONNECTION_NAME: 16,
      IMPORT_BUCKET_URI: 17,
      IMPORT_SCHEDULE: 18,
    });
  });
});

// ---------------------------------------------------------------------------
const ARN = 'arn:aws:iam::123456789012:role/tinybird-s3';

describe('.connection files (R1.1)', () => {
  it("parses the reference's connection file", () => {
    assert.deepEqual(
      parseConnection(`TYPE s3\nS3_REGION "eu-west-1"\nS3_ARN "${ARN}"\n`, 'conns/s3sample.connection', noSecrets),
      {
        name: 's3sample',
        path: 'conns/s3sample.connection',
        type: 's3',
        region: 'eu-west-1',
        roleArn: ARN,
      },
    );
  });

  it('parses the extension: endpoint and static keys, without ARN, any region name with an endpoint', () => {
    assert.deepEqual(
      parseConnection(
        "# local MinIO\nTYPE s3\nS3_REGION auto\nS3_ENDPOINT 'http://localhost:9000'\nS3_ACCESS_KEY minio\nS3_SECRET minio123\n",
        'minio.connection',
        noSecrets,
      ),
      {
        name: 'minio',
        path: 'minio.connection',
        type: 's3',
        region: 'auto',
        endpoint: 'http://localhost:9000',
        accessKey: 'minio',
        secretKey: 'minio123',
      },
    );
  });

  it('accepts ARN and static keys together, role paths and other partitions', () => {
    const c = parseConnection(
      `TYPE s3\nS3_REGION us-gov-west-1\nS3_ARN arn:aws-us-gov:iam::123456789012:role/path/to/r+o=l,e.@-\nS3_ACCESS_KEY k\nS3_SECRET s\n`,
      'c.connection',
      noSecrets,
    );
    assert.equal(c.roleArn, 'arn:aws-us-gov:iam::123456789012:role/path/to/r+o=l,e.@-');
    assert.equal(c.accessKey, 'k');
  });

  it('resolves secrets through the resolver, with line numbers', () => {
    const seen: [string, number][] = [];
    const c = parseConnection(
      'TYPE s3\nS3_REGION {{ tb_secret("REGION", "us-east-1") }}\nS3_ARN {{ tb_secret("ARN") }}\n',
      'c.connection',
      (raw, line) => {
        seen.push([raw, line]);
        return resolveSecrets(raw, (n) => (n === 'ARN' ? ARN : undefined), { file: 'c.connection', line });
      },
    );
    assert.equal(c.region, 'us-east-1');
    assert.equal(c.roleArn, ARN);
    assert.deepEqual(seen, [
      ['s3', 1],
      ['{{ tb_secret("REGION", "us-east-1") }}', 2],
      ['{{ tb_secret("ARN") }}', 3],
    ]);
  });

  it('roleAccountId', () => {
    assert.equal(roleAccountId(ARN), '123456789012');
    assert.equal(roleAccountId('arn:aws-cn:iam::000000000001:role/x/y'), '000000000001');
    assert.equal(roleAccountId('arn:aws:iam::12345:role/x'), undefined);
    assert.equal(roleAccountId('arn:aws:iam::123456789012:user/x'), undefined);
    assert.equal(roleAccountId(''), undefined);
  });

  const CONNECTION_KEYWORDS = 'TYPE, S3_REGION, S3_ARN, S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET';
  const cases: { name: string; text: string; file?: string; errors: string[] }[] = [
    {
      name: 'missing TYPE',
      text: `S3_REGION us-east-1\nS3_ARN ${ARN}`,
      errors: ['s3.connection:1: Missing TYPE: found no TYPE line, expected TYPE s3'],
    },
    {
      name: 'other TYPE',
      text: `TYPE kafka\nS3_REGION us-east-1\nS3_ARN ${ARN}`,
      errors: ['s3.connection:1: Unsupported connection TYPE: found "kafka", expected s3'],
    },
    {
      name: 'missing region',
      text: `TYPE s3\nS3_ARN ${ARN}`,
      errors: [
        's3.connection:1: Missing S3_REGION: found no S3_REGION line, expected S3_REGION "<region>", e.g. S3_REGION "us-east-1"',
      ],
    },
    {
      name: 'region that is not an AWS region',
      text: `TYPE s3\nS3_REGION europe\nS3_ARN ${ARN}`,
      errors: [
        's3.connection:2: Invalid S3_REGION: found "europe", expected an AWS region such as us-east-1 or eu-west-1 (any name is accepted together with S3_ENDPOINT)',
      ],
    },
    {
      name: 'region with bad characters',
      text: `TYPE s3\nS3_REGION "us east 1"\nS3_ARN ${ARN}`,
      errors: ['s3.connection:2: Invalid S3_REGION: found "us east 1", expected a region name such as us-east-1'],
    },
    {
      name: 'bad ARN',
      text: 'TYPE s3\nS3_REGION us-east-1\nS3_ARN arn:aws:iam::1234:role/x',
      errors: [
        's3.connection:3: Invalid S3_ARN: found "arn:aws:iam::1234:role/x", expected an IAM role ARN: arn:aws:iam::<12-digit account id>:role/<role name>',
      ],
    },
    {
      name: 'user ARN',
      text: 'TYPE s3\nS3_REGION us-east-1\nS3_ARN arn:aws:iam::123456789012:user/bob',
      errors: [
        's3.connection:3: Invalid S3_ARN: found "arn:aws:iam::123456789012:user/bob", expected an IAM role ARN: arn:aws:iam::<12-digit account id>:role/<role name>',
      ],
    },
    {
      name: 'no credentials',
      text: 'TYPE s3\nS3_REGION us-east-1\n',
      errors: [
        's3.connection:1: Missing credentials: found neither S3_ARN nor S3_ACCESS_KEY/S3_SECRET, expected S3_ARN "<IAM role ARN>" (or, for local use, S3_ACCESS_KEY and S3_SECRET)',
      ],
    },
    {
      name: 'access key without secret',
      text: 'TYPE s3\nS3_REGION us-east-1\nS3_ACCESS_KEY abc',
      errors: [
        's3.connection:3: Missing S3_SECRET: found S3_ACCESS_KEY without S3_SECRET, expected both S3_ACCESS_KEY and S3_SECRET, or neither',
      ],
    },
    {
      name: 'secret without access key',
      text: 'TYPE s3\nS3_REGION us-east-1\nS3_SECRET abc',
      errors: [
        's3.connection:3: Missing S3_ACCESS_KEY: found S3_SECRET without S3_ACCESS_KEY, expected both S3_ACCESS_KEY and S3_SECRET, or neither',
      ],
    },
    {
      name: 'bad endpoint',
      text: 'TYPE s3\nS3_REGION auto\nS3_ENDPOINT localhost:9000\nS3_ACCESS_KEY a\nS3_SECRET b',
      errors: [
        's3.connection:3: Invalid S3_ENDPOINT: found "localhost:9000", expected an http:// or https:// URL, e.g. http://localhost:9000',
      ],
    },
    {
      name: 'endpoint that is not a URL',
      text: 'TYPE s3\nS3_REGION auto\nS3_ENDPOINT "not a url"\nS3_ACCESS_KEY a\nS3_SECRET b',
      errors: [
        's3.connection:3: Invalid S3_ENDPOINT: found "not a url", expected an http:// or https:// URL, e.g. http://localhost:9000',
      ],
    },
    {
      name: 'empty access key',
      text: 'TYPE s3\nS3_REGION us-east-1\nS3_ACCESS_KEY ""\nS3_SECRET b',
      errors: ['s3.connection:3: Empty S3_ACCESS_KEY: found "", expected a non-empty S3_ACCESS_KEY'],
    },
    {
      name: 'unknown keyword (and so no credentials)',
      text: `TYPE s3\nS3_REGION us-east-1\nS3_ROLE ${ARN}`,
      errors: [
        's3.connection:1: Missing credentials: found neither S3_ARN nor S3_ACCESS_KEY/S3_SECRET, expected S3_ARN "<IAM role ARN>" (or, for local use, S3_ACCESS_KEY and S3_SECRET)',
        `s3.connection:3: Unknown keyword: found "S3_ROLE", expected one of ${CONNECTION_KEYWORDS}`,
      ],
    },
    {
      name: 'misspelt keyword: no extra "missing" error',
      text: `TYPE s3\nS3_REGION us-east-1\nS3_RAN ${ARN}`,
      errors: [
        `s3.connection:3: Unknown keyword: found "S3_RAN", expected one of ${CONNECTION_KEYWORDS}; did you mean S3_ARN?`,
      ],
    },
    {
      name: 'duplicate keyword',
      text: `TYPE s3\nS3_REGION us-east-1\nS3_REGION us-east-2\nS3_ARN ${ARN}`,
      errors: [
        's3.connection:3: Duplicate keyword S3_REGION: found a second S3_REGION (the first is on line 2), expected S3_REGION at most once per file',
      ],
    },
    {
      name: 'bad connection name',
      text: `TYPE s3\nS3_REGION us-east-1\nS3_ARN ${ARN}`,
      file: 'my.s3.connection',
      errors: [
        'my.s3.connection:1: Invalid connection name: found "my.s3", expected a name matching ^[a-zA-Z_][a-zA-Z0-9_-]*$ (letters, digits, _ and -, not starting with a digit or -)',
      ],
    },
    {
      name: 'connection name starting with -',
      text: `TYPE s3\nS3_REGION us-east-1\nS3_ARN ${ARN}`,
      file: '-s3.connection',
      errors: [
        '-s3.connection:1: Invalid connection name: found "-s3", expected a name matching ^[a-zA-Z_][a-zA-Z0-9_-]*$ (letters, digits, _ and -, not starting with a digit or -)',
      ],
    },
    {
      name: 'block form',
      text: `TYPE s3\nS3_REGION >\n    us-east-1\nS3_ARN ${ARN}`,
      errors: [
        's3.connection:2: Invalid S3_REGION line: found "S3_REGION >", expected S3_REGION followed by its value on the same line',
        's3.connection:3: Unexpected indented line: found "us-east-1", expected a keyword at the start of the line (indented lines only follow "KEYWORD >")',
      ],
    },
  ];
  for (const c of cases) {
    it(`error: ${c.name}`, () => {
      const r = checkConnection(c.text, c.file ?? 's3.connection', noSecrets);
      assert.deepEqual(
        r.errors.map((e) => e.message),
        c.errors,
      );
      assert.equal(r.connection, undefined);
      assert.throws(
        () => parseConnection(c.text, c.file ?? 's3.connection', noSecrets),
        (e: unknown) => e instanceof DatafileError && e.message === c.errors[0],
      );
    });
  }
});

// ---------------------------------------------------------------------------
describe('loadProject', () => {
  const write = (root: string, files: Record<string, string>) => {
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    }
  };
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 's3c-project-'));
  const CONN = `TYPE s3\nS3_REGION us-east-1\nS3_ARN {{ tb_secret("S3_ARN") }}\n`;
  const lookup = (n: string) => (n === 'S3_ARN' ? ARN : undefined);

  it("accepts the reference's connection names my-s3-local and my-s3-cloud (issue #19, item 9)", () => {
    const root = tmp();
    write(root, {
      'my-s3-local.connection': CONN,
      'my-s3-cloud.connection': CONN,
      'local_events.datasource': ds(
        'IMPORT_CONNECTION_NAME my-s3-local\nIMPORT_BUCKET_URI s3://my-bucket/a/*.csv\nIMPORT_SCHEDULE @once',
      ),
      'cloud_events.datasource': ds(
        "IMPORT_CONNECTION_NAME 'my-s3-cloud'\nIMPORT_BUCKET_URI s3://my-bucket/b/*.csv\nIMPORT_SCHEDULE @once",
      ),
    });
    const p = loadProject(root, lookup);
    assert.deepEqual(p.errors, []);
    assert.deepEqual(
      p.connections.map((c) => c.name),
      ['my-s3-cloud', 'my-s3-local'],
    );
    assert.deepEqual(
      p.dataSources.map((d) => [d.name, d.import?.connectionName]),
      [
        ['cloud_events', 'my-s3-cloud'],
        ['local_events', 'my-s3-local'],
      ],
    );
  });

  it('loads connections and data sources recursively, skipping node_modules and dot-folders', () => {
    const root = tmp();
    write(root, {
      'connections/s3sample.connection': CONN,
      's3sample.datasource': SAMPLE,
      'datasources/other.datasource': ds(
        'IMPORT_CONNECTION_NAME s3sample\nIMPORT_BUCKET_URI s3://my-bucket/other/*.ndjson\nIMPORT_SCHEDULE @once',
      ),
      'node_modules/pkg/bad.datasource': 'garbage',
      '.s3c/bad.connection': 'garbage',
      'notes.txt': 'ignored',
    });
    const p = loadProject(root, lookup);
    assert.deepEqual(p.errors, []);
    assert.deepEqual(p.connections, [
      {
        name: 's3sample',
        path: path.join(root, 'connections/s3sample.connection'),
        type: 's3',
        region: 'us-east-1',
        roleArn: ARN,
      },
    ]);
    assert.deepEqual(
      p.dataSources.map((d) => [d.name, d.path]),
      [
        ['other', path.join(root, 'datasources/other.datasource')],
        ['s3sample', path.join(root, 's3sample.datasource')],
      ],
    );
  });

  it('collects every error across files, and checks IMPORT_CONNECTION_NAME against the connections', () => {
    const root = tmp();
    write(root, {
      'good.connection': CONN,
      'broken.connection': 'TYPE s3\nS3_ARN nope\n',
      'nosecret.connection': 'TYPE s3\nS3_REGION us-east-1\nS3_ARN {{ tb_secret("MISSING_ARN") }}\n',
      'a_ok.datasource': ds(
        'IMPORT_CONNECTION_NAME good\nIMPORT_BUCKET_URI s3://bucket/a/*.csv\nIMPORT_SCHEDULE @auto',
      ),
      'b_typo.datasource': ds(
        '\nIMPORT_CONNECTION_NAME godo\nIMPORT_BUCKET_URI s3://bucket/b/*.csv\nIMPORT_SCHEDULE @auto',
      ),
      'c_broken_conn.datasource': ds(
        'IMPORT_CONNECTION_NAME broken\nIMPORT_BUCKET_URI s3://bucket/c/*.csv\nIMPORT_SCHEDULE @auto',
      ),
      'd_bad.datasource': ds('ENGINE Log'),
      'sub/d_bad.datasource': ds(''),
      'no_import.datasource': ds(''),
    });
    const p = loadProject(root, lookup);
    const rel = (f: string) => path.join(root, f);
    assert.deepEqual(
      p.errors.map((e) => e.message),
      [
        `${rel('b_typo.datasource')}:5: Unknown connection in IMPORT_CONNECTION_NAME: found "godo", expected the name of a .connection file of the project (broken, good, nosecret); did you mean "good"?`,
        `${rel('broken.connection')}:1: Missing S3_REGION: found no S3_REGION line, expected S3_REGION "<region>", e.g. S3_REGION "us-east-1"`,
        `${rel('broken.connection')}:2: Invalid S3_ARN: found "nope", expected an IAM role ARN: arn:aws:iam::<12-digit account id>:role/<role name>`,
        `${rel('d_bad.datasource')}:4: Unknown ENGINE: found "Log", expected one of MergeTree, ReplacingMergeTree, SummingMergeTree, AggregatingMergeTree`,
        `${rel('nosecret.connection')}:3: Secret "MISSING_ARN" is not set: found "{{ tb_secret(\\"MISSING_ARN\\") }}", expected a secret named MISSING_ARN in the secret store (s3c secret set MISSING_ARN VALUE) or the environment, or a default: {{ tb_secret("MISSING_ARN", "default") }}`,
        `${rel('sub/d_bad.datasource')}:1: Duplicate data source name: found "d_bad", also defined by ${rel('d_bad.datasource')}, expected one .datasource file per name`,
      ],
    );
    assert.deepEqual(
      p.connections.map((c) => c.name),
      ['good'],
    );
    // c_broken_conn names a connection file that exists but is broken: only the connection's own errors are reported.
    assert.deepEqual(
      p.dataSources.map((d) => d.name),
      ['a_ok', 'c_broken_conn', 'no_import'],
    );
  });

  it('reports a missing connection when the project has none', () => {
    const root = tmp();
    write(root, {
      'x.datasource': ds('IMPORT_CONNECTION_NAME s3sample\nIMPORT_BUCKET_URI s3://bucket/*.csv\nIMPORT_SCHEDULE @auto'),
    });
    assert.deepEqual(
      loadProject(root, lookup).errors.map((e) => e.message),
      [
        `${path.join(root, 'x.datasource')}:4: Unknown connection in IMPORT_CONNECTION_NAME: found "s3sample", expected the name of a .connection file of the project (there is none: create s3sample.connection)`,
      ],
    );
  });
});
