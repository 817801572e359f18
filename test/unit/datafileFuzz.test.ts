/**
 * Fuzz test of the datafiles (issue #18, "Done when"): thousands of projects
 * mutated from the repository's own datafiles (README, docs, examples, and a
 * few feature-rich seeds) go through the parser and `deploy --check`
 * (`planDeploy`, with a fake S3 that answers or fails at random), and each
 * accepted data source has its tables created by the DuckDB sink, whose
 * every statement is logged. Each case must:
 *
 * - never throw, and report every problem as `<file>:<line>: ...` naming a
 *   datafile of the project and a line it has, without a stack trace or a
 *   secret value;
 * - when `deploy --check` passes, create its tables (a check that passes
 *   and a table that cannot be created is a data source stuck forever);
 * - run only the product's own SQL: datafile text only inside quoted
 *   identifiers or string literals (test/helpers/productSql.ts).
 *
 * Seeded: `S3C_FUZZ_SEED=<seed>` replays a run, `S3C_FUZZ_CASE=<n>` one
 * case of it; `S3C_FUZZ_CASES` and `S3C_FUZZ_MS` bound it (default 3000
 * cases or 35 s, whichever comes first).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { S3ClientCache } from '../../src/aws/credentials';
import { planDeploy } from '../../src/deploy/plan';
import { loadTemporalConfig, loadWorkspaceConfig } from '../../src/config';
import type { ConnectionDef, DataSourceDef } from '../../src/datafiles';
import { DuckDbSink, FileUnreadableError, quarantineTableName } from '../../src/sinks/duckdb';
import { columnPath } from '../../src/sinks/duckdbConvert';
import { quoteIdent, sqlString } from '../../src/sinks/duckdbTypes';
import { type FuzzProject, Rng, mutate } from '../helpers/datafileMutations';
import { datafileSnippets, documentationFiles, exampleDatafiles } from '../helpers/docSnippets';
import { NEVER_OURS, type StatementLog, logDuckDbStatements, productSqlProblem } from '../helpers/productSql';

const SEED = Number(process.env.S3C_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ONLY_CASE = process.env.S3C_FUZZ_CASE === undefined ? undefined : Number(process.env.S3C_FUZZ_CASE);
const MAX_CASES = Number(process.env.S3C_FUZZ_CASES ?? 3000);
const BUDGET_MS = Number(process.env.S3C_FUZZ_MS ?? 35_000);
/** Cases run even past the budget, on a slow or busy machine: the budget buys more, never fewer. */
const MIN_CASES = Math.min(200, MAX_CASES);

/** Secret values: none may appear in a message. `FUZZ_HOSTILE` is SQL, to see where a secret's text goes. */
const SECRETS: Record<string, string> = {
  S3_ROLE_ARN: 'arn:aws:iam::123456789012:role/fuzz-reader',
  LOCAL_S3_ENDPOINT: 'http://127.0.0.1:9',
  LOCAL_S3_ACCESS_KEY: 'AKIAFUZZACCESSKEY42',
  LOCAL_S3_SECRET: 'fuzz-Secret-Value-9f3e',
  FUZZ_HOSTILE: "s3://bucket-1/x'); DROP TABLE s3c_ledger; --.csv",
};
const NEVER_SHOWN = [SECRETS.LOCAL_S3_ACCESS_KEY, SECRETS.LOCAL_S3_SECRET] as string[];

// ---------------------------------------------------------------------------
// Seeds: the repository's datafiles, plus columns of every kind

const RICH_DATASOURCE = `DESCRIPTION >
    Every kind of column, DEFAULT and setting

SCHEMA >
    \`id\` Int64 \`json:$.id\`,
    \`name\` Nullable(String) \`json:$.user.name\` DEFAULT 'anonymous',
    \`amount\` Decimal(10, 2) \`json:$.amount\` DEFAULT 0,
    \`ratio\` Float32 DEFAULT 1.5 \`json:$.ratio\`,
    \`at\` DateTime64(3, 'UTC') \`json:$.at\` DEFAULT now64(3, 'UTC'),
    \`day\` Date \`json:$.day\` DEFAULT today() - 1,
    \`uid\` UUID \`json:$.uid\` DEFAULT generateUUIDv4(),
    \`tags\` Array(LowCardinality(String)) \`json:$.tags\` DEFAULT [],
    \`attrs\` Map(String, Nullable(Int32)) \`json:$.attrs\` DEFAULT map(),
    \`flag\` Bool \`json:$['flag']\` DEFAULT false,
    \`code\` FixedString(3) \`json:$.code\` DEFAULT 'abc'

ENGINE "MergeTree"
ENGINE_SORTING_KEY "at, id"
ENGINE_TTL "at + toIntervalDay(60)"

IMPORT_CONNECTION_NAME my-s3-local
IMPORT_BUCKET_URI s3://bucket-1/data/**/*.ndjson.gz
IMPORT_SCHEDULE */10 * * * *
IMPORT_FROM_TIMESTAMP 2024-01-01T00:00:00Z
IMPORT_FORMAT ndjson
`;

