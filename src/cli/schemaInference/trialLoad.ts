/**
 * Step 3 of inferSchema, the trial load: the sample is loaded with the real
 * DuckDB sink and the inferred columns; a column whose values the loader
 * refuses is widened, and the load is tried again.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join as joinPath, resolve as resolvePath } from 'node:path';
import type { FileFormat } from '../../datafiles/types';
import { formatColumnType, parseDataSource } from '../../datafiles';
import { quarantineTableName, quoteIdent } from '../../sinks/duckdbTypes';
import { DuckDbSink, FileUnreadableError } from '../../sinks/duckdb';
import { type InferredColumn, InferenceError } from './model';
import { columnLine } from './render';
import { STRING, withMissingValues, withNullableElements } from './typeMapping';

/** Rounds of the trial load at most (each widens every column the loader refused). */
const MAX_TRIALS = 5;

/** A column's type widened after the loader refused a value of it (see inferSchema, step 3). */
export function widenAfterRefusal(column: InferredColumn, missing: boolean, refused: boolean): InferredColumn {
  let { type, defaultExpr } = column;
  if (refused) {
    const elements = withNullableElements(type);
    if (elements !== type && formatColumnType(elements) !== formatColumnType(type)) type = elements;
    else {
      type = type.kind === 'Nullable' ? { kind: 'Nullable', inner: STRING } : STRING;
      defaultExpr = undefined;
    }
  }
  if (missing) {
    const m = withMissingValues(type, true, 'ndjson');
    type = m.type;
    if (m.defaultExpr !== undefined) defaultExpr = m.defaultExpr;
  }
  const { defaultExpr: _drop, ...rest } = column;
  return { ...rest, type, ...(defaultExpr !== undefined ? { defaultExpr } : {}) };
}

/** What the loader refused in one column: missing values, other values (an example of the first). */
interface Refusal {
  col: string;
  missing: boolean;
  refused: boolean;
  example: string | undefined;
}

/**
 * Step 3 of {@link inferSchema}: loads the sample with the DuckDB sink and the
 * columns, widens the columns it refuses, and tries again until every row
 * that is not malformed in the file loads.
 */
