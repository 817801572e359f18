/**
 * DEFAULT expressions (issue #18, item 1): a closed grammar checked against
 * the column type at parse time, rendered by us. The text as written never
 * reaches SQL: what DuckDB runs is rendered from the checked value.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { checkDataSource, checkDefaultExpr, parseColumnType } from '../../src/datafiles';
import { defaultSql } from '../../src/sinks/duckdbTypes';

/** A data source whose second column is `column`, parsed from `p/x.datasource`. */
function errorsOf(column: string): string[] {
  return checkDataSource(`SCHEMA >\n    \`id\` Int32,\n    ${column}\n`, 'p/x.datasource').errors.map((e) => e.message);
}

const FUNCTIONS =
  'now(), now64([p[, tz]]), today(), yesterday(), generateUUIDv4(), toDate(x), toDate32(x), toDateTime(x[, tz]), ' +
  'toDateTime64(x[, p[, tz]]), toString(x), array(...), map(k, v, ...)';
const EXPRESSION = `a literal (number, 'text', true, false, NULL, [..]), arithmetic (+ - * /), parentheses, or one of ${FUNCTIONS}`;

describe('DEFAULT expressions refused at parse time, with file and line', () => {
  const cases: [string, string][] = [
    // The two payloads of the issue: a statement break-out, and a file read into an error message.
    [
      "`b` String DEFAULT 'x') AS VARCHAR); COPY (SELECT 'pwned' AS p) TO 'pwned.csv' (HEADER); SELECT CAST(('y'",
      `p/x.datasource:3: Invalid character in DEFAULT: found ";" at character 17 of "'x') AS VARCHAR); COPY (SELECT 'pwned' AS p) TO 'pwned.csv' (HEADER); SELECT CA…", expected ${EXPRESSION}`,
    ],
    [
      "`s` String DEFAULT (SELECT content FROM read_text('.s3c/secrets.json'))",
      `p/x.datasource:3: Unknown function in DEFAULT: found "SELECT" at character 2 of "(SELECT content FROM read_text('.s3c/secrets.json'))", expected one of ${FUNCTIONS}`,
    ],
    [
      "`s` String DEFAULT 'x') AS VARCHAR",
      `p/x.datasource:3: Invalid DEFAULT expression: found ")" at character 4 of "'x') AS VARCHAR", expected an operator (+ - * /) or the end of the expression`,
    ],
    [
      "`s` String DEFAULT 'a' || 'b'",
      `p/x.datasource:3: Invalid character in DEFAULT: found "|" at character 5 of "'a' || 'b'", expected ${EXPRESSION}`,
    ],
    [
      '`s` String DEFAULT "col"',
      `p/x.datasource:3: Invalid character in DEFAULT: found "\\"" at character 1 of "\\"col\\"", expected ${EXPRESSION}`,
    ],
    [
      "`s` String DEFAULT lower('A')",
      `p/x.datasource:3: Unknown function in DEFAULT: found "lower" at character 1 of "lower('A')", expected one of ${FUNCTIONS}`,
    ],
    [
      '`t` DateTime DEFAULT nowx()',
      `p/x.datasource:3: Unknown function in DEFAULT: found "nowx" at character 1 of "nowx()", expected one of ${FUNCTIONS}; did you mean "now"?`,
    ],
    [
      "`s` String DEFAULT 'unterminated",
      `p/x.datasource:3: Unterminated string in DEFAULT: found "'unterminated", expected a closing '`,
    ],
    [
      "`s` String DEFAULT 'a\\0b'",
      `p/x.datasource:3: Invalid string in DEFAULT: found "'a\\\\0b'" at character 1 of "'a\\\\0b'", expected text without NUL characters`,
    ],
    [
      '`n` Int32 DEFAULT 0x10',
      'p/x.datasource:3: Invalid number in DEFAULT: found "0x10" at character 1 of "0x10", expected a decimal number such as 1, 2.5 or 1e3',
    ],
    [
      '`n` UInt8 DEFAULT 200 + 100',
      'p/x.datasource:3: Invalid DEFAULT: found "200 + 100" (300), expected a whole number from 0 to 255 (type UInt8)',
    ],
    [
      '`n` Int32 DEFAULT 1.5',
      'p/x.datasource:3: Invalid DEFAULT: found "1.5" (a number), expected a whole number (type Int32)',
    ],
    [
      "`n` Int32 DEFAULT '5'",
      `p/x.datasource:3: Invalid DEFAULT: found "'5'" (a string), expected a whole number (type Int32); write the number without quotes`,
    ],
    [
      '`n` Int32 DEFAULT 1/0',
      'p/x.datasource:3: Invalid DEFAULT arithmetic: found "1/0" (a division by zero), expected a divisor other than 0',
    ],
    [
      '`f` Float64 DEFAULT 1e308 * 10',
      'p/x.datasource:3: Invalid DEFAULT arithmetic: found "1e308 * 10", expected a finite result (no division by zero, no overflow)',
    ],
    [
      '`d` Decimal(5, 2) DEFAULT 1234.5',
      'p/x.datasource:3: Invalid DEFAULT: found "1234.5" (1234.5), expected at most 3 digits before the decimal point (type Decimal(5, 2))',
    ],
    [
      '`s` String DEFAULT NULL',
      'p/x.datasource:3: Invalid DEFAULT: found "NULL" (NULL), expected a value of type String; a NULL default needs a Nullable(T) column',
    ],
    [
      "`s` FixedString(2) DEFAULT 'abc'",
      `p/x.datasource:3: Invalid DEFAULT: found "'abc'" (3 bytes), expected at most 2 bytes (type FixedString(2))`,
    ],
    [
      '`b` Bool DEFAULT 2',
      'p/x.datasource:3: Invalid DEFAULT: found "2" (a number), expected true, false, 0 or 1 (type Bool)',
    ],
    [
      "`u` UUID DEFAULT 'nope'",
      `p/x.datasource:3: Invalid DEFAULT: found "'nope'" (a string), expected generateUUIDv4() or a UUID such as '61f0c404-5cb3-11e7-907b-a6006ad3dba0' (type UUID)`,
    ],
    [
      "`d` Date DEFAULT '2024-02-30'",
      `p/x.datasource:3: Invalid DEFAULT: found "'2024-02-30'" (a string), expected today(), yesterday(), toDate(...) or a date 'YYYY-MM-DD' (type Date)`,
    ],
    [
      '`t` DateTime DEFAULT now() * 2',
      'p/x.datasource:3: Invalid DEFAULT arithmetic: found "now() * 2" (a date-time * a number), expected numbers, or a date or date-time plus or minus a number (days for a date, seconds for a date-time)',
    ],
    [
      '`d` Date DEFAULT today() + 1.5',
      'p/x.datasource:3: Invalid DEFAULT arithmetic: found "today() + 1.5" (1.5 days), expected a whole number of days added to or subtracted from a date',
    ],
    [
      "`t` DateTime DEFAULT toDateTime('2024-01-01', 'Mars/Olympus')",
      `p/x.datasource:3: Invalid DEFAULT time zone: found "'Mars/Olympus'" in "toDateTime('2024-01-01', 'Mars/Olympus')", expected a quoted IANA time zone such as 'UTC' or 'Europe/Madrid'`,
    ],
    [
      '`s` String DEFAULT toString(1, 2)',
      'p/x.datasource:3: Invalid DEFAULT function call: found "toString(1, 2)" (2 argument(s)), expected 1 argument(s) for toString',
    ],
    [
      "`a` Array(Int8) DEFAULT [1, 'x']",
      `p/x.datasource:3: Invalid DEFAULT: found "'x'" in "[1, 'x']" (a string), expected a whole number (type Int8); write the number without quotes`,
    ],
    [
      '`a` Array(Int8) DEFAULT [1, NULL]',
      'p/x.datasource:3: Invalid DEFAULT: found "NULL" in "[1, NULL]" (NULL), expected a value of type Int8; a NULL default needs a Nullable(T) column',
    ],
    [
      "`m` Map(String, Int64) DEFAULT map('a')",
      `p/x.datasource:3: Invalid DEFAULT function call: found "map('a')" (1 argument(s)), expected keys and values in pairs: map(k1, v1, k2, v2, ...)`,
    ],
    [
      "`s` String DEFAULT 'a' 'b'",
      `p/x.datasource:3: Invalid DEFAULT expression: found "'b'" at character 5 of "'a' 'b'", expected an operator (+ - * /) or the end of the expression`,
    ],
    [
      `\`n\` Int32 DEFAULT ${'('.repeat(40)}1${')'.repeat(40)}`,
      `p/x.datasource:3: DEFAULT expression nested too deeply: found "${'('.repeat(40)}1${')'.repeat(38)}…", expected at most 32 levels of parentheses, brackets and calls`,
    ],
  ];
  for (const [column, message] of cases) {
    it(column, () => assert.deepEqual(errorsOf(column), [message]));
  }
});