const CSV_DATASOURCE = `SCHEMA >
    id Int32,
    \`ts\` DateTime('Europe/Paris') DEFAULT toDateTime('2024-01-01 00:00:00', 'Europe/Paris'),
    \`note\` String DEFAULT toString(42)

IMPORT_CONNECTION_NAME my-s3-local
IMPORT_BUCKET_URI s3://bucket-1/csv/*.csv
IMPORT_SCHEDULE @on-demand
IMPORT_CSV_HEADER true
IMPORT_CSV_DELIMITER ";"
`;

const STATIC_CONNECTION = `TYPE s3
S3_REGION "us-east-1"
S3_ENDPOINT {{ tb_secret("LOCAL_S3_ENDPOINT", "http://127.0.0.1:9000") }}
S3_ACCESS_KEY {{ tb_secret("LOCAL_S3_ACCESS_KEY") }}
S3_SECRET {{ tb_secret("LOCAL_S3_SECRET") }}
`;

/** Projects to mutate, each a connection and the data sources that use it. */
function seeds(): FuzzProject[] {
  const docs = documentationFiles()
    .flatMap(datafileSnippets)
    .filter((s) => !s.fragment);
  const out: FuzzProject[] = [];
  const docConnection = docs.find((s) => s.kind === 'connection');
  for (const ds of docs.filter((s) => s.kind === 'datasource')) {
    out.push({
      files: [
        { name: docConnection?.name ?? 's3sample', ext: 'connection', text: docConnection?.text ?? STATIC_CONNECTION },
        { name: ds.name ?? 'events', ext: 'datasource', text: ds.text },
      ],
    });
  }
  const examples = exampleDatafiles().map(([path, text]) => {
    const m = /([^/]+)\.(connection|datasource)$/.exec(path) as RegExpExecArray;
    return { name: m[1] as string, ext: m[2] as 'connection' | 'datasource', text };
  });
  out.push({ files: examples });
  out.push({
    files: [
      { name: 'my-s3-local', ext: 'connection', text: STATIC_CONNECTION },
      { name: 'rich', ext: 'datasource', text: RICH_DATASOURCE },
    ],
  });
  out.push({
    files: [
      { name: 'my-s3-local', ext: 'connection', text: STATIC_CONNECTION },
      { name: 'csv_in', ext: 'datasource', text: CSV_DATASOURCE },
      { name: 'rich', ext: 'datasource', text: RICH_DATASOURCE },
    ],
  });
  return out;
}

// ---------------------------------------------------------------------------
// deploy --check's S3, answering or failing at random (no network)

function fakeS3(rng: Rng, failing = true): S3ClientCache {
  // A store may echo what it was sent: the failure quotes the connection's own keys.
  const failure = (conn: ConnectionDef): Error | undefined => {
    const roll = rng.int(20);
    if (roll < 16 || !failing) return undefined;
    const err = Object.assign(
      new Error(`fake failure mentioning ${conn.secretKey ?? 'no secret'} and ${conn.accessKey ?? 'no key'}`),
      {
        name: rng.pick([
          'NoSuchBucket',
          'AccessDenied',
          'InvalidAccessKeyId',
          'SignatureDoesNotMatch',
          'SlowDown',
          'Weird\nError',
        ]),
        $metadata: { httpStatusCode: rng.pick([301, 400, 403, 404, 500]) },
      },
    );
    if (roll === 19) Object.assign(err, { type: 'AssumeRoleError' });
    return err;
  };
  return {
    clientFor: (conn: ConnectionDef) => ({
      send: async (command: { constructor: { name: string } }) => {
        const err = failure(conn);
        if (err) throw err;
        return command.constructor.name === 'GetBucketLocationCommand'
          ? { LocationConstraint: !failing || rng.chance(0.95) ? conn.region : 'eu-west-3' }
          : {};
      },
    }),
    roleAssumableWithoutExternalId: async (conn: ConnectionDef) => {
      const err = rng.chance(0.2) ? failure(conn) : undefined;
      if (err) throw err;
      return failing && rng.chance(0.05);
    },
  } as unknown as S3ClientCache;
}

