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
import type { DataSourceState } from '../../src/workflows/shared';

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
const DIFFERENT_COUNTS: Record<string, { records: number; why: string }> = {};

/** Files with an inferred schema whose quarantined rows are bad in the file itself. */
const QUARANTINED: Record<string, { rows: number; why: string }> = {};

/** Files that fail to load, with the error the user sees. */
const FAILS: Record<string, { error: RegExp; why: string }> = {};

/** Files whose schema is not inferred, with the reason `datasource create` gives. */
const NOT_INFERRED: Record<string, { reason: RegExp; why: string }> = {};

const BUCKET = 'realworld';
/** Every option is given: a question would be a bug. */
const noPrompts = new Proxy({}, {
  get: () => () => {
    throw new Error('datasource create asked a question although every option was given');
  },
}) as DatasourcePrompts;
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
        if (reason.includes('/tmp/') || reason.includes(t.root)) problems.push(`${f.id}: a temp path in the reason: ${reason}`);
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
      const done = (s: DataSourceState) => s.counters.syncs >= 1 && s.status !== 'syncing' && s.pendingSyncs === 0 && !s.currentJobId;
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
        if (c.filesFailed !== 1 || !fails.error.test(s.lastError ?? '')) problems.push(`${f.id}: expected to fail with ${fails.error}, got ${JSON.stringify(c)} ${s.lastError ?? ''}`);
        continue;
      }
      if (c.filesFailed !== 0) {
        problems.push(`${f.id}: failed: ${s.lastError ?? ''}`);
        continue;
      }
      const expected = DIFFERENT_COUNTS[f.id]?.records ?? f.duckdb.records;
      if (c.rows + c.quarantined !== expected) {
        problems.push(`${f.id}: ${c.rows} rows + ${c.quarantined} quarantined, expected ${expected} records (DuckDB: ${JSON.stringify(f.duckdb)})`);
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
