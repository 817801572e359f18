/**
 * Every file of the real-world corpus (test/fixtures/realworld: files nobody
 * on the team wrote, taken from public packages) through the product as a
 * user runs it: `datasource create --s3` infers a schema from the file in
 * MinIO, `s3c deploy` deploys all of them, each `@once` data source loads its
 * file on the real worker. Per file:
 *
 * - nothing is lost: rows loaded + rows quarantined = the file's record
 *   count (DuckDB's own count, from the manifest), or the count listed in
 *   DIFFERENT_COUNTS with the reason we count otherwise;
 * - a schema inferred from a file loads all of it: no quarantined row,
 *   except for files listed in QUARANTINED with the reason the rows are bad;
 * - a file that fails, fails with the error listed in FAILS;
 * - a file whose schema cannot be inferred gets the template schema
 *   (`data String`) and the precise reason, listed in NOT_INFERRED.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { minioConnection, startTestStack, type TestStack } from '../helpers/stack';
import { cliContext } from '../../src/cli/context';
import { datasourceCreateS3, type DatasourcePrompts } from '../../src/cli/datasourceCreate';
import { repoRoot } from '../../src/local/tools';
import type { DataSourceState } from '../../src/contract';

interface CorpusFile {
  id: string;
  file: string;
  format: 'csv' | 'ndjson' | 'parquet';
  compression: 'none' | 'gzip';
  duckdb: { records?: number; lines?: number; error?: string };
}

const corpusDir = join(repoRoot, 'test', 'fixtures', 'realworld');
const corpus = (JSON.parse(readFileSync(join(corpusDir, 'manifest.json'), 'utf8')) as { files: CorpusFile[] }).files;

/** Files whose records we count otherwise than DuckDB's auto-detecting reader, and why. */
const DIFFERENT_COUNTS: Record<string, { records: number; why: string }> = {
  modin_issue_976: {
    records: 5,
    why: 'not UTF-8: DuckDB refuses it; decoded (as Windows-1252, see docs/csv.md), 5 records without a header',
  },
  gdal_mm_m_idofic: { records: 320, why: 'Latin-1: DuckDB refuses it; decoded, 320 records under a header' },
  gdal_s57expectedinput: {
    records: 1007,
    why: 'Latin-1: DuckDB refuses it; decoded, 1,007 records under a header (one quarantined)',
  },
  gt_08_peeps_utf16: { records: 100, why: 'UTF-16: DuckDB cannot sniff it; decoded, 100 records under a header' },
  astropy_commented_header: {
    records: 2,
    why: 'DuckDB reads "# A comment line" as a record of a one-column table; we skip the leading # lines',
  },
  astropy_short_rdb: {
    records: 9,
    why: 'an RDB table: we skip the leading comment and blank lines, read its "N N N" type line as a record and quarantine " # comment"; DuckDB counts 8',
  },
  astropy_short_rdb_gz: { records: 9, why: 'the same RDB table, gzipped' },
  astropy_daophot_gz: {
    records: 4,
    why: 'DAOPHOT: DuckDB reads every line, # lines too, as one column; we skip the # lines before the data',
  },
  astropy_vizier_table1: { records: 15, why: 'DuckDB takes the first data line for a header; the file has none' },
  sklearn_diabetes_data_raw_gz: {
    records: 442,
    why: 'DuckDB takes the first data line for a header; the file has none',
  },
  sklearn_breast_cancer: {
    records: 570,
    why: 'its first line ("569,30,malignant,benign", 4 fields) describes the data set: DuckDB skips it, we quarantine it',
  },
  allennlp_seq2seq_mml_tsv: {
    records: 3,
    why: 'tab-separated lines of 3, 4 and 2 fields: DuckDB reads one comma column under the first line as a header',
  },
  gdal_gt_datum: {
    records: 229,
    why: 'its header names 17 columns where 225 records have 13 fields: DuckDB sniffs 228 lines away, we read every line',
  },
};

