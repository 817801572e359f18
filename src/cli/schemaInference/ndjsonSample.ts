/**
 * NDJSON samples: the lines the loader takes as records (valid JSON objects,
 * as its tolerant path decides them) are the sample; other lines are
 * quarantined by the loader, and a file with none is refused here with the
 * reason.
 */
import * as fs from 'node:fs';
import { join as joinPath } from 'node:path';
import { sqlString } from '../../sinks/duckdbTypes';
import type { BoundedConnection } from './boundedConnection';
import { InferenceError } from './model';
import { type SampleRead, readerSql, utf8Sample } from './reading';

/** What the lines of an NDJSON sample are. */
interface LineCounts {
  total: number;
  objects: number;
  /** Objects with at least one key. */
  keyed: number;
  /** Lines that are not JSON objects; the first of them by number, text and JSON type (none when not JSON). */
  bad: number;
  badLine: number | undefined;
  badText: string;
  badType: string | undefined;
}

/** How to read an NDJSON sample (step 1 of inferSchema), with notes on what the loader will do. */
export async function prepareNdjson(
  path: string,
  work: string,
  key: string,
  db: BoundedConnection,
): Promise<SampleRead> {
  const notes: string[] = [];
  const plain = await utf8Sample(path, work, key, notes);
  const lines =
    `SELECT row_number() OVER () AS n, l FROM read_csv(${sqlString(plain)}, columns = {'l': 'VARCHAR'}, header = false, ` +
    `auto_detect = false, delim = chr(1), quote = '', escape = '', ignore_errors = true)`;
  const classified = `SELECT n, l, json_valid(l) AS valid, json_valid(l) AND left(ltrim(l), 1) = '{' AS obj FROM (${lines}) WHERE l IS NOT NULL AND trim(l) <> ''`;
  const counts = await countLines(db, classified);
  if (counts.total === 0)
    throw new InferenceError(`${key} has no data (not one line): there is nothing to infer a schema from`);
  if (counts.objects === 0) throw await noObjectError(db, lines, counts, key);
  if (counts.keyed === 0) {
    throw new InferenceError(`every JSON object of ${key} is empty ({}): there is no field to make a column of`);
  }
  if (counts.bad === 0) return { reader: readerSql(plain, 'ndjson'), notes };
  // Only the objects: the loader quarantines the other lines.
  const objectsPath = await writeObjectsOnly(db, classified, joinPath(work, 'objects.ndjson'));
  notes.push(
    `${counts.bad} of ${counts.total} lines of the sample are not JSON objects (${whatIsBad(counts)}): the loader quarantines such lines`,
  );
  return { reader: readerSql(objectsPath, 'ndjson'), notes };
}

/** Counts the lines of `classified` (see prepareNdjson) by what they are. */
async function countLines(db: BoundedConnection, classified: string): Promise<LineCounts> {
  const stats = await db.run(async (c) => {
    const r = await c.runAndReadAll(
      `SELECT count(*) AS total, count(*) FILTER (WHERE obj) AS objects, ` +
        // JSON functions only ever see valid JSON ('0' stands in for the rest: DuckDB may evaluate both branches).
        `count(*) FILTER (WHERE obj AND json_keys(CASE WHEN obj THEN l ELSE '{}' END) <> []) AS keyed, ` +
        `min(n) FILTER (WHERE NOT obj) AS bad_n, arg_min(l, n) FILTER (WHERE NOT obj) AS bad_l, ` +
        `arg_min(CASE WHEN valid THEN json_type(CASE WHEN valid THEN l ELSE '0' END) END, n) FILTER (WHERE NOT obj) AS bad_type, ` +
        `count(*) FILTER (WHERE NOT obj) AS bad FROM (${classified})`,
    );
    return r.getRowObjectsJS()[0] ?? {};
  });
  return {
    total: Number(stats.total ?? 0),
    objects: Number(stats.objects ?? 0),
    keyed: Number(stats.keyed ?? 0),
    bad: Number(stats.bad ?? 0),
    badLine: stats.bad_n === null || stats.bad_n === undefined ? undefined : Number(stats.bad_n),
    badText: typeof stats.bad_l === 'string' ? stats.bad_l : '',
    badType: typeof stats.bad_type === 'string' ? stats.bad_type.toLowerCase() : undefined,
  };
}

/** The start of a line for a message. */
function excerpt(line: string): string {
  const t = line.trim();
  return JSON.stringify(t.length > 60 ? `${t.slice(0, 60)}…` : t);
}

/** The first line that is not a JSON object, and what it is instead. */
function whatIsBad(counts: LineCounts): string {
  const { badLine, badText, badType } = counts;
  return badType === undefined
    ? `line ${badLine} is not valid JSON (${excerpt(badText)})`
    : `line ${badLine} is a JSON ${badType === 'array' ? 'array' : badType === 'varchar' ? 'string' : badType}, not an object (${excerpt(badText)})`;
}

/** Why a sample without one JSON object is not NDJSON; a pretty-printed document is named as such. */
async function noObjectError(
  db: BoundedConnection,
  lines: string,
  counts: LineCounts,
  key: string,
): Promise<InferenceError> {
  if (counts.total > 1 && counts.badType === undefined) {
    const whole = await db.run(async (c) => {
      const r = await c.runAndReadAll(`SELECT json_valid(string_agg(l, chr(10) ORDER BY n)) AS ok FROM (${lines})`);
      return r.getRowObjectsJS()[0]?.ok === true;
    });
    if (whole) {
      return new InferenceError(
        `${key} is not NDJSON: ${whatIsBad(counts)}; the file looks like one JSON document spread over ${counts.total} lines (pretty-printed), ` +
          'where NDJSON has one JSON object per line',
      );
    }
  }
  return new InferenceError(
    `${key} has no JSON object on a line of its own, as NDJSON records are: ${whatIsBad(counts)}`,
  );
}

/** Writes the lines that are JSON objects to `out`, in order; returns `out`. */
async function writeObjectsOnly(db: BoundedConnection, classified: string, out: string): Promise<string> {
  const kept = await db.run(async (c) => {
    const r = await c.runAndReadAll(`SELECT l FROM (${classified}) WHERE obj ORDER BY n`);
    return r.getRowObjectsJS().map((row) => String(row.l));
  });
  fs.writeFileSync(out, `${kept.join('\n')}\n`);
  return out;
}
