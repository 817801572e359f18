/**
 * CSV samples: the loader's layout (comment lines, delimiter: csvDialect),
 * fields split as the loader splits them (csvReadOptions); DuckDB decides the
 * header and the types. A file DuckDB cannot sniff that way is read again
 * skipping the rows it cannot split (they are quarantined by the loader too).
 */
import { detectCsvDialect, detectCsvLayout, headLines, splitCsvLine } from '../../sinks/csvDialect';
import { sqlString } from '../../sinks/duckdbTypes';
import type { BoundedConnection } from './boundedConnection';
import { type InferredColumn, InferenceError } from './model';
import {
  type CsvReadLayout,
  type SampleRead,
  csvReadOptions,
  headText,
  readHeadBytes,
  readerSql,
  utf8Sample,
} from './reading';

/** The start of a CSV sample, as the loader sees it. */
interface CsvHead {
  /** The sample in UTF-8. */
  plain: string;
  lines: string[];
  /** Lines after the comment lines, blank ones left out. */
  records: string[];
  delim: string;
  skipLines: number;
}

/** How to read a CSV sample (step 1 of inferSchema), with notes on what the loader will do. */
export async function prepareCsv(path: string, work: string, key: string, db: BoundedConnection): Promise<SampleRead> {
  const notes: string[] = [];
  const plain = await utf8Sample(path, work, key, notes);
  const lines = headLines(headText(readHeadBytes(plain)));
  const { delim, skipLines } = detectCsvLayout(lines);
  const head: CsvHead = {
    plain,
    lines,
    records: lines.slice(skipLines).filter((l) => l.trim() !== ''),
    delim,
    skipLines,
  };
  if (skipLines > 0)
    notes.push(
      `the first ${skipLines} line${skipLines === 1 ? ' is a comment' : 's are comments'} (starting with #): skipped, as the loader does`,
    );
  return (await sniffedCsv(db, head, notes)) ?? allTextCsv(head, notes);
}

/** The header's fields, trimmed, when the sample has a header. */
function headerFieldsOf(head: CsvHead, header: boolean): { headerFields?: string[] } {
  return header && head.records[0] !== undefined
    ? { headerFields: splitCsvLine(head.records[0], head.delim).map((f) => f.trim()) }
    : {};
}

/** Whether DuckDB's sniffer finds a header, reading the fields as the loader splits them. */
async function sniffHeader(db: BoundedConnection, head: CsvHead, tolerant: boolean): Promise<boolean> {
  return db.run(async (c) => {
    const r = await c.runAndReadAll(
      `SELECT HasHeader AS h FROM sniff_csv(${sqlString(head.plain)}, ${csvReadOptions(head)}, sample_size = -1` +
        `${tolerant ? ', ignore_errors = true, null_padding = true' : ''})`,
    );
    return r.getRowObjectsJS()[0]?.h === true;
  });
}

/** DuckDB sniffs header and types, strictly and then tolerantly; undefined when it gives up both times. */
async function sniffedCsv(db: BoundedConnection, head: CsvHead, notes: string[]): Promise<SampleRead | undefined> {
  for (const tolerant of [false, true]) {
    try {
      const header = (await sniffHeader(db, head, tolerant)) && !looksLikeData(head.records);
      const layout: CsvReadLayout = { delim: head.delim, skipLines: head.skipLines, header, tolerant };
      return {
        reader: readerSql(head.plain, 'csv', layout),
        csv: { layout, lines: head.lines, ...headerFieldsOf(head, header) },
        notes,
      };
    } catch (err) {
      if (err instanceof InferenceError) throw err;
    }
  }
  return undefined;
}

/** The field count most of the first records have (the larger on a tie). */
function commonFieldCount(records: readonly string[], delim: string): number {
  const counts = new Map<number, number>();
  for (const l of records.slice(0, 20)) {
    const n = splitCsvLine(l, delim).length;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0] ?? 1;
}

/**
 * DuckDB's sniffer gives up (records of varying length): every field as text, in the loader's
 * field count; the first record is a header when it has that many fields, none of them empty or a number.
 */