describe('DEFAULT expressions accepted, rendered by us and evaluated by DuckDB', () => {
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    conn = await instance.connect();
    await conn.run("SET TimeZone = 'UTC'");
  });
  after(() => {
    conn.closeSync();
    instance.closeSync();
  });

  /** [type, DEFAULT as written, SQL we render, the value as DuckDB text, or a pattern of it]. */
  const cases: [string, string, string, string | RegExp][] = [
    ['Int32', '0', 'CAST((0) AS INTEGER)', '0'],
    ['Int32', '-5', 'CAST(((-5)) AS INTEGER)', '-5'],
    ['Int64', '1 + 2 * 3', 'CAST((7) AS BIGINT)', '7'],
    ['Int64', '-9223372036854775808', 'CAST(((-9223372036854775808)) AS BIGINT)', '-9223372036854775808'],
    ['UInt64', '18446744073709551615', 'CAST((18446744073709551615) AS UBIGINT)', '18446744073709551615'],
    ['Int32', '1e3', 'CAST((1000) AS INTEGER)', '1000'],
    ['Float64', '1/4', 'CAST((0.25) AS DOUBLE)', '0.25'],
    ['Float32', '.5', 'CAST((0.5) AS FLOAT)', '0.5'],
    ['Decimal(10, 4)', '12345.6789', 'CAST((12345.6789) AS DECIMAL(10, 4))', '12345.6789'],
    ['String', "'it\\'s'", "CAST(('it''s') AS VARCHAR)", "it's"],
    ['String', "'a''b; DROP TABLE x; --'", "CAST(('a''b; DROP TABLE x; --') AS VARCHAR)", "a'b; DROP TABLE x; --"],
    ['String', "'unknown'", "CAST(('unknown') AS VARCHAR)", 'unknown'],
    ['LowCardinality(String)', 'toString(42)', 'CAST((CAST(42 AS VARCHAR)) AS VARCHAR)', '42'],
    ['Nullable(String)', 'NULL', 'CAST((NULL) AS VARCHAR)', 'null'],
    ['Bool', 'true', 'CAST((true) AS BOOLEAN)', 'true'],
    ['Bool', '0', 'CAST((false) AS BOOLEAN)', 'false'],
    [
      'UUID',
      'generateUUIDv4()',
      'CAST((uuid()) AS UUID)',
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    ],
    [
      'UUID',
      "'61f0c404-5cb3-11e7-907b-a6006ad3dba0'",
      "CAST(('61f0c404-5cb3-11e7-907b-a6006ad3dba0') AS UUID)",
      '61f0c404-5cb3-11e7-907b-a6006ad3dba0',
    ],
    ['Date', "toDate('2020-02-02')", "CAST((CAST('2020-02-02' AS DATE)) AS DATE)", '2020-02-02'],
    ['Date', "'2024-02-29'", "CAST(('2024-02-29') AS DATE)", '2024-02-29'],
    ['Date', 'today()', 'CAST((current_date) AS DATE)', /^\d{4}-\d{2}-\d{2}$/],
    ['Date', 'yesterday()', 'CAST(((current_date - 1)) AS DATE)', /^\d{4}-\d{2}-\d{2}$/],
    [
      'Date',
      "toDate('2020-03-01') - 1",
      "CAST(((CAST('2020-03-01' AS DATE) - CAST(1 AS INTEGER))) AS DATE)",
      '2020-02-29',
    ],
    ['DateTime', 'now()', 'CAST((now()) AS TIMESTAMP)', /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/],
    ['DateTime', '0', 'CAST((to_timestamp(0)) AS TIMESTAMP)', '1970-01-01 00:00:00'],
    [
      'DateTime',
      "toDateTime('2020-01-01 00:00:00') + 90",
      "CAST(((CAST('2020-01-01 00:00:00' AS TIMESTAMP) + to_seconds(90))) AS TIMESTAMP)",
      '2020-01-01 00:01:30',
    ],
    [
      'DateTime',
      "toDateTime('2020-01-01 00:00:00', 'Europe/Madrid')",
      "CAST((timezone('Europe/Madrid', CAST(CAST('2020-01-01 00:00:00' AS TIMESTAMP) AS TIMESTAMP))) AS TIMESTAMP)",
      '2019-12-31 23:00:00',
    ],
    [
      "DateTime('Asia/Tokyo')",
      "'2020-01-01 09:00:00'",
      "CAST((timezone('Asia/Tokyo', CAST('2020-01-01 09:00:00' AS TIMESTAMP))) AS TIMESTAMPTZ)",
      '2020-01-01 00:00:00+00',
    ],
    ["DateTime64(3, 'UTC')", "now64(3, 'UTC')", 'CAST((now()) AS TIMESTAMPTZ)', /^\d{4}-\d{2}-\d{2} /],
    ['Array(String)', '[]', 'CAST(([]) AS VARCHAR[])', '[]'],
    ['Array(Nullable(Int8))', '[1, NULL, -3]', 'CAST(([1, NULL, (-3)]) AS TINYINT[])', '[1, NULL, -3]'],
    ['Array(Array(String))', "array(['a'], [])", "CAST(([['a'], []]) AS VARCHAR[][])", '[[a], []]'],
    ['Map(String, Int64)', 'map()', 'CAST((MAP {}) AS MAP(VARCHAR, BIGINT))', '{}'],
    ['Map(String, Int64)', "map('a', 1, 'b', 2)", "CAST((MAP {'a': 1, 'b': 2}) AS MAP(VARCHAR, BIGINT))", '{a=1, b=2}'],
  ];
  for (const [typeText, expr, sql, value] of cases) {
    it(`${typeText} DEFAULT ${expr}`, async () => {
      const type = parseColumnType(typeText);
      assert.equal(checkDefaultExpr(expr, type).ok, true);
      const rendered = defaultSql({ name: 'c', typeText, type, defaultExpr: expr, line: 1 });
      assert.equal(rendered, sql);
      const r = await conn.runAndReadAll(`SELECT CAST(${rendered} AS VARCHAR) AS v`);
      const got = String(r.getRowObjectsJS()[0]?.v ?? 'null');
      if (typeof value === 'string') assert.equal(got, value);
      else assert.match(got, value);
    });
  }

  it('the sink refuses a DEFAULT outside the grammar that reached it without the parser (a definition deployed earlier)', () => {
    const type = parseColumnType('String');
    assert.throws(
      () =>
        defaultSql({
          name: 'b',
          typeText: 'String',
          type,
          defaultExpr: "'x') AS VARCHAR); COPY (SELECT 1) TO 'p.csv'; SELECT (('y'",
          line: 3,
        }),
      /^Error: Invalid character in DEFAULT: found ";" at character 17 of /,
    );
  });
});
