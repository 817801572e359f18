/**
 * Steps 1 and 2 of inferSchema: the sample is loaded into a DuckDB table,
 * its columns flattened to leaves (a STRUCT becomes one column per field),
 * and a few aggregates per leaf (missing values, dates written as text,
 * fraction digits, NULL elements) decide each column's schema type.
 */
import { type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import type { FileFormat } from '../../datafiles/types';
import { quoteIdent, sqlString } from '../../sinks/duckdbTypes';
import type { BoundedConnection } from './boundedConnection';
import { addressableCsvColumns } from './csvSample';
import type { InferredColumn } from './model';
import { jsonPathOf, sanitizeColumnName, uniqueColumnNames } from './names';
import type { SampleRead } from './reading';
import {
  type MappedType,
  dateTimeOfDigits,
  schemaTypeOfDuckDb,
  timestampDigits,
  withMissingValues,
  withNullableElements,
} from './typeMapping';

/** ISO-8601 date and time as text (`T` or space, optional fraction and offset). */
const DATE_TIME_TEXT =
  '\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\\s*([Zz]|UTC|[+-][0-9]{2}(:?[0-9]{2})?)?\\s*';
/** A date (or date and time) in another order or with other separators than ISO 8601: 09/21/2012, 1-1-2016, 31.05.2018 10:00 EST. */
const OTHER_DATE_TEXT =
  '\\s*([0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4}|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+\\s*[A-Za-z]{3,5})([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?(\\s*[AaPp][Mm])?(\\s*[A-Za-z]{2,5})?)?\\s*';
const DATE_TIME_FRACTION = ':[0-9]{2}[.,]([0-9]+)';

/** A value of the sample that becomes one column: its keys from the root, the SQL that reads it, its type. */
interface Leaf {
  keys: string[];
  expr: string;
  type: DuckDBType;
}

/** Pushes the leaves of a value to `out`: itself, or each field of a (non-empty) STRUCT, recursively. */
function flatten(keys: string[], expr: string, type: DuckDBType, out: Leaf[]): void {
  if (type.typeId === DuckDBTypeId.STRUCT && type.entryCount > 0) {
    type.entryNames.forEach((entry, i) => {
      flatten([...keys, entry], `struct_extract(${expr}, ${sqlString(entry)})`, type.entryTypes[i] as DuckDBType, out);
    });
    return;
  }
  out.push({ keys, expr, type });
}

/** A leaf that gets a column: its place among the leaves (its aggregates' suffix) and its JSONPath. */
interface KeptLeaf {
  leaf: Leaf;
  index: number;
  path?: string;
}

/** Aggregates over the sample table, by name (`n`, then `c<i>`, `t<i>`... per leaf). */
type SampleStats = Record<string, unknown>;

const AGGREGATES_PER_QUERY = 100;

/** Reads the sample and maps its columns (steps 1 and 2 of {@link inferSchema}). */
export async function sampleColumns(
  db: BoundedConnection,
  read: SampleRead,
  format: FileFormat,
  maxRows: number,
): Promise<{ columns: InferredColumn[]; rows: number; notes: string[] }> {
  const leaves = await loadSample(db, read, maxRows);
  const stats = await sampleStats(db, leaves, read.numbersInText === true);
  const rows = Number(stats.n ?? 0);
  const notes: string[] = [];
  const kept = addressableLeaves(leaves, format, notes);
  const wanted = kept.map(({ leaf }) => sanitizeColumnName(leaf.keys.join('_')));
  const unique = uniqueColumnNames(wanted);
  let columns: InferredColumn[] = kept.map((k, i) => {
    const name = unique[i] as string;
    const fileName = k.leaf.keys.join(format === 'csv' ? '' : '.');
    if (format !== 'csv' && name !== (wanted[i] ?? ''))
      notes.push(`column ${JSON.stringify(fileName)} is named \`${name}\``);
    return columnOf(k, name, stats, rows, format, notes);
  });
  if (read.csv) columns = addressableCsvColumns(columns, read.csv, notes);
  return { columns, rows, notes };
}

/** Loads at most `maxRows` rows of the sample into the table `s3c_sample`; returns its leaves. */
async function loadSample(db: BoundedConnection, read: SampleRead, maxRows: number): Promise<Leaf[]> {
  const { names, types } = await db.run(async (c) => {
    const described = await c.runAndReadAll(`SELECT * FROM ${read.reader} LIMIT 0`);
    return { names: described.columnNames(), types: described.columnTypes() };
  });
  // Columns are renamed by position: a file's name may hold what an identifier cannot (a NUL).
  const aliases = names.map((_, i) => quoteIdent(`s3c_c${i}`));
  await db.run((c) =>
    c.run(
      `CREATE TEMP TABLE s3c_sample AS SELECT * FROM ${read.reader} AS s3c_t(${aliases.join(', ')}) LIMIT ${maxRows}`,
    ),
  );

  const fileNames = read.csv?.headerFields?.length === names.length ? read.csv.headerFields : names;
  const leaves: Leaf[] = [];
  fileNames.forEach((name, i) => flatten([name], aliases[i] as string, types[i] as DuckDBType, leaves));
  return leaves;
}

/** The aggregates that type leaf `i` (see {@link columnOf} for how they are read). */
function leafAggregates(leaf: Leaf, i: number, numbersInText: boolean): string[] {
  const aggregates = [`count(${leaf.expr}) AS c${i}`];
  if (leaf.type.typeId === DuckDBTypeId.VARCHAR && leaf.type.alias === undefined) {
    // Text that is a date and time throughout (DuckDB's detection wants one format for all values).
    aggregates.push(
      `count(${leaf.expr}) FILTER (WHERE regexp_full_match(${leaf.expr}, ${sqlString(DATE_TIME_TEXT)}) ` +
        `AND TRY_CAST(${leaf.expr} AS TIMESTAMPTZ) IS NOT NULL) AS t${i}`,
      `max(length(regexp_extract(${leaf.expr}, ${sqlString(DATE_TIME_FRACTION)}, 1))) AS tf${i}`,
    );
    // Dates and times not in ISO 8601 (09/21/2012, 1-1-2016 10:00 EST): String, with a note.
    aggregates.push(`count(*) FILTER (WHERE regexp_full_match(${leaf.expr}, ${sqlString(OTHER_DATE_TEXT)})) AS od${i}`);
    aggregates.push(`min(${leaf.expr}) AS ox${i}`);
    if (numbersInText) {
      aggregates.push(
        `count(TRY_CAST(${leaf.expr} AS BIGINT)) FILTER (WHERE regexp_full_match(${leaf.expr}, '[-+]?[0-9]+')) AS ni${i}`,
      );
      aggregates.push(`count(TRY_CAST(${leaf.expr} AS DOUBLE)) AS nf${i}`);
    }
  }
  if (leaf.type.typeId === DuckDBTypeId.LIST || leaf.type.typeId === DuckDBTypeId.ARRAY) {
    // A NULL element makes the element type Nullable.
    aggregates.push(`count(*) FILTER (WHERE list_count(${leaf.expr}) < len(${leaf.expr})) AS e${i}`);
  } else if (leaf.type.typeId === DuckDBTypeId.MAP) {
    aggregates.push(
      `count(*) FILTER (WHERE list_count(map_values(${leaf.expr})) < len(map_values(${leaf.expr}))) AS e${i}`,
    );
  }
  const digits = timestampDigits(leaf.type);
  if (digits !== undefined && digits > 0) {
    // Sub-second part in micro- (or nano-) seconds; the fewest digits that hold it.
    const sub = digits === 9 ? `(nanosecond(${leaf.expr}) % 1000000000)` : `(microsecond(${leaf.expr}) % 1000000)`;
    const steps =
      digits === 9
        ? [
            [1000000, 3],
            [1000, 6],
          ]
        : [[1000, 3]];
    aggregates.push(
      `max(CASE WHEN ${sub} = 0 THEN 0 ${steps.map(([m, d]) => `WHEN ${sub} % ${m} = 0 THEN ${d} `).join('')}ELSE ${digits} END) ` +
        `FILTER (WHERE ${leaf.expr} IS NOT NULL) AS f${i}`,
    );
  }
  return aggregates;
}

/** Runs every leaf's aggregates over `s3c_sample`. */
async function sampleStats(
  db: BoundedConnection,
  leaves: readonly Leaf[],
  numbersInText: boolean,
): Promise<SampleStats> {
  const aggregates = ['count(*) AS n', ...leaves.flatMap((leaf, i) => leafAggregates(leaf, i, numbersInText))];
  // In statements of at most AGGREGATES_PER_QUERY: DuckDB plans one with thousands of them (a
  // file of 1,362 columns) in tens of seconds.
  const stats: SampleStats = {};
  for (let k = 0; k < aggregates.length; k += AGGREGATES_PER_QUERY) {
    const part = aggregates.slice(k, k + AGGREGATES_PER_QUERY);
    Object.assign(
      stats,
      await db.run(
        async (c) => (await c.runAndReadAll(`SELECT ${part.join(', ')} FROM s3c_sample`)).getRowObjectsJS()[0] ?? {},
      ),
    );
  }
  return stats;
}

/** The leaves that can be columns: every CSV one; NDJSON and Parquet ones whose JSONPath can be written. */
function addressableLeaves(leaves: readonly Leaf[], format: FileFormat, notes: string[]): KeptLeaf[] {
  const kept: KeptLeaf[] = [];
  leaves.forEach((leaf, index) => {
    if (format === 'csv') {
      kept.push({ leaf, index });
      return;
    }
    const path = jsonPathOf(leaf.keys);
    if (path === undefined) {
      notes.push(
        `left out the field ${JSON.stringify(leaf.keys.join('.'))}: a JSONPath cannot hold a backtick or a control character`,
      );
      return;
    }
    kept.push({ leaf, index, path });
  });
  return kept;
}

/** The schema type of leaf `index` before missing values: dates and numbers found in text first, else DuckDB's type. */
function mappedTypeOf(leaf: Leaf, index: number, stats: SampleStats, nonNull: number): MappedType {
  const digitsSeen = stats[`f${index}`];
  const dateTimeText = nonNull > 0 && Number(stats[`t${index}`] ?? -1) === nonNull;
  const numbers =
    nonNull > 0 && Number(stats[`ni${index}`] ?? -1) === nonNull
      ? 'int'
      : nonNull > 0 && Number(stats[`nf${index}`] ?? -1) === nonNull
        ? 'float'
        : undefined;
  return dateTimeText
    ? { type: dateTimeOfDigits(Number(stats[`tf${index}`] ?? 0)) }
    : numbers === 'int'
      ? { type: { kind: 'Int', bits: 64, signed: true } }
      : numbers === 'float'
        ? { type: { kind: 'Float', bits: 64 } }
        : schemaTypeOfDuckDb(leaf.type, digitsSeen === null || digitsSeen === undefined ? 0 : Number(digitsSeen));
}

/** The column of a kept leaf, named `name`, with notes on values kept as text. */
function columnOf(
  kept: KeptLeaf,
  name: string,
  stats: SampleStats,
  rows: number,
  format: FileFormat,
  notes: string[],
): InferredColumn {
  const { leaf, index, path } = kept;
  const nonNull = Number(stats[`c${index}`] ?? 0);
  const mapped = mappedTypeOf(leaf, index, stats, nonNull);
  if (mapped.asText !== undefined) notes.push(`column \`${name}\` is ${mapped.asText} in the file: kept as String`);
  if (mapped.type.kind === 'String' && nonNull > 0 && Number(stats[`od${index}`] ?? -1) === nonNull) {
    notes.push(
      `column \`${name}\` holds dates or times not written in ISO 8601 (such as ${JSON.stringify(String(stats[`ox${index}`]))}): kept as String. ` +
        'The loader reads Date and DateTime from ISO 8601 text only (2012-09-21, 2012-09-21 10:00:00), because 01/02/2012 is a different day in different files',
    );
  }
  const nullsSeen = rows > 0 && nonNull < rows;
  const base = Number(stats[`e${index}`] ?? 0) > 0 ? withNullableElements(mapped.type) : mapped.type;
  const final = withMissingValues(base, nullsSeen, format);
  return {
    name,
    type: final.type,
    ...(path !== undefined ? { jsonPath: path } : {}),
    ...(final.defaultExpr !== undefined ? { defaultExpr: final.defaultExpr } : {}),
  };
}
