/**
 * How a CSV file is laid out, decided from its first lines and the data
 * source's schema (docs/csv.md): comment lines before the data, the
 * delimiter, whether the first record is a header, and which field each
 * schema column takes. Pure; the sink adds type evidence from DuckDB.
 *
 * - Comment lines: lines starting with `#` before the first record are skipped.
 * - Delimiter: IMPORT_CSV_DELIMITER when set; else the one of `,` tab `;` `|`
 *   that splits the first line into the schema's names; else the one that
 *   splits the sampled lines into the same number of fields (more than one),
 *   preferring the schema's column count; else `,`.
 * - Header: IMPORT_CSV_HEADER when set; else a header when its fields name
 *   every schema column, or at least half of them (names compared without
 *   case, spaces and punctuation), or when the sink finds that the first line
 *   fails the typed columns while the next lines pass (`typedHeader`).
 * - Columns: by name with a header (a schema column the header lacks is a
 *   missing value), by position without.
 * - A header that ends with a delimiter (an empty last name) allows records
 *   with or without that empty last field.
 */

/** The CSV settings of a data source (IMPORT_CSV_*). */
export interface CsvSettings {
  /** IMPORT_CSV_HEADER: true or false; undefined → detected. */
  header?: boolean;
  /** IMPORT_CSV_DELIMITER: one character; undefined → detected. */
  delimiter?: string;
}

export interface CsvDialect {
  delim: string;
  /** Physical lines before the first record (comments, and blank lines among them). */
  skipLines: number;
  /** The comment lines among them (the blank ones are no records anyway). */
  skipRecords: number;
  /** The first record's fields (trimmed) when it is a header. */
  header?: string[];
  /** Fields of a record. */
  fields: number;
  /** A record may lack the last field (the header ends with a delimiter). */
  lastFieldOptional: boolean;
  /** Per schema column: the index of its field, or -1 when the file has none. */
  index: number[];
}

/** Delimiters tried, in order (comma first). */
export const CSV_DELIMITERS = [',', '\t', ';', '|'];

/** Lines sampled to pick a delimiter. */
const SAMPLE_LINES = 20;

/** Splits one CSV line (RFC 4180 quotes) on `delim`. */
export function splitCsvLine(line: string, delim: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur.trim() === '') {
      quoted = true;
      cur = '';
    } else if (ch === delim) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** A name as compared for header detection: lower case, letters and digits only. */
export function nameKey(name: string): string {
  return name.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/** Lines of `head` (up to SAMPLE_LINES + comments), without BOM and line endings. */
export function headLines(head: string): string[] {
  return head
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\n|\r/)
    .slice(0, 200);
}

/** How many schema names the fields give (exactly, or by nameKey). */
function namesFound(fields: string[], names: string[]): number {
  const exact = new Set(fields.map((f) => f.trim()));
  const keys = new Set(fields.map(nameKey));
  return names.filter((n) => exact.has(n) || keys.has(nameKey(n))).length;
}

function mode(values: number[]): { value: number; count: number } {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = { value: 0, count: 0 };
  for (const [value, count] of counts) if (count > best.count) best = { value, count };
  return best;
}

/** Comment lines and delimiter of a CSV file: what {@link detectCsvDialect} decides before the header. */
export interface CsvLayout {
  delim: string;
  /** Physical lines before the first record (comments, and blank lines among them). */
  skipLines: number;
  /** The comment lines among them. */
  skipRecords: number;
}

