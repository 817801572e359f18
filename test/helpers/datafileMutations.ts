/**
 * Seeded mutations of datafiles for the fuzz test (issue #18): SQL-injection
 * text in DEFAULTs, JSONPaths, column names, types and settings; comments;
 * unicode; very long lines; broken structure; hostile file names and secret
 * references. Every choice comes from the {@link Rng}, so a seed replays.
 */

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** A project to mutate: one connection and one or two data sources, by name. */
export interface FuzzProject {
  files: { name: string; ext: 'connection' | 'datasource'; text: string }[];
}

/** SQL that would break out of a literal or a statement, and text DuckDB would call. */
export const SQL_INJECTIONS = [
  "'x') AS VARCHAR); COPY (SELECT 'pwned' AS p) TO 'pwned.csv' (HEADER); SELECT CAST(('y'",
  "(SELECT content FROM read_text('.s3c/secrets.json'))",
  'now(); DROP TABLE s3c_ledger',
  "1; ATTACH 'evil.db' AS e",
  "getenv('HOME')",
  "'a' || 'b'",
  '1) ; --',
  "'x' -- comment",
  '/* c */ 1',
  '"x"',
  '$$x$$',
  "E'\\x27'",
  "'it''s'",
  "'\\''",
  "read_csv('/etc/passwd')",
  "toDateTime('2024-01-01 00:00:00', 'Europe/Paris''); DROP TABLE x; --')",
  'toString((SELECT 1))',
  '[1, 2, (SELECT 1)]',
  "map('a', (SELECT 1))",
  "'\u0000'; DROP TABLE s3c_ledger",
  'x',
  '`id`',
  "'; INSTALL httpfs; LOAD httpfs; --",
  "CAST('1' AS INT)",
  "now64(3, 'UTC''); SELECT 1; --')",
];

/** DEFAULTs the grammar accepts, so that many cases reach the destination. */
export const GOOD_DEFAULTS = [
  '0',
  '-1',
  '1.5',
  '1e3',
  "'text'",
  "'it''s'",
  "'quote\\'s'",
  "'😀 ünïcödé'",
  'true',
  'false',
  'NULL',
  '[]',
  '[1, 2]',
  "['a', 'b']",
  'now()',
  'now64()',
  "now64(3, 'UTC')",
  'today()',
  'yesterday()',
  'generateUUIDv4()',
  "toDate('2024-01-01')",
  'toDate32(today())',
  "toDateTime('2024-01-01 00:00:00')",
  "toDateTime('2024-01-01 00:00:00', 'Europe/Paris')",
  "toDateTime64('2024-01-01 00:00:00.123', 3)",
  'toString(1)',
  'array()',
  'map()',
  "map('k', 1)",
  'today() - 1',
  'now() + 60',
  '(1 + 2) * 3',
  '1 / 3',
  "''",
  "'a\\\\b'",
  "'\"; DROP TABLE x; --'",
  "'x'') AS VARCHAR); COPY (SELECT 1) TO ''p.csv''; --'",
];

const TYPES = [
  'String',
  'Int8',
  'UInt64',
  'Float32',
  'Float64',
  'Bool',
  'UUID',
  'Date',
  'Date32',
  'DateTime',
  "DateTime('UTC')",
  "DateTime('Europe/Paris')",
  'DateTime64(3)',
  "DateTime64(9, 'Asia/Tokyo')",
  'Decimal(10, 2)',
  'Decimal(76, 80)',
  'FixedString(4)',
  'FixedString(0)',
  'Nullable(String)',
  'LowCardinality(Nullable(String))',
  'Array(Int32)',
  'Array(Nullable(Float64))',
  'Map(String, Array(Int8))',
  'Nullable(Array(String))',
  'String); DROP TABLE x; --',
  'Nullable(String',
  'Int32 NOT NULL',
  "DateTime('Europe/Paris''); DROP TABLE x; --')",
  'VARCHAR',
  'Map(Int8, String)',
  "DateTime64(3, 'UTC' || 'x')",
  'Tuple(a Int8)',
  'Array(Array(Array(Array(String))))',
  'Decimal(-1, 2)',
  'Int8(1)',
];

const COLUMN_NAMES = [
  'a"; DROP TABLE s3c_ledger; --',
  'x"y',
  "it's",
  'ünïcödé',
  '😀',
  'with space',
  'a,b',
  '(x)',
  'insertion_date',
  'C__ERROR',
  'ID',
  'id',
  '`',
  '\\',
  '$1',
  '?',
  'select',
  'table',
  'null',
  'a\tb',
  'a\u0000b',
  'a\u202eb',
  '\u200b',
  'x'.repeat(300),
  '"',
  '""',
  "'",
  's3c_ledger',
  'events_quarantine',
];