/** Files with an inferred schema whose quarantined rows are bad in the file itself. */
const QUARANTINED: Record<string, { rows: number; why: string }> = {
  astropy_simple_csv_missing: { rows: 1, why: 'the line "1" has 1 field of 3' },
  astropy_short_rdb: { rows: 1, why: '" # comment" in the middle of the table' },
  astropy_short_rdb_gz: { rows: 1, why: '" # comment" in the middle of the table' },
  astropy_cds_mrt_dashes: { rows: 3, why: 'text lines of an MRT header that are not records' },
  sklearn_breast_cancer: { rows: 1, why: 'the description line of 4 fields' },
  allennlp_seq2seq_mml_tsv: { rows: 2, why: 'lines of 4 and 2 fields where the first has 3' },
  gdal_s57expectedinput: { rows: 1, why: 'a \\" inside a quoted field (a backslash escape, not CSV)' },
  gdal_gt_datum: { rows: 4, why: 'the 17-name header and 3 lines whose field count is not the 13 of the others' },
  gdal_s57agencies: { rows: 105, why: 'agency names with unquoted commas: more fields than the header' },
};

/** Files that fail to load, with the error the user sees. */
const FAILS: Record<string, { error: RegExp; why: string }> = {
  nodeparquet_cpp_example: {
    error:
      /DuckDB cannot read this file \(Information loss on integer cast: value -1 outside of target range \[0, 4294967295\]\)/,
    why: "DuckDB 1.5's Parquet reader raises an INTERNAL error on parquet-cpp's example file (its metadata functions invalidate the database)",
  },
};