function layoutOf(
  lines: string[],
  names: string[],
  settings: CsvSettings,
): CsvLayout & { first: string; sample: string[] } {
  // Comment lines, and blank lines before the last of them.
  let skipLines = 0;
  let skipRecords = 0;
  for (let k = 0, comments = 0; k < lines.length - 1 && (lines[k]!.trim() === '' || lines[k]!.startsWith('#')); k++) {
    if (!lines[k]!.startsWith('#')) continue;
    comments++;
    skipLines = k + 1;
    skipRecords = comments;
  }
  const records = lines.slice(skipLines).filter((l) => l.trim() !== '');
  const first = records[0] ?? '';
  const sample = records.slice(0, SAMPLE_LINES);

  let delim = settings.delimiter;
  if (delim === undefined && names.length > 0) {
    delim = CSV_DELIMITERS.find((d) => namesFound(splitCsvLine(first, d), names) === names.length);
  }
  if (delim === undefined) {
    let best: { d: string; score: number } | undefined;
    for (const d of CSV_DELIMITERS) {
      const m = mode(sample.map((l) => splitCsvLine(l, d).length));
      if (m.value < 2) continue;
      // Consistency first; the schema's own count breaks ties.
      const score = m.count * 2 + (m.value === names.length ? 1 : 0);
      if (!best || score > best.score) best = { d, score };
    }
    delim = best?.d ?? ',';
  }
  return { delim, skipLines, skipRecords, first, sample };
}

/**
 * Comment lines and delimiter of a CSV file whose first lines are `lines`
 * when there is no schema yet (`s3c datasource create` infers one): the
 * rules of {@link detectCsvDialect} without the schema's names, i.e. the
 * delimiter that splits the sampled records most consistently.
 */
export function detectCsvLayout(lines: string[], settings: CsvSettings = {}): CsvLayout {
  const { delim, skipLines, skipRecords } = layoutOf(lines, [], settings);
  return { delim, skipLines, skipRecords };
}

/**
 * The layout of a CSV file whose first lines are `lines` (see headLines), for
 * a schema with column `names`. `typedHeader`: the sink's verdict that the
 * first record fails the typed columns while the next ones pass.
 */
export function detectCsvDialect(
  lines: string[],
  names: string[],
  settings: CsvSettings = {},
  typedHeader = false,
): CsvDialect {
  const { delim, skipLines, skipRecords, first, sample } = layoutOf(lines, names, settings);

  const firstFields = splitCsvLine(first, delim).map((f) => f.trim());
  const found = namesFound(firstFields, names);
  const byNames = found === names.length || (found >= 2 && found * 2 >= names.length);
  const isHeader = settings.header ?? (byNames || typedHeader);

  if (isHeader) {
    const header = firstFields;
    const lastFieldOptional = header.length > 1 && header[header.length - 1] === '';
    const index = names.map((n) => {
      const exact = header.indexOf(n);
      return exact >= 0 ? exact : header.findIndex((h) => h !== '' && nameKey(h) === nameKey(n));
    });
    // A column the header leaves unnamed (`,a,b`: an index column) is the schema's column at its place.
    for (const [i, at] of index.entries()) {
      if (at < 0 && header[i] === '' && i < header.length - (lastFieldOptional ? 1 : 0) && !index.includes(i))
        index[i] = i;
    }
    // A header that names none of the columns (IMPORT_CSV_HEADER true, other names): by position.
    const byPosition = index.every((i) => i < 0);
    return {
      delim,
      skipLines,
      skipRecords,
      header,
      fields: header.length,
      lastFieldOptional,
      index: byPosition ? names.map((_, i) => (i < header.length ? i : -1)) : index,
    };
  }
  // No header: the sampled records' usual field count, the schema's columns by position.
  const counts = mode(sample.map((l) => splitCsvLine(l, delim).length));
  const fields = counts.count > 0 ? counts.value : names.length;
  return {
    delim,
    skipLines,
    skipRecords,
    fields,
    lastFieldOptional: false,
    index: names.map((_, i) => (i < fields ? i : -1)),
  };
}

/**
 * Whether the first record might be a header by its values: a typed
 * (non-text) column holds a value that starts with a letter and is no
 * literal of a type (true, nan, inf, null...). Only then does the sink ask
 * DuckDB whether the typed columns refuse it.
 */
export function mightBeTypedHeader(firstFields: string[], typed: boolean[]): boolean {
  return typed.some((t, i) => {
    const v = (firstFields[i] ?? '').trim().toLowerCase();
    return t && /^\p{L}/u.test(v) && !/^(true|false|t|f|yes|no|y|n|on|off|nan|inf|infinity|null|none)$/.test(v);
  });
}