// ---------------------------------------------------------------------------
// One case

interface CaseResult {
  problems: string[];
  accepted: boolean;
}

/** Checks one message of deploy --check: `<a datafile of the project>:<a line of it>: ...`, no stack, no secret. */
function messageProblem(message: string, dir: string, lineCounts: Map<string, number>): string | undefined {
  const prefix = [...lineCounts.keys()].find((file) => message.startsWith(`${file}:`));
  if (prefix === undefined)
    return `a message that does not start with a datafile of the project: ${JSON.stringify(message.slice(0, 300))}`;
  const line = /^(\d+): /.exec(message.slice(prefix.length + 1));
  if (!line) return `a message without a line number: ${JSON.stringify(message.slice(0, 300))}`;
  const n = Number(line[1]);
  if (n < 1 || n > (lineCounts.get(prefix) as number))
    return `line ${n} of ${prefix.slice(dir.length + 1)}, which has ${lineCounts.get(prefix)} lines`;
  if (/\n\s+at /.test(message)) return `a stack trace in ${JSON.stringify(message.slice(0, 300))}`;
  const secret = NEVER_SHOWN.find((s) => message.includes(s));
  if (secret) return `a secret value in ${JSON.stringify(message.slice(0, 300))}`;
  return undefined;
}

/** The names a data source may put in quoted identifiers: tables, columns, and the keys of its JSONPaths. */
function identifiersOf(ds: DataSourceDef): Set<string> {
  const keys = ds.schema.flatMap((c) =>
    columnPath(c.name, c.jsonPath).flatMap((seg) => (seg.kind === 'key' ? [seg.name] : [])),
  );
  return new Set([ds.name, quarantineTableName(ds.name), ...ds.schema.map((c) => c.name), ...keys]);
}

/** Text that would end a literal or a statement if pasted into SQL. */
const HOSTILE_VALUE = `x'); DROP TABLE s3c_ledger; --"\\`;

/** A small file of the data source's format: a row keyed by its columns and JSONPath keys, a bad row, an empty one. */
function sampleFile(ds: DataSourceDef, format: 'csv' | 'ndjson'): string {
  if (format === 'ndjson') {
    const row = Object.fromEntries([...identifiersOf(ds)].map((k) => [k, HOSTILE_VALUE]));
    return `${JSON.stringify(row)}\n{"${ds.schema[0]?.name ?? 'x'}": 1}\nnot json\n`;
  }
  const field = (v: string): string => `"${v.replaceAll('"', '""')}"`;
  return `${ds.schema.map((c) => field(c.name)).join(',')}\n${ds.schema.map(() => field(HOSTILE_VALUE)).join(',')}\n1\n\n`;
}

/** The format a data source's files load as; Parquet is left out (the fuzz test writes no Parquet). */
function loadFormat(ds: DataSourceDef): 'csv' | 'ndjson' | undefined {
  const format =
    ds.import?.format ??
    (/\.csv(\.gz)?$/.test(ds.import?.bucketUri ?? '')
      ? 'csv'
      : /\.parquet$/.test(ds.import?.bucketUri ?? '')
        ? 'parquet'
        : 'ndjson');
  return format === 'parquet' ? undefined : format;
}

/** Loads a sample file as the worker would; a file it cannot read is fine, any other failure is not. */
async function loadSample(def: DataSourceDef, sink: DuckDbSink): Promise<string[]> {
  const format = loadFormat(def);
  if (!format) return [];
  const localPath = join(sink.scratchDir, `sample.${format}`);
  const content = sampleFile(def, format);
  writeFileSync(localPath, content);
  try {
    await sink.ingestFile({
      dataSource: def,
      localPath,
      format,
      compression: 'none',
      bucket: 'bucket-1',
      key: `sample.${format}`,
      etag: 'e1',
      size: Buffer.byteLength(content),
      lastModified: '2024-05-01T00:00:00Z',
      jobId: 'fuzz-job',
    });
    return [];
  } catch (err) {
    if (err instanceof FileUnreadableError) return [];
    return [
      `deploy --check passed, but loading a ${format} file into ${def.name} failed: ${err instanceof Error ? err.message.slice(0, 500) : String(err)}`,
    ];
  }
}

