/**
 * Documentation cannot drift from the parser (issue #19, item 11): every
 * datafile snippet of README.md and docs/*.md, and every datafile of
 * examples/, parses without an error. A snippet that shows only some
 * settings (a fragment) is completed with the least the parser requires.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadProject } from '../../src/datafiles';
import { type DocSnippet, datafileSnippets, documentationFiles, exampleDatafiles } from '../helpers/docSnippets';

const folders: string[] = [];
after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** Secret values of the right shape for each kind of setting a snippet may read from a secret. */
function placeholderSecret(name: string): string {
  if (/ARN/i.test(name)) return 'arn:aws:iam::123456789012:role/doc-snippet';
  if (/ENDPOINT/i.test(name)) return 'http://127.0.0.1:9000';
  if (/URI/i.test(name)) return 's3://doc-bucket/data/*.csv';
  return 'doc-snippet-value';
}

/** The connection that completes data source fragments. */
const FRAGMENT_CONNECTION = 'doc_fragment_connection';

/** A fragment with the required lines it does not show added after it (its own line numbers stay). */
function completed(s: DocSnippet): string {
  const has = (keyword: string): boolean => new RegExp(`^${keyword}(?:[ \\t]|$)`, 'im').test(s.text);
  const add: string[] = [];
  if (s.kind === 'connection') {
    if (!has('TYPE')) add.push('TYPE s3');
    if (!has('S3_REGION')) add.push('S3_REGION "us-east-1"');
    if (!has('S3_ARN') && !has('S3_ACCESS_KEY')) add.push('S3_ARN "arn:aws:iam::123456789012:role/doc-snippet"');
  } else {
    if (!has('SCHEMA')) add.push('SCHEMA >', '    `id` Int64 `json:$.id`', '');
    if (/^IMPORT_/m.test(s.text)) {
      if (!has('IMPORT_CONNECTION_NAME')) add.push(`IMPORT_CONNECTION_NAME ${FRAGMENT_CONNECTION}`);
      if (!has('IMPORT_BUCKET_URI')) add.push('IMPORT_BUCKET_URI s3://doc-bucket/data/*.csv');
      if (!has('IMPORT_SCHEDULE')) add.push('IMPORT_SCHEDULE @on-demand');
    }
  }
  return add.length === 0 ? s.text : `${s.text}\n${add.join('\n')}\n`;
}

/** Writes the snippets as one project (data sources refer to the connections of the same pages) and parses it. */
function parseAll(snippets: DocSnippet[]): { errors: string[]; parsed: number } {
  const dir = mkdtempSync(join(tmpdir(), 's3c-doc-snippets-'));
  folders.push(dir);
  const whereOf = new Map<string, string>();
  snippets.forEach((s, i) => {
    const file = join(dir, `${s.name ?? `snippet_${i}`}.${s.kind}`);
    assert.ok(!whereOf.has(file), `${s.where}: a second snippet named ${s.name}.${s.kind}`);
    whereOf.set(file, s.where);
    writeFileSync(file, s.fragment ? completed(s) : s.text);
  });
  writeFileSync(
    join(dir, `${FRAGMENT_CONNECTION}.connection`),
    'TYPE s3\nS3_REGION "us-east-1"\nS3_ARN "arn:aws:iam::123456789012:role/doc-snippet"\n',
  );
  const project = loadProject(dir, placeholderSecret);
  const errors = project.errors.map(
    (e) =>
      `${whereOf.get(e.file) ?? e.file}, line ${e.line} of the snippet: ${e.message.slice(e.file.length + String(e.line).length + 3)}`,
  );
  return { errors, parsed: project.connections.length + project.dataSources.length };
}

describe('datafile snippets of the documentation', () => {
  const snippets = documentationFiles().flatMap(datafileSnippets);

  it('finds the datafiles of the README (a connection and a data source) among the snippets', () => {
    const readme = snippets.filter((s) => s.where.startsWith('README.md:'));
    assert.deepEqual(readme.map((s) => `${s.kind}:${s.name ?? '?'}:${s.fragment}`).sort(), [
      'connection:s3sample:false',
      'datasource:events:false',
    ]);
  });

  it('every snippet of README.md and docs/*.md parses', () => {
    const { errors, parsed } = parseAll(snippets);
    assert.deepEqual(errors, []);
    assert.equal(parsed, snippets.length + 1);
  });

  it('every datafile of examples/ parses', () => {
    const files = exampleDatafiles();
    assert.ok(files.length > 0);
    const asSnippets = files.map(([where, text]): DocSnippet => {
      const name = /([^/]+)\.(connection|datasource)$/.exec(where) as RegExpExecArray;
      return { where, kind: name[2] as DocSnippet['kind'], name: name[1] as string, text, fragment: false };
    });
    assert.deepEqual(parseAll(asSnippets).errors, []);
  });
});