export async function checkWithLoader(
  start: InferredColumn[],
  path: string,
  format: FileFormat,
  key: string,
  memoryLimit: string,
): Promise<{ columns: InferredColumn[]; notes: string[] }> {
  const notes: string[] = [];
  if (start.length === 0) return { columns: start, notes };
  let columns = start;
  const work = fs.mkdtempSync(joinPath(os.tmpdir(), 's3c-trial-'));
  // The sink's DuckDB reads files only in the folders it is given: ours, where the sample is linked.
  const sink = await DuckDbSink.open(':memory:', { memoryLimit, fileDirectories: [work] });
  try {
    const sample = { localPath: linkSample(path, work, format), format, key, size: fs.statSync(path).size };
    for (let round = 1; ; round++) {
      // Not s3c_*: that prefix is reserved for the product's own tables, and parseDataSource refuses it.
      const name = `infer_trial_${round}`;
      const quarantined = await trialLoad(sink, columns, name, round, sample);
      if (quarantined === 0) return { columns, notes };
      const q = quoteIdent(quarantineTableName(name));
      const byColumn = await refusalsByColumn(sink, q);
      if (byColumn.length === 0 || round >= MAX_TRIALS) {
        const first = byColumn[0];
        if (first !== undefined) {
          throw new InferenceError(
            `the loader still refuses values of column \`${first.col}\` of ${key} after ${round} tries: ${first.example ?? 'missing values'}`,
          );
        }
        notes.push(await malformedNote(sink, q));
        return { columns, notes };
      }
      columns = widenRefused(columns, byColumn, notes);
    }
  } finally {
    await sink.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The sink writes decoded copies beside the file: it gets a link in our own folder. A hard
 * link (a copy across file systems): the sink's DuckDB reads only in `work`, and resolves symlinks.
 */
function linkSample(path: string, work: string, format: FileFormat): string {
  const local = joinPath(work, `sample.${format}`);
  try {
    fs.linkSync(resolvePath(path), local);
  } catch {
    fs.copyFileSync(resolvePath(path), local);
  }
  return local;
}

/** Loads the sample into table `name` with `columns`; returns the rows quarantined. */
async function trialLoad(
  sink: DuckDbSink,
  columns: readonly InferredColumn[],
  name: string,
  round: number,
  sample: { localPath: string; format: FileFormat; key: string; size: number },
): Promise<number> {
  const text = `SCHEMA >\n${columns.map((c, i) => `    ${columnLine(c)}${i < columns.length - 1 ? ',' : ''}`).join('\n')}\n\nENGINE "MergeTree"\n`;
  const ds = parseDataSource(text, `${name}.datasource`);
  try {
    const result = await sink.ingestFile({
      dataSource: ds,
      ...sample,
      compression: 'none',
      bucket: 'sample',
      etag: `infer-${round}`,
      lastModified: new Date().toISOString(),
      jobId: 'infer',
      recordInLedger: false,
    });
    return result.quarantined;
  } catch (err) {
    if (err instanceof FileUnreadableError)
      throw new InferenceError(`the loader cannot read ${sample.key}: ${err.reason}`);
    throw err;
  }
}

/** The quarantined rows of table `q` (quoted), by the column the loader refused. */
async function refusalsByColumn(sink: DuckDbSink, q: string): Promise<Refusal[]> {
  const rows = await sink.query(
    `SELECT col, bool_or(starts_with(err, 'missing value')) AS missing, bool_or(NOT starts_with(err, 'missing value')) AS refused, ` +
      `min(err) FILTER (WHERE NOT starts_with(err, 'missing value')) AS example, count(*) AS n ` +
      `FROM (SELECT unnest(c__error_column) AS col, unnest(c__error) AS err FROM ${q} WHERE len(c__error_column) > 0) GROUP BY col`,
  );
  return rows.map((r) => ({
    col: String(r.col),
    missing: r.missing === true,
    refused: r.refused === true,
    example: r.example === null ? undefined : String(r.example),
  }));
}

/** What is left is malformed in the file itself: the loader quarantines it whatever the schema. */
async function malformedNote(sink: DuckDbSink, q: string): Promise<string> {
  const shape = (
    await sink.query(
      `SELECT count(*) AS n, arg_min(c__error[1], c__line) AS first FROM ${q} WHERE len(c__error_column) = 0`,
    )
  )[0];
  const n = Number(shape?.n ?? 0);
  const first = String(shape?.first ?? '');
  return (
    `${n} record${n === 1 ? '' : 's'} of the sample ${n === 1 ? 'is' : 'are'} malformed in the file and will be quarantined whatever the schema` +
    (first !== '' ? ` (${first.length > 160 ? `${first.slice(0, 160)}…` : first})` : '')
  );
}

/** Widens every column the loader refused, with a note saying why. */
function widenRefused(
  columns: readonly InferredColumn[],
  byColumn: readonly Refusal[],
  notes: string[],
): InferredColumn[] {
  const failing = new Map(byColumn.map((b) => [b.col, b]));
  return columns.map((c) => {
    const f = failing.get(c.name);
    if (!f) return c;
    const widened = widenAfterRefusal(c, f.missing, f.refused);
    const note = widenNote(c, widened, f);
    if (note !== undefined) notes.push(note);
    return widened;
  });
}

/** Why column `c` became `widened`, when anything changed. */
function widenNote(c: InferredColumn, widened: InferredColumn, f: Refusal): string | undefined {
  const was = formatColumnType(c.type);
  const now = formatColumnType(widened.type);
  if (f.refused && widened.type.kind !== 'Array' && widened.type.kind !== 'Map' && now !== was) {
    const value = /^value '(.*)' on column '/s.exec(f.example ?? '')?.[1];
    const shown =
      value === undefined ? '' : ` such as ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    const dates = /^(Nullable\()?(Date|DateTime)/.test(was)
      ? ' (Date and DateTime read ISO 8601 text such as 2024-01-31 and 2024-01-31 10:00:00; other forms are ambiguous between files, e.g. 01/02/2024)'
      : '';
    return `column \`${c.name}\` is ${now}, not ${was}: the loader does not read values${shown} as ${was.replace(/^Nullable\((.*)\)$/, '$1')}${dates}`;
  }
  if (now !== was || widened.defaultExpr !== c.defaultExpr) {
    return `column \`${c.name}\` is ${now}${widened.defaultExpr !== undefined ? ` DEFAULT ${widened.defaultExpr}` : ''}: the sample has ${f.refused ? 'NULL elements' : 'missing values'} in it`;
  }
  return undefined;
}