async function runCase(
  project: FuzzProject,
  s3: S3ClientCache,
  root: string,
  sink: DuckDbSink,
  log: StatementLog,
): Promise<CaseResult> {
  const problems: string[] = [];
  const dir = mkdtempSync(join(root, 'case-'));
  const lineCounts = new Map<string, number>();
  for (const f of project.files) {
    const path = join(dir, `${f.name}.${f.ext}`);
    if (lineCounts.has(path)) continue;
    try {
      writeFileSync(path, f.text);
    } catch {
      continue; // a name the file system refuses (too long, NUL): nothing to deploy
    }
    lineCounts.set(path, f.text.split(/\r?\n/).length);
  }
  let accepted = false;
  try {
    const plan = await planDeploy({
      projectDir: dir,
      workspace: loadWorkspaceConfig(dir, {}),
      temporal: loadTemporalConfig(dir, {}),
      lookup: (name) => SECRETS[name],
      s3,
    });
    for (const message of plan.errors) {
      const p = messageProblem(message, dir, lineCounts);
      if (p) problems.push(p);
    }
    if (plan.errors.length === 0 && !plan.next) problems.push('no errors and no plan');
    accepted = plan.errors.length === 0;
    for (const { def } of Object.values(plan.next?.dataSources ?? {}))
      problems.push(...(await deployOnSink(def, sink, log)));
  } catch (err) {
    problems.push(`deploy --check threw: ${err instanceof Error ? err.stack : String(err)}`);
  }
  rmSync(dir, { recursive: true, force: true });
  return { problems, accepted };
}

/**
 * Creates a data source's tables as the worker does and loads a sample file
 * into them, checks every statement DuckDB ran, then drops the tables.
 */
async function deployOnSink(def: DataSourceDef, sink: DuckDbSink, log: StatementLog): Promise<string[]> {
  const problems: string[] = [];
  log.statements = [];
  log.on = true;
  let created = false;
  try {
    await sink.ensureTables(def);
    created = true;
  } catch (err) {
    problems.push(
      `deploy --check passed, but the tables of ${def.name} cannot be created: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const tableStatements = log.statements.length;
  if (created) problems.push(...(await loadSample(def, sink)));
  log.on = false;
  const identifiers = identifiersOf(def);
  log.statements.forEach((sql, i) => {
    const p = productSqlProblem(sql, identifiers, i >= tableStatements);
    if (p) problems.push(`SQL that is not the product's own (${p}): ${JSON.stringify(sql.slice(0, 500))}`);
  });
  await sink.query(`DROP TABLE IF EXISTS ${quoteIdent(def.name)}`);
  await sink.query(`DROP TABLE IF EXISTS ${quoteIdent(quarantineTableName(def.name))}`);
  await sink.query('DELETE FROM s3c_ledger');
  return problems;
}

// ---------------------------------------------------------------------------

