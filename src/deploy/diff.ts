/** What changed between a deployed data source and its file: the comparisons the deploy rules make. */
import type { Column, DataSourceDef, ImportSettings } from '../datafiles/types';

/** JSON with sorted keys, for comparisons that ignore key order. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** A column without its line number: moving lines does not change a column. */
function columnKey(c: Column): string {
  const { line: _line, ...rest } = c;
  return stableJson(rest);
}

/** True when two definitions deploy the same thing (paths and line numbers aside). */
export function sameDefinition(a: DataSourceDef, b: DataSourceDef): boolean {
  const key = (d: DataSourceDef): string => {
    const { path: _path, schema, ...rest } = d;
    return stableJson({ ...rest, schema: schema.map(columnKey) });
  };
  return key(a) === key(b);
}

/** True when two schemas define the same columns in the same order (line numbers aside). */
export function sameSchema(before: Column[], after: Column[]): boolean {
  return stableJson(before.map(columnKey)) === stableJson(after.map(columnKey));
}

function describeColumn(c: Column): string {
  return `${c.typeText}${c.jsonPath !== undefined ? ` \`json:${c.jsonPath}\`` : ''}${c.defaultExpr !== undefined ? ` DEFAULT ${c.defaultExpr}` : ''}`;
}

/** What changed between two schemas, for messages. */
export function schemaDiff(before: Column[], after: Column[]): string {
  const old = new Map(before.map((c) => [c.name, c]));
  const now = new Map(after.map((c) => [c.name, c]));
  const parts: string[] = [];
  for (const c of after) {
    const o = old.get(c.name);
    if (!o) parts.push(`column ${c.name} added`);
    else if (columnKey(o) !== columnKey(c))
      parts.push(`column ${c.name} changed from ${describeColumn(o)} to ${describeColumn(c)}`);
  }
  for (const c of before) if (!now.has(c.name)) parts.push(`column ${c.name} removed`);
  return parts.length > 0 ? parts.join(', ') : 'columns reordered';
}

/** Import settings that cannot change in place (how CSV files are read can: it applies to the files still to come). */
type FixedImportField = Exclude<keyof ImportSettings, 'csvHeader' | 'csvDelimiter' | 'encoding'>;

export const IMPORT_KEYWORDS: [FixedImportField, string][] = [
  ['connectionName', 'IMPORT_CONNECTION_NAME'],
  ['bucketUri', 'IMPORT_BUCKET_URI'],
  ['schedule', 'IMPORT_SCHEDULE'],
  ['fromTimestamp', 'IMPORT_FROM_TIMESTAMP'],
  ['format', 'IMPORT_FORMAT'],
];

/** A fixed import setting's value, as a message shows it. */
export function importValue(settings: ImportSettings, field: FixedImportField): string {
  switch (field) {
    case 'schedule':
      return settings.schedule.kind === 'cron' ? settings.schedule.expression : `@${settings.schedule.kind}`;
    case 'fromTimestamp':
      return settings.fromTimestamp ?? 'not set';
    case 'format':
      return settings.format ?? 'not set (by extension)';
    default:
      return settings[field];
  }
}
