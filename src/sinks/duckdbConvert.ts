/**
 * SQL expressions that convert raw values to a column's DuckDB type.
 *
 * Every conversion has TRY semantics: it yields NULL when the value does not
 * convert, so that a row can be tested (`raw IS NOT NULL AND converted IS NULL`)
 * and routed to the quarantine table. Nothing here touches rows in JavaScript:
 * these are SQL fragments that DuckDB evaluates vectorised.
 */
import type { ColumnType } from '../datafiles/types';
import { baseType, duckDbType, isNullable, quoteIdent, sqlString } from './duckdbTypes';

/** One step of a JSONPath. */
export type PathSegment = { kind: 'key'; name: string } | { kind: 'index'; index: number } | { kind: 'all' };

/**
 * Parses the JSONPath subset of R1.3: `$`, `$.a.b`, `$.a[0]`, `$['key with
 * spaces']`, `$["k"]`, `$.a[:]` / `$.a[*]` (the whole array, last step only).
 */
export function parseJsonPath(path: string): PathSegment[] {
  const p = path.trim();
  if (!p.startsWith('$')) throw new Error(`invalid JSONPath '${path}': it must start with '$'`);
  const segs: PathSegment[] = [];
  let i = 1;
  while (i < p.length) {
    const c = p[i]!;
    if (c === '.') {
      const m = /^[^.[\]]+/.exec(p.slice(i + 1));
      if (!m) throw new Error(`invalid JSONPath '${path}': expected a key after '.' at ${i + 1}`);
      segs.push({ kind: 'key', name: m[0] });
      i += 1 + m[0].length;
    } else if (c === '[') {
      const rest = p.slice(i);
      const quoted = /^\[\s*(['"])((?:\\.|(?!\1).)*)\1\s*\]/.exec(rest);
      const idx = /^\[\s*(-?\d+)\s*\]/.exec(rest);
      const all = /^\[\s*(?::|\*)\s*\]/.exec(rest);
      if (quoted) {
        segs.push({ kind: 'key', name: quoted[2]!.replace(/\\(.)/g, '$1') });
        i += quoted[0].length;
      } else if (idx) {
        segs.push({ kind: 'index', index: Number(idx[1]) });
        i += idx[0].length;
      } else if (all) {
        segs.push({ kind: 'all' });
        i += all[0].length;
      } else {
        throw new Error(`invalid JSONPath '${path}': unexpected '${rest.slice(0, 10)}'`);
      }
    } else {
      throw new Error(`invalid JSONPath '${path}': unexpected '${c}' at ${i}`);
    }
  }
  const allAt = segs.findIndex((s) => s.kind === 'all');
  if (allAt >= 0 && allAt !== segs.length - 1) {
    throw new Error(`invalid JSONPath '${path}': '[:]' is only supported as the last step`);
  }
  return segs;
}

/** The JSONPath of a column: its `json:` path, or `$.<name>`. */
export function columnPath(name: string, jsonPath: string | undefined): PathSegment[] {
  return jsonPath ? parseJsonPath(jsonPath) : [{ kind: 'key', name }];
}

/**
 * A DuckDB JSON path string for the segments (`$."a"."b"[0]`). `[:]` selects
 * the array itself, which the column type then converts.
 */
export function duckJsonPath(segs: PathSegment[]): string {
  let out = '$';
  for (const s of segs) {
    if (s.kind === 'key') out += `."${s.name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
    else if (s.kind === 'index') out += s.index < 0 ? `[#${s.index}]` : `[${s.index}]`;
  }
  return out;
}

/** Regex matching a timestamp text that ends with an explicit UTC offset. */
const OFFSET_RE = `[0-9]:[0-9]{1,2}(:[0-9]{1,2}([.,][0-9]*)?)?\\s*([Zz]|UTC|[+-][0-9]{2}(:?[0-9]{2})?)$`;
const EPOCH_RE = `\\s*[0-9]{1,12}(\\.[0-9]*)?\\s*`;

/** Wraps an expression so that it is evaluated once per row in a CASE. */
function nonNullCheck(expr: string, cond: (x: string) => string): string {
  return `CASE WHEN ${cond(expr)} THEN ${expr} END`;
}

/**
 * Converts a VARCHAR expression `s` to the column type (NULL on failure).
 * The result of a NULL input is NULL.
 */
export function convertFromString(s: string, type: ColumnType, source: 'json' | 'text'): string {
  const t = baseType(type);
  const target = duckDbType(t);
  switch (t.kind) {
    case 'String':
      return s;
    case 'FixedString':
      return `CASE WHEN strlen(${s}) <= ${t.length} THEN ${s} END`;
    case 'UUID':
    case 'Bool':
    case 'Float':
    case 'Decimal':
      return `TRY_CAST(${s} AS ${target})`;
    case 'Date':
    case 'Date32':
      // A date, or a timestamp whose date part is taken.
      return `COALESCE(TRY_CAST(${s} AS DATE), CAST(TRY_CAST(${s} AS TIMESTAMP) AS DATE))`;
    case 'Int':
      // DuckDB rounds '1.5' to 2; ClickHouse refuses it. Fractions must be zero.
      return (
        `CASE WHEN NOT (contains(${s}, '.') OR contains(${s}, 'e') OR contains(${s}, 'E')) THEN TRY_CAST(${s} AS ${target}) ` +
        `WHEN TRY_CAST(${s} AS DOUBLE) = trunc(TRY_CAST(${s} AS DOUBLE)) THEN TRY_CAST(TRY_CAST(${s} AS DOUBLE) AS ${target}) END`
      );
    case 'DateTime':
    case 'DateTime64':
      return dateTimeFromString(s, t, target);
    case 'Array':
    case 'Map': {
      // JSON text first (NDJSON arrays/objects, CSV "[1,2]"), then DuckDB's own
      // literal syntax (['a','b'], {k=v}) for CSV.
      const viaJson = `TRY_CAST(TRY_CAST(${s} AS JSON) AS ${target})`;
      const conv = source === 'json' ? viaJson : `COALESCE(${viaJson}, TRY_CAST(${s} AS ${target}))`;
      return nestedNullCheck(conv, t);
    }
    case 'Nullable':
    case 'LowCardinality':
      return convertFromString(s, t, source); // unreachable: baseType unwrapped them
  }
}

/** DateTime and DateTime64 (`target`: their DuckDB type) from text, or from epoch seconds. */
function dateTimeFromString(
  s: string,
  t: Extract<ColumnType, { kind: 'DateTime' | 'DateTime64' }>,
  target: string,
): string {
  const epoch = `CASE WHEN regexp_full_match(${s}, '${EPOCH_RE}') THEN TRY_CAST(to_timestamp(TRY_CAST(${s} AS DOUBLE)) AS ${target}) END`;
  let parsed: string;
  if (t.timezone) {
    // Without an offset the text is wall time in the column's time zone.
    parsed =
      `CASE WHEN regexp_matches(${s}, '${OFFSET_RE}') THEN TRY_CAST(${s} AS TIMESTAMPTZ) ` +
      `ELSE timezone(${sqlString(t.timezone)}, TRY_CAST(${s} AS TIMESTAMP)) END`;
  } else {
    // Text with an offset is converted to UTC (session time zone is UTC);
    // text without one is UTC already.
    //
    // The common case first, at the cost of one cast: the nanosecond cast
    // applies an offset, and from 1970 on it truncates to the target's
    // precision as a direct cast does. The TIMESTAMP casts ignore an
    // offset, so before 1970 (where NS → µs rounds toward zero) and
    // outside 1677–2262, a regex finds the offset and TIMESTAMPTZ applies
    // it; without one, the direct cast keeps nanoseconds for TIMESTAMP_NS.
    const ns = `TRY_CAST(${s} AS TIMESTAMP_NS)`;
    const fromNs =
      target === 'TIMESTAMP_NS'
        ? ns
        : target === 'TIMESTAMP'
          ? `CAST(${ns} AS TIMESTAMP)`
          : `CAST(CAST(${ns} AS TIMESTAMP) AS ${target})`;
    const guarded =
      `CASE WHEN regexp_matches(${s}, '${OFFSET_RE}') THEN TRY_CAST(TRY_CAST(${s} AS TIMESTAMPTZ) AS ${target}) ` +
      `ELSE TRY_CAST(${s} AS ${target}) END`;
    parsed = `COALESCE(CASE WHEN ${ns} >= TIMESTAMP_NS '1970-01-01' THEN ${fromNs} END, ${guarded})`;
  }
  return `COALESCE(${parsed}, ${epoch})`;
}

/** For Array/Map with non-Nullable elements: NULL when an element is NULL (it did not convert). */
function nestedNullCheck(conv: string, t: ColumnType): string {
  if (t.kind === 'Array' && !isNullable(t.element)) {
    return nonNullCheck(conv, (x) => `list_count(${x}) = len(${x})`);
  }
  if (t.kind === 'Map' && !isNullable(t.value)) {
    return nonNullCheck(conv, (x) => `list_count(map_values(${x})) = len(map_values(${x}))`);
  }
  return conv;
}

const NUMERIC_TYPES = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'HUGEINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'UHUGEINT',
  'FLOAT',
  'DOUBLE',
]);

/** True for DuckDB nested types (STRUCT, MAP, LIST, ARRAY, UNION). */
export function isNestedDuckType(typeText: string): boolean {
  return /^(STRUCT|MAP|UNION)\(/.test(typeText) || /\]$/.test(typeText);
}

/** The text form of a typed value: JSON for nested values, CAST otherwise. */
export function textOf(expr: string, typeText: string): string {
  if (typeText === 'VARCHAR') return expr;
  if (isNestedDuckType(typeText) || typeText === 'JSON') return `CAST(to_json(${expr}) AS VARCHAR)`;
  return `CAST(${expr} AS VARCHAR)`;
}

/**
 * Candidate conversions of a typed value (Parquet) to the column type, best
 * first. The caller keeps the first one DuckDB can bind; the last one always
 * binds (it goes through the value's text form).
 */
export function convertFromTypedCandidates(r: string, rawType: string, type: ColumnType): string[] {
  const t = baseType(type);
  const target = duckDbType(t);
  const viaText = convertFromString(
    textOf(r, rawType),
    t,
    isNestedDuckType(rawType) || rawType === 'JSON' ? 'json' : 'text',
  );
  if (rawType === 'VARCHAR' || rawType === 'JSON') return [viaText];
  const out: string[] = [];
  switch (t.kind) {
    case 'String':
    case 'FixedString':
      return [viaText];
    case 'Int':
      if (/^(FLOAT|DOUBLE|DECIMAL)/.test(rawType))
        out.push(`CASE WHEN ${r} = trunc(${r}) THEN TRY_CAST(${r} AS ${target}) END`);
      else out.push(`TRY_CAST(${r} AS ${target})`);
      break;
    case 'DateTime':
    case 'DateTime64':
      if (NUMERIC_TYPES.has(rawType) || rawType.startsWith('DECIMAL')) {
        out.push(`TRY_CAST(to_timestamp(CAST(${r} AS DOUBLE)) AS ${target})`);
      } else if (t.timezone && (rawType === 'TIMESTAMP' || rawType.startsWith('TIMESTAMP_') || rawType === 'DATE')) {
        // Naive timestamps are wall time in the column's zone.
        out.push(`timezone(${sqlString(t.timezone)}, CAST(${r} AS TIMESTAMP))`);
      } else {
        out.push(`TRY_CAST(${r} AS ${target})`);
      }
      break;
    case 'Array':
    case 'Map':
      out.push(nestedNullCheck(`TRY_CAST(${r} AS ${target})`, t));
      break;
    default:
      out.push(`TRY_CAST(${r} AS ${target})`);
  }
  out.push(viaText);
  return out;
}

/** Quoted identifier of an internal column (raw value r<i>, converted v<i>). */
export function rawCol(i: number): string {
  return quoteIdent(`s3c_r${i}`);
}
export function convCol(i: number): string {
  return quoteIdent(`s3c_v${i}`);
}
