/**
 * ENGINE_PARTITION_KEY on the lake: DuckLake partitions a table's Parquet
 * files by columns and by `year/month/day/hour(column)`
 * (`ALTER TABLE t SET PARTITIONED BY (…)`). A ClickHouse partition key made of
 * plain columns and the date functions below maps to that; any other key is
 * left out with a warning (the rows load the same, unpartitioned).
 */
import type { DataSourceDef } from '../../datafiles/types';
import { quoteIdent } from '../duckdbTypes';

/** ClickHouse date functions, as the DuckLake partition parts that split files at least as finely. */
const DATE_PARTS: Record<string, string[]> = {
  toyear: ['year'],
  toyyyy: ['year'],
  toyyyymm: ['year', 'month'],
  tostartofmonth: ['year', 'month'],
  tomonth: ['month'],
  todate: ['year', 'month', 'day'],
  toyyyymmdd: ['year', 'month', 'day'],
  tostartofday: ['year', 'month', 'day'],
  todayofmonth: ['day'],
  tostartofhour: ['year', 'month', 'day', 'hour'],
  tohour: ['hour'],
};

/** The partition key's parts, split on top-level commas, without an enclosing `tuple(…)` or `(…)`. */
function keyParts(key: string): string[] {
  let text = key.trim();
  const wrapped = /^(tuple)?\((.*)\)$/is.exec(text);
  if (wrapped && balanced(wrapped[2]!)) text = wrapped[2]!.trim();
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === ',' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
      continue;
    }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    cur += ch;
  }
  if (cur.trim()) parts.push(cur.trim());
  return parts;
}

function balanced(text: string): boolean {
  let depth = 0;
  for (const ch of text) {
    depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/** A column of the data source named by `text` (bare or in backquotes), if any. */
function columnOf(ds: DataSourceDef, text: string): string | undefined {
  const name = text.trim().replace(/^`(.*)`$/, '$1');
  return ds.schema.find((c) => c.name === name)?.name;
}

/** One part of the key as DuckLake partition expressions, or undefined when DuckLake has none for it. */
function lakePart(ds: DataSourceDef, part: string): string[] | undefined {
  const plain = columnOf(ds, part);
  if (plain) return [quoteIdent(plain)];
  const call = /^([A-Za-z]+)\s*\((.*)\)$/s.exec(part);
  const fns = call ? DATE_PARTS[call[1]!.toLowerCase()] : undefined;
  const column = call ? columnOf(ds, call[2]!) : undefined;
  return fns && column ? fns.map((f) => `${f}(${quoteIdent(column)})`) : undefined;
}

/**
 * The `PARTITIONED BY` list of a data source's ENGINE_PARTITION_KEY:
 * `{ by }` when every part maps, `{ unsupported }` (the key) when one does
 * not, undefined without a key (or an empty `tuple()`).
 */
export function lakePartitioning(ds: DataSourceDef): { by: string } | { unsupported: string } | undefined {
  if (ds.partitionKey === undefined) return undefined;
  const parts = keyParts(ds.partitionKey);
  if (parts.length === 0) return undefined;
  const mapped = parts.map((p) => lakePart(ds, p));
  if (mapped.some((m) => m === undefined)) return { unsupported: ds.partitionKey };
  return { by: [...new Set(mapped.flatMap((m) => m!))].join(', ') };
}