const JSON_PATHS = [
  "$.a'b",
  '$["x\\"y"]',
  '$..a',
  '$.a[*]',
  '$.a[0]',
  "$['a', 'b']",
  '$.ünï',
  '$.😀',
  '$',
  '$.a.b.c.d.e.f',
  '$[-1]',
  "$.a') FROM read_text('x'); --",
  '$.a"); DROP TABLE s3c_ledger; --',
  '$.' + 'k'.repeat(500),
  '$.a b',
  'a.b',
  '$.[',
  '$["\u0000"]',
  "$['it''s']",
  '$.a`',
];

const SETTING_VALUES = [
  "csv'; --",
  'ndjson',
  'parquet',
  'CSV',
  '";"',
  "';'",
  '"\\t"',
  'tab',
  '"ab"',
  '""',
  'true',
  'auto',
  'yes',
  '@auto',
  '@once',
  '@on-demand',
  '@daily',
  '0 * * * *',
  '*/5 * * * *',
  '61 * * * *',
  '0 0 31 2 *',
  '0 * * * *; DROP TABLE x',
  '2024-01-01T00:00:00Z',
  '2024-02-30T00:00:00Z',
  '1970-01-01T00:00:00+02:00',
  's3://bucket-1/*.csv',
  's3://bucket-1/**/*.ndjson.gz',
  's3://bucket-1/a#b/*.csv',
  "s3://bucket-1/x'; DROP TABLE s3c_ledger; --.csv",
  's3://Bad_Bucket/x.csv',
  's3://bucket-1/ünï/😀/*.parquet',
  's3://bucket-1/[a]/(b)/{c}/?+%.csv',
  's3://',
  's3://bucket-1',
  '"MergeTree"',
  'ReplacingMergeTree()',
  'Memory',
  'toYYYYMM(timestamp); DROP TABLE x',
  'timestamp + toIntervalDay(60)',
  '(a, b)',
  'tuple()',
  '`x"y`',
  '"us-east-1"',
  'auto',
  'us east 1',
  'arn:aws:iam::123456789012:role/x',
  'http://127.0.0.1:9000',
  'ftp://x',
  "'unterminated",
  '"a" trailing',
  '>',
  'x'.repeat(20_000),
];

const SECRET_REFS = [
  '{{ tb_secret("FUZZ_HOSTILE") }}',
  '{{ tb_secret("FUZZ_MISSING") }}',
  '{{ tb_secret("FUZZ_MISSING", "s3://bucket-1/d/*.csv") }}',
  '{{ tb_secret("bad-name") }}',
  '{{ tb_secret( }}',
  '{{ tb_secret("S3_ROLE_ARN") }}',
  '{{ tb_secret("LOCAL_S3_SECRET") }}',
  '{{',
  '}}',
  '{{ tb_secret("FUZZ_HOSTILE") }}/{{ tb_secret("LOCAL_S3_SECRET") }}',
];

const FILE_NAMES = [
  'my-s3-local',
  'my-s3-cloud',
  'Events',
  'EVENTS',
  's3c_ledger',
  'events_quarantine',
  '1events',
  'ev ents',
  'ünï',
  '😀',
  'a"b',
  "a'b",
  '-x',
  'x'.repeat(200),
  '_',
  'select',
];

const UNICODE = [
  'ü',
  '😀',
  '\u202e',
  '\u200b',
  '\ufeff',
  '\u0000',
  '\u0007',
  '\r',
  '\u2028',
  '中文',
  'ﷺ',
  '\ud800',
  '`',
  "'",
  '"',
  '\\',
  ';',
  '#',
  '{{',
  '>',
  '\t',
];