/** Files whose schema is not inferred, with the reason `datasource create` gives. */
const NOT_INFERRED: Record<string, { reason: RegExp; why: string }> = {
  astropy_empty_foo: { reason: /^every matching file is empty$/, why: 'a 0-byte file' },
  pyarrow_orc_emptyfile_gz: { reason: /has no data \(not one line\)/, why: 'an empty gzip stream' },
  allennlp_squad_pretty: {
    reason:
      /is not NDJSON: line 1 is not valid JSON \("\{"\); the file looks like one JSON document spread over 77 lines \(pretty-printed\)/,
    why: 'pretty-printed JSON',
  },
  sklearn_openml_jd_1_gz: {
    reason: /the file looks like one JSON document spread over 22 lines \(pretty-printed\)/,
    why: 'pretty-printed JSON',
  },
  jts_y_object_with_newlines: {
    reason: /the file looks like one JSON document spread over 3 lines \(pretty-printed\)/,
    why: 'one object over 3 lines',
  },
  allennlp_qangaroo: { reason: /line 1 is a JSON array, not an object/, why: 'a JSON array' },
  jts_y_array_empty: { reason: /line 1 is a JSON array, not an object \("\[\]"\)/, why: 'a JSON array' },
  jts_y_structure_whitespace_array: { reason: /line 1 is a JSON array, not an object/, why: 'a JSON array' },
  jts_i_number_huge_exp: { reason: /line 1 is a JSON array, not an object/, why: 'a JSON array' },
  jts_y_structure_lonely_null: { reason: /line 1 is a JSON null, not an object/, why: 'null' },
  jts_y_object_empty: {
    reason: /every JSON object of .* is empty \(\{\}\): there is no field to make a column of/,
    why: '{}',
  },
  jts_y_object_duplicated_key: { reason: /is an object with the key "a" twice/, why: 'DuckDB refuses a repeated key' },
  jts_n_object_single_quote: { reason: /line 1 is not valid JSON \("\{'a':0\}"\)/, why: 'invalid JSON' },
  jts_n_structure_unclosed_object: { reason: /line 1 is not valid JSON/, why: 'invalid JSON' },
  jts_n_structure_object_with_trailing_garbage: { reason: /line 1 is not valid JSON/, why: 'invalid JSON' },
  nodeparquet_cpp_example: {
    reason: /DuckDB cannot read this file \(Information loss on integer cast/,
    why: 'see FAILS',
  },
};

const BUCKET = 'realworld';
/** Every option is given: a question would be a bug. */
const noPrompts = new Proxy(
  {},
  {
    get: () => () => {
      throw new Error('datasource create asked a question although every option was given');
    },
  },
) as DatasourcePrompts;
const name = (f: CorpusFile) => `rw_${f.id}`;

describe('the real-world corpus, through datasource create, deploy and the worker', () => {
  let t: TestStack;
  const created = new Map<string, { inferred: boolean; output: string }>();
  const states = new Map<string, DataSourceState>();

  before(async () => {
    // Unlimited files per minute: the corpus is 150 files.
    t = await startTestStack({ workspace: { filesPerMinute: 0 } });
    await t.createBucket(BUCKET);
    for (const f of corpus) await t.put(BUCKET, `${f.id}/${f.file}`, readFileSync(join(corpusDir, 'files', f.file)));
    t.write('minio.connection', minioConnection());
  });

  after(async () => {
    await t?.stop();
  });

  it('datasource create --s3 writes a .datasource file for every file, inferred or with the reason why not', async () => {
    const ctx = cliContext(t.projectDir);
    const problems: string[] = [];
    for (const f of corpus) {
      const lines: string[] = [];
      let result;
      try {
        result = await datasourceCreateS3({
          projectDir: t.projectDir,
          lookup: ctx.lookup,
          s3: ctx.s3(),
          prompts: noPrompts,
          out: (line) => lines.push(line),
          name: name(f),
          connection: 'minio',
          uri: `s3://${BUCKET}/${f.id}/*`,
          schedule: '@once',
        });
      } catch (e) {
        problems.push(`${f.id}: datasource create failed and wrote no file: ${(e as Error).message}`);
        continue;
      }
      const output = lines.join('\n');
      created.set(f.id, { inferred: result.inferred, output });
      const expected = NOT_INFERRED[f.id];
      if (result.inferred && expected) problems.push(`${f.id}: inferred, but listed in NOT_INFERRED`);
      if (!result.inferred) {
        const reason = /✗ No schema was inferred: (.*)\. The file gets/.exec(output)?.[1] ?? output;
        if (!expected) problems.push(`${f.id}: not inferred: ${reason}`);
        else if (!expected.reason.test(reason)) problems.push(`${f.id}: not inferred for another reason: ${reason}`);
        if (reason.includes('/tmp/') || reason.includes(t.root))
          problems.push(`${f.id}: a temp path in the reason: ${reason}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('s3c deploy deploys every data source, and each loads its file', async () => {
    const out = await t.cli(['deploy']);
    assert.equal(out.code, 0, out.stderr);
    for (const f of corpus) {
      if (!created.has(f.id)) continue;
      // Its one sync over, whether the file loaded or failed.
      const done = (s: DataSourceState) =>
        s.counters.syncs >= 1 && s.status !== 'syncing' && s.pendingSyncs === 0 && !s.currentJobId;
      states.set(f.id, await t.waitForState(name(f), done, 300_000));
    }
  });

  it('nothing is lost: rows + quarantined = the records of each file', () => {
    const problems: string[] = [];
    for (const f of corpus) {
      const s = states.get(f.id);
      if (!s) {
        problems.push(`${f.id}: no data source`);
        continue;
      }
      const c = s.counters;
      const fails = FAILS[f.id];
      if (fails) {
        if (c.filesFailed !== 1 || !fails.error.test(s.lastError ?? ''))
          problems.push(`${f.id}: expected to fail with ${fails.error}, got ${JSON.stringify(c)} ${s.lastError ?? ''}`);
        continue;
      }
      if (c.filesFailed !== 0) {
        problems.push(`${f.id}: failed: ${s.lastError ?? ''}`);
        continue;
      }
      const expected = DIFFERENT_COUNTS[f.id]?.records ?? f.duckdb.records;
      if (c.rows + c.quarantined !== expected) {
        problems.push(
          `${f.id}: ${c.rows} rows + ${c.quarantined} quarantined, expected ${expected} records (DuckDB: ${JSON.stringify(f.duckdb)})`,
        );
      }
    }
    assert.deepEqual(problems, []);
  });

  it('a schema inferred from a file loads all of it', () => {
    const problems: string[] = [];
    for (const f of corpus) {
      if (!created.get(f.id)?.inferred || FAILS[f.id]) continue;
      const q = states.get(f.id)!.counters.quarantined;
      const expected = QUARANTINED[f.id]?.rows ?? 0;
      if (q !== expected) problems.push(`${f.id}: ${q} rows quarantined, expected ${expected}`);
    }
    assert.deepEqual(problems, []);
  });
});