describe('datafile fuzz: parser and deploy --check (issue #18)', () => {
  let root: string;
  let sink: DuckDbSink;
  let log: StatementLog;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 's3c-fuzz-'));
    mkdirSync(root, { recursive: true });
    log = logDuckDbStatements();
    sink = await DuckDbSink.open(':memory:');
    log.on = false;
  });

  after(async () => {
    await sink?.close();
    log?.restore();
    rmSync(root, { recursive: true, force: true });
  });

  it('the SQL check refuses what the sink ran before issue #18 was fixed, and passes what it renders now', () => {
    const ids = new Set(['events', 'b']);
    const refused: [string, RegExp][] = [
      // The DEFAULT of the issue, pasted as written into the type check's statement (as before the fix).
      [
        "SELECT (CAST(('x') AS VARCHAR); COPY (SELECT 'pwned' AS p) TO 'pwned.csv' (HEADER); SELECT CAST(('y') AS VARCHAR)) IS NULL AS missing",
        /character ";"/,
      ],
      [
        "SELECT (CAST(((SELECT content FROM read_text('.s3c/secrets.json'))) AS VARCHAR)) IS NULL AS missing",
        /word "content"/,
      ],
      ['CREATE TABLE IF NOT EXISTS "events" ("b" VARCHAR NOT NULL DEFAULT (getenv(\'HOME\')))', /word "getenv"/],
      ['CREATE TABLE IF NOT EXISTS "events" ("x" VARCHAR)', /identifier "x"/],
      ["SELECT (CAST(('a\0b') AS VARCHAR)) IS NULL AS missing", /NUL/],
      ['SELECT (CAST((1) AS VARCHAR)) IS NULL AS missing -- ', /comment/],
      ["COPY events TO 'x.csv'", /does not write/],
    ];
    for (const [sql, why] of refused) assert.match(productSqlProblem(sql, ids) ?? 'accepted', why, sql);
    const accepted = [
      "SELECT (CAST((CAST('it''s; DROP TABLE x' AS VARCHAR)) AS VARCHAR)) IS NULL AS missing",
      'CREATE TABLE IF NOT EXISTS "events" ("b" VARCHAR NOT NULL DEFAULT (CAST((\'x\') AS VARCHAR)))',
    ];
    for (const sql of accepted) assert.equal(productSqlProblem(sql, ids), undefined, sql);
    // Words that would reach files or the configuration are never the load's, even if a message of the sink says them.
    for (const word of NEVER_OURS)
      assert.match(productSqlProblem(`SELECT ${word}(1)`, ids, true) ?? 'accepted', /never writes/, word);
  });

  it("the sink never quotes a NUL (found by this test: a JSONPath key with NUL cut the load's SQL short)", () => {
    assert.throws(() => quoteIdent('a\0b'), /NUL/);
    assert.throws(() => sqlString("x\0'); DROP TABLE s3c_ledger; --"), /NUL/);
    assert.equal(quoteIdent('a"b'), '"a""b"');
    assert.equal(sqlString("it's"), "'it''s'");
  });

  it("the sink opens with the product's own statements only", () => {
    assert.ok(log.statements.length > 0);
    for (const sql of log.statements) assert.equal(productSqlProblem(sql, new Set()), undefined, sql);
  });

  it('the seeds deploy as written (so that mutations start from valid projects)', async () => {
    for (const [i, project] of seeds().entries()) {
      const r = await runCase(structuredClone(project), fakeS3(new Rng(1), false), root, sink, log);
      assert.deepEqual(r.problems, [], `seed ${i}`);
      assert.ok(r.accepted, `seed ${i} is refused by deploy --check`);
    }
  });

  it(`every mutated project passes or fails with file:line, and runs only the product's SQL (seed ${SEED})`, async (t) => {
    t.diagnostic(`fuzz seed ${SEED}: S3C_FUZZ_SEED=${SEED} replays this run`);
    const base = seeds();
    const started = Date.now();
    const failures: string[] = [];
    let cases = 0;
    let accepted = 0;
    for (let i = ONLY_CASE ?? 0; i < MAX_CASES && (cases < MIN_CASES || Date.now() - started < BUDGET_MS); i++) {
      // One generator per case: a case replays alone with S3C_FUZZ_CASE.
      const rng = new Rng(SEED ^ Math.imul(i + 1, 0x9e3779b1));
      const project = structuredClone(rng.pick(base));
      const mutations = mutate(rng, project);
      const r = await runCase(project, fakeS3(rng), root, sink, log);
      cases++;
      if (r.accepted) accepted++;
      if (r.problems.length > 0) {
        failures.push(
          `case ${i} (S3C_FUZZ_SEED=${SEED} S3C_FUZZ_CASE=${i}): ${r.problems.join('; ')}\n  mutations: ${mutations.join(' | ')}\n` +
            project.files.map((f) => `  ${f.name}.${f.ext}: ${JSON.stringify(f.text.slice(0, 1500))}`).join('\n'),
        );
        if (failures.length >= 5) break;
      }
      if (ONLY_CASE !== undefined) break;
    }
    t.diagnostic(`${cases} cases in ${Date.now() - started} ms, ${accepted} accepted by deploy --check`);
    assert.deepEqual(failures, [], `fuzz seed ${SEED}`);
    if (ONLY_CASE === undefined) {
      assert.ok(accepted > cases / 20, `only ${accepted} of ${cases} cases reached the destination`);
    }
  });
});
