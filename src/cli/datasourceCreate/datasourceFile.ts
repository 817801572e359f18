/**
 * Step 9 of the guided `datasource create`: the text of `<name>.datasource`,
 * written and parsed back to prove it valid, and the next steps.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type SecretLookup, defaultSortingKey, parseDataSource, resolveSecrets } from '../../datafiles';
import { type InferredColumn, asColumns, columnLine } from '../schemaInference';
import { printBlock } from '../prompting';
import type { BucketSchema } from './bucketSample';
import type { DatasourceCreateResult } from './options';
import { datasourceNameProblem } from './problems';

/** Settings of the `.datasource` file the flow writes. */
export interface DatasourceFileSpec {
  connection: string;
  uri: string;
  schedule: string;
  fromTimestamp?: string;
  /** Inferred columns; absent for the template. */
  columns?: readonly InferredColumn[];
  /** Key the columns were inferred from. */
  sampleKey?: string;
  /** Why there are no inferred columns (one line), for the template's comment. */
  templateReason?: string;
}

/**
 * The text of the `.datasource` file: DESCRIPTION, SCHEMA (the inferred
 * columns, or a commented template with one placeholder column), ENGINE
 * "MergeTree", ENGINE_SORTING_KEY (R1.3 default rule, when a column
 * qualifies), then the IMPORT_* settings.
 */
export function datasourceFileText(spec: DatasourceFileSpec): string {
  const lines: string[] = ['DESCRIPTION >'];
  lines.push(`    Files of ${spec.uri}, read with the connection ${spec.connection}.`);
  lines.push(
    spec.columns !== undefined && spec.sampleKey !== undefined
      ? `    Schema inferred from ${spec.sampleKey} by \`s3c datasource create --s3\`.`
      : '    Created by `s3c datasource create --s3`; the schema is still to be written.',
  );
  lines.push('', 'SCHEMA >');
  let sortingKey: string | undefined;
  if (spec.columns !== undefined && spec.columns.length > 0) {
    spec.columns.forEach((c, i) => lines.push(`    ${columnLine(c)}${i < (spec.columns?.length ?? 0) - 1 ? ',' : ''}`));
    sortingKey = defaultSortingKey(asColumns(spec.columns));
  } else {
    const reason = (spec.templateReason ?? 'no sample file').replace(/\s+/g, ' ').trim().slice(0, 200);
    lines.push(
      `    # TODO: no schema was inferred (${reason}).`,
      '    # Replace the placeholder column below with the fields of the files, one per line:',
      '    #   `name` Type `json:$.path`, ...',
      "    # The JSONPath finds NDJSON and Parquet values ($.a.b, $['key with spaces'], $.a[:]);",
      '    # CSV columns are found by the header when it names them, else by position.',
      '    # Types: String, LowCardinality(String), Bool, Int8..Int64, UInt8..UInt64, Float32, Float64,',
      '    #   Decimal(P, S), Date, DateTime, DateTime64(3), UUID, Nullable(T), Array(T), Map(String, T).',
      '    `data` String `json:$`',
    );
  }
  lines.push('', 'ENGINE "MergeTree"');
  // The key is a double-quoted value: its \ and " are escaped (a column may be named `\intval = 1`).
  if (sortingKey !== undefined) lines.push(`ENGINE_SORTING_KEY "${sortingKey.replace(/[\\"]/g, (c) => `\\${c}`)}"`);
  lines.push(
    '',
    `IMPORT_CONNECTION_NAME ${spec.connection}`,
    `IMPORT_BUCKET_URI ${spec.uri}`,
    `IMPORT_SCHEDULE ${spec.schedule}`,
  );
  if (spec.fromTimestamp !== undefined) lines.push(`IMPORT_FROM_TIMESTAMP ${spec.fromTimestamp}`);
  lines.push('');
  return lines.join('\n');
}

/** What step 9 needs: the answers, what the bucket gave, and where to write. */
export interface DatasourceFileInput {
  projectDir: string;
  lookup: SecretLookup;
  out: (line: string) => void;
  name: string;
  settings: Pick<DatasourceFileSpec, 'connection' | 'uri' | 'schedule' | 'fromTimestamp'>;
  bucket: BucketSchema;
}

/**
 * (9) Writes `<name>.datasource` (never over an existing file), parses it
 * back, prints it and the next steps.
 *
 * @throws Error when the name was taken meanwhile, or the written file does
 *   not parse (it is removed).
 */
export function writeDatasourceFile(input: DatasourceFileInput): DatasourceCreateResult {
  const { projectDir, lookup, out, name } = input;
  const lateProblem = datasourceNameProblem(name, projectDir);
  if (lateProblem !== undefined) throw new Error(lateProblem);
  const { text, columns } = validText(input);
  const folder = datasourcesFolder(projectDir);
  const file = path.join(folder, `${name}.datasource`);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(file, text, { flag: 'wx' });
  try {
    parseDataSource(text, file, resolverFor(file, lookup));
  } catch (e) {
    fs.rmSync(file, { force: true });
    throw new Error(
      `the generated file did not parse, so it was not kept: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  out(`✓ Wrote ${file}:`);
  out('');
  printBlock(out, text, '    ');
  out('');
  printNextSteps(out, path.relative(projectDir, file) || file, columns !== undefined);
  const { sampleKey } = input.bucket;
  return { path: file, text, inferred: columns !== undefined, ...(sampleKey !== undefined ? { sampleKey } : {}) };
}

/** Resolves the secret references of `file`'s values, as deploy will. */
function resolverFor(file: string, lookup: SecretLookup) {
  return (raw: string, line: number) => resolveSecrets(raw, lookup, { file, line });
}

/** The file's text; inferred columns that do not make a valid file still leave a file: the template, saying why. */
function validText(input: DatasourceFileInput): { text: string; columns?: readonly InferredColumn[] } {
  const { name, out, bucket } = input;
  const textOf = (extra: Pick<DatasourceFileSpec, 'columns' | 'templateReason'>) =>
    datasourceFileText({
      ...input.settings,
      ...(bucket.sampleKey !== undefined ? { sampleKey: bucket.sampleKey } : {}),
      ...extra,
    });
  const { columns } = bucket;
  if (columns === undefined)
    return { text: textOf(bucket.templateReason !== undefined ? { templateReason: bucket.templateReason } : {}) };
  const text = textOf({ columns });
  try {
    parseDataSource(text, `${name}.datasource`, resolverFor(`${name}.datasource`, input.lookup));
    return { text, columns };
  } catch (e) {
    const templateReason = `the inferred schema of ${bucket.sampleKey ?? 'the sample'} is not valid: ${e instanceof Error ? e.message : String(e)}`;
    out(`✗ ${templateReason}. The file gets a SCHEMA template to fill in.`);
    return { text: textOf({ templateReason }) };
  }
}

/** `<project>/datasources/` when that folder exists, else the project folder. */
function datasourcesFolder(projectDir: string): string {
  const sub = path.join(projectDir, 'datasources');
  return fs.existsSync(sub) && fs.statSync(sub).isDirectory() ? sub : projectDir;
}

function printNextSteps(out: (line: string) => void, file: string, inferred: boolean): void {
  out('Next steps:');
  let step = 1;
  if (!inferred) out(`  ${step++}. Write the SCHEMA of ${file} (replace the placeholder column).`);
  else out(`  ${step++}. Review the columns, their types and the sorting key in ${file}.`);
  out(`  ${step++}. Check the project: s3c deploy --check`);
  out(`  ${step++}. Deploy it: s3c deploy`);
}