const INDENT = '    ';
const isColumnLine = (l: string): boolean => /^\s+`/.test(l) || /^\s+[A-Za-z_][A-Za-z0-9_]*\s+[A-Za-z]/.test(l);

type Mutation = (rng: Rng, project: FuzzProject) => string;

function pickFile(rng: Rng, project: FuzzProject, ext?: 'connection' | 'datasource'): FuzzProject['files'][number] {
  const files = ext ? project.files.filter((f) => f.ext === ext) : project.files;
  return rng.pick(files.length > 0 ? files : project.files);
}

/** Applies `edit` to one line (chosen by `which`) of a file; returns what it did. */
function editLine(
  rng: Rng,
  file: FuzzProject['files'][number],
  which: (l: string) => boolean,
  edit: (l: string) => string,
  what: string,
): string {
  const lines = file.text.split('\n');
  const indexes = lines.map((l, i) => (which(l) ? i : -1)).filter((i) => i >= 0);
  if (indexes.length === 0) return `${what}: no line to edit in ${file.name}.${file.ext}`;
  const i = rng.pick(indexes);
  lines[i] = edit(lines[i] as string);
  file.text = lines.join('\n');
  return `${what} on line ${i + 1} of ${file.name}.${file.ext}`;
}

const MUTATIONS: Record<string, Mutation> = {
  default(rng, p) {
    const expr = rng.chance(0.5) ? rng.pick(SQL_INJECTIONS) : rng.pick(GOOD_DEFAULTS);
    return editLine(
      rng,
      pickFile(rng, p, 'datasource'),
      isColumnLine,
      (l) =>
        `${l.replace(/,\s*$/, '').replace(/\s+DEFAULT\s.*$/i, '')} DEFAULT ${expr}${l.trimEnd().endsWith(',') ? ',' : ''}`,
      `DEFAULT ${expr}`,
    );
  },
  columnName(rng, p) {
    const name = rng.pick(COLUMN_NAMES);
    return editLine(
      rng,
      pickFile(rng, p, 'datasource'),
      isColumnLine,
      (l) => l.replace(/^(\s+)(`[^`]*`|[A-Za-z_][A-Za-z0-9_]*)/, (_m, s: string) => `${s}\`${name}\``),
      `column name ${JSON.stringify(name)}`,
    );
  },
  columnType(rng, p) {
    const type = rng.pick(TYPES);
    return editLine(
      rng,
      pickFile(rng, p, 'datasource'),
      isColumnLine,
      (l) =>
        l.replace(
          /^(\s+(?:`[^`]*`|[A-Za-z_][A-Za-z0-9_]*)\s+)[A-Za-z0-9_]+(\([^`]*?\))?(?=\s|,|$)/,
          (_m, s: string) => `${s}${type}`,
        ),
      `type ${type}`,
    );
  },
  jsonPath(rng, p) {
    const path = rng.pick(JSON_PATHS);
    return editLine(
      rng,
      pickFile(rng, p, 'datasource'),
      isColumnLine,
      (l) =>
        l.includes('`json:')
          ? l.replace(/`json:[^`]*`/, `\`json:${path}\``)
          : l.replace(/(,?)\s*$/, ` \`json:${path}\`$1`),
      `JSONPath ${path.slice(0, 60)}`,
    );
  },
  setting(rng, p) {
    const value = rng.pick(SETTING_VALUES);
    return editLine(
      rng,
      pickFile(rng, p),
      (l) => /^[A-Z_]+ (?!>)/.test(l),
      (l) => `${l.split(' ')[0]} ${value}`,
      `setting value ${value.slice(0, 60)}`,
    );
  },
  addSetting(rng, p) {
    const file = pickFile(rng, p, 'datasource');
    const keyword = rng.pick([
      'IMPORT_FORMAT',
      'IMPORT_CSV_DELIMITER',
      'IMPORT_CSV_HEADER',
      'IMPORT_FROM_TIMESTAMP',
      'ENGINE_SORTING_KEY',
      'ENGINE_TTL',
      'ENGINE_PARTITION_KEY',
      'ENGINE',
      'DESCRIPTION',
    ]);
    const value = rng.pick(SETTING_VALUES);
    file.text = `${file.text.trimEnd()}\n${keyword} ${value}\n`;
    return `added ${keyword} ${value.slice(0, 60)}`;
  },
  comment(rng, p) {
    const file = pickFile(rng, p);
    const lines = file.text.split('\n');
    const i = rng.int(lines.length + 1);
    const text = rng.pick(['# comment', "# '); DROP TABLE x; --", `${INDENT}# indented`, '#', '  #', '# ünï 😀']);
    if (rng.chance(0.3) && i < lines.length && (lines[i] as string).trim() !== '')
      lines[i] = `${lines[i]} ${text.trim()}`;
    else lines.splice(i, 0, text);
    file.text = lines.join('\n');
    return `comment at line ${i + 1} of ${file.name}.${file.ext}`;
  },
  unicode(rng, p) {
    const file = pickFile(rng, p);
    const at = rng.int(file.text.length + 1);
    const s = rng.pick(UNICODE);
    file.text = file.text.slice(0, at) + s + file.text.slice(at);
    return `inserted ${JSON.stringify(s)} at ${at} of ${file.name}.${file.ext}`;
  },
  longLine(rng, p) {
    const n = rng.pick([1000, 70_000, 300_000]);
    const unit = rng.pick(['x', "'", '(', '`', '😀', ' ', '[']);
    return editLine(
      rng,
      pickFile(rng, p),
      (l) => l.trim() !== '',
      (l) => `${l}${unit.repeat(n)}`,
      `lengthened by ${n} × ${JSON.stringify(unit)}`,
    );
  },
  structure(rng, p) {
    const file = pickFile(rng, p);
    const lines = file.text.split('\n');
    const i = rng.int(Math.max(lines.length, 1));
    const op = rng.pick([
      'delete',
      'duplicate',
      'swap',
      'crlf',
      'bom',
      'tabs',
      'dedent',
      'truncate',
      'lowercase',
      'empty',
      'indent',
    ]);
    if (op === 'delete') lines.splice(i, 1);
    else if (op === 'duplicate') lines.splice(i, 0, lines[i] ?? '');
    else if (op === 'swap' && i + 1 < lines.length)
      [lines[i], lines[i + 1]] = [lines[i + 1] as string, lines[i] as string];
    else if (op === 'tabs') lines[i] = (lines[i] ?? '').replace(/^ +/, '\t');
    else if (op === 'dedent') lines[i] = (lines[i] ?? '').trimStart();
    else if (op === 'indent') lines[i] = `${INDENT}${lines[i] ?? ''}`;
    else if (op === 'lowercase') lines[i] = (lines[i] ?? '').toLowerCase();
    let text = lines.join('\n');
    if (op === 'crlf') text = text.replace(/\n/g, '\r\n');
    if (op === 'bom') text = `\ufeff${text}`;
    if (op === 'truncate') text = text.slice(0, rng.int(text.length + 1));
    if (op === 'empty') text = '';
    file.text = text;
    return `${op} at line ${i + 1} of ${file.name}.${file.ext}`;
  },
  fileName(rng, p) {
    const file = pickFile(rng, p);
    const old = file.name;
    file.name = rng.pick(FILE_NAMES);
    // Keep the reference valid half the time, so that the new name is checked past the cross-file step.
    if (file.ext === 'connection' && rng.chance(0.5)) {
      for (const f of p.files)
        f.text = f.text.replace(
          new RegExp(`^IMPORT_CONNECTION_NAME ${old.replace(/[^\w]/g, '\\$&')}$`, 'm'),
          `IMPORT_CONNECTION_NAME ${file.name}`,
        );
    }
    return `renamed ${old}.${file.ext} to ${JSON.stringify(file.name)}`;
  },
  secretRef(rng, p) {
    const ref = rng.pick(SECRET_REFS);
    return editLine(
      rng,
      pickFile(rng, p),
      (l) => /^[A-Z_]+ (?!>)/.test(l),
      (l) => `${l.split(' ')[0]} ${ref}`,
      `secret reference ${ref}`,
    );
  },
  bytes(rng, p) {
    const file = pickFile(rng, p);
    const chars = [...file.text];
    const n = 1 + rng.int(4);
    for (let k = 0; k < n && chars.length > 0; k++)
      chars[rng.int(chars.length)] = rng.pick([...'\'"`();,$\\{}[]<>#@*?|&%\0\n\t ']);
    file.text = chars.join('');
    return `${n} random characters in ${file.name}.${file.ext}`;
  },
};

/** Mutations of one column's parts, which often leave the file valid: they reach the destination. */
const COLUMN_MUTATIONS = ['default', 'columnName', 'columnType', 'jsonPath'];

/**
 * Mutates `project` in place; returns what was done. Half the cases change
 * only columns (one or two parts, so many still deploy and reach DuckDB),
 * the other half apply 1 to 4 mutations of any kind.
 */
export function mutate(rng: Rng, project: FuzzProject): string[] {
  const gentle = rng.chance(0.5);
  const names = gentle ? COLUMN_MUTATIONS : Object.keys(MUTATIONS);
  const done: string[] = [];
  const count = gentle ? 1 + rng.int(2) : 1 + rng.int(4);
  for (let k = 0; k < count; k++) {
    const name = rng.pick(names);
    done.push(`${name}: ${(MUTATIONS[name] as Mutation)(rng, project)}`);
  }
  return done;
}