function allTextCsv(head: CsvHead, notes: string[]): SampleRead {
  const { plain, delim, skipLines, records } = head;
  const fields = commonFieldCount(records, delim);
  const first = splitCsvLine(records[0] ?? '', delim).map((f) => f.trim());
  const header = first.length === fields && first.every((f) => f !== '' && !/^[-+]?[0-9.,eE]+$/.test(f));
  const layout: CsvReadLayout = { delim, skipLines, header, tolerant: true };
  const columns = Array.from(
    { length: fields },
    (_, k) => `${sqlString(header ? (first[k] as string) : `column${k}`)}: 'VARCHAR'`,
  );
  notes.push(
    'DuckDB could not detect the column types (the records vary in length): numbers are typed, other columns are String',
  );
  return {
    reader:
      `read_csv(${sqlString(plain)}, ${csvReadOptions(layout)}, header = ${header}, auto_detect = false, ` +
      `columns = {${columns.join(', ')}}, ignore_errors = true, null_padding = true)`,
    csv: { layout, lines: head.lines, ...headerFieldsOf(head, header) },
    numbersInText: true,
    notes,
  };
}

/** A record's shape: runs of digits, of letters and of spaces each become one character. */
function shapeOf(record: string): string {
  return record
    .trim()
    .replace(/\p{N}+/gu, '9')
    .replace(/\p{L}+/gu, 'a')
    .replace(/\s+/g, ' ');
}

/**
 * Whether a first record DuckDB takes for a header is data: it holds digits
 * and has the shape of the record after it (`1 2 3` over `4 5 6`), or it is
 * one field of mostly numbers separated by spaces (a fixed-width table read
 * as one text column). DuckDB has no type evidence there, and the loader
 * would drop the record as a header.
 */
export function looksLikeData(records: readonly string[]): boolean {
  const [first, second] = records;
  if (first === undefined) return false;
  if (second !== undefined && /\p{N}/u.test(first) && shapeOf(first) === shapeOf(second)) return true;
  // One field (no delimiter) of numbers separated by spaces, as in a fixed-width table.
  const tokens = first.trim().split(/\s+/);
  const numbers = tokens.filter((t) => /^[-+]?[0-9]+([.,][0-9]*)?([eE][-+]?[0-9]+)?$/.test(t)).length;
  return !/[,\t;|]/.test(first) && tokens.length >= 3 && numbers * 2 > tokens.length;
}

/**
 * CSV with a header: the loader finds a column by its name in the header
 * (csvDialect), or an unnamed one by its place, so a column whose header
 * field repeats an earlier name cannot be found: it is left out, with a note
 * (with no header, columns go by position and every one is kept).
 */
export function addressableCsvColumns(
  columns: InferredColumn[],
  csv: NonNullable<SampleRead['csv']>,
  notes: string[],
): InferredColumn[] {
  const header = csv.headerFields;
  if (!csv.layout.header || header === undefined || header.length !== columns.length) {
    columns.forEach((c, i) => {
      if (header !== undefined && c.name !== header[i])
        notes.push(`column ${JSON.stringify(header[i] ?? '')} is named \`${c.name}\``);
    });
    return columns;
  }
  const dialect = detectCsvDialect(
    csv.lines,
    columns.map((c) => c.name),
    { delimiter: csv.layout.delim },
  );
  const keep: InferredColumn[] = [];
  columns.forEach((c, i) => {
    const field = header[i] ?? '';
    if (dialect.index[i] === i) {
      keep.push(c);
      if (c.name !== field) notes.push(`column ${JSON.stringify(field)} is named \`${c.name}\``);
    } else if (field === '') {
      notes.push(
        `left out field ${i + 1} of the header: it has no name, so the loader cannot find its values (name it in the file to load it)`,
      );
    } else {
      notes.push(
        `left out field ${i + 1} of the header (${JSON.stringify(field)}): the name is used by an earlier field, so the loader cannot find its values`,
      );
    }
  });
  return keep;
}
