/**
 * The IMPORT_* settings of a `.datasource` file: all or none of the required
 * ones, each checked by its rule (./settings.ts) through one zod schema.
 */
import { z } from 'zod';
import type { ImportSettings } from '../types';
import { DatafileError } from '../errors';
import {
  checkBucketUri,
  checkConnectionName,
  checkCsvDelimiter,
  checkEncoding,
  checkCsvHeader,
  checkFormat,
  checkFromTimestamp,
  checkSchedule,
} from '../settings';
import { type Setting, issuesToErrors, setting } from '../zodSettings';
import { type FileCheck, settingOf } from './fileCheck';
import { DATASOURCE_KEYWORDS, type DataSourceKeyword } from './keywords';

const IMPORT_FIELD_KEYWORDS: Record<keyof ImportSettings, DataSourceKeyword> = {
  connectionName: 'IMPORT_CONNECTION_NAME',
  bucketUri: 'IMPORT_BUCKET_URI',
  schedule: 'IMPORT_SCHEDULE',
  fromTimestamp: 'IMPORT_FROM_TIMESTAMP',
  format: 'IMPORT_FORMAT',
  csvHeader: 'IMPORT_CSV_HEADER',
  csvDelimiter: 'IMPORT_CSV_DELIMITER',
  encoding: 'IMPORT_ENCODING',
};

const ImportSettingsSchema = z.object({
  connectionName: setting(checkConnectionName),
  bucketUri: setting(checkBucketUri),
  schedule: setting(checkSchedule),
  fromTimestamp: setting(checkFromTimestamp).optional(),
  format: setting(checkFormat).optional(),
  csvHeader: setting(checkCsvHeader).optional(),
  csvDelimiter: setting(checkCsvDelimiter).optional(),
  encoding: setting(checkEncoding).optional(),
});

const MISSING_IMPORT_EXPECTED: Record<string, string> = {
  IMPORT_CONNECTION_NAME: 'IMPORT_CONNECTION_NAME <connection> when any IMPORT_* setting is given',
  IMPORT_BUCKET_URI: 'IMPORT_BUCKET_URI s3://bucket/pattern when any IMPORT_* setting is given',
  IMPORT_SCHEDULE: 'IMPORT_SCHEDULE @auto, @once, @on-demand or a cron expression when any IMPORT_* setting is given',
};

/** The import settings, undefined when none is written or one is wrong (its errors reported). */
export function readImportSettings(file: FileCheck): ImportSettings | undefined {
  const importKeywords = DATASOURCE_KEYWORDS.filter((k) => k.startsWith('IMPORT_') && file.byKeyword.has(k));
  if (importKeywords.length === 0) return undefined;
  const input: Partial<Record<keyof ImportSettings, Setting>> = {};
  let unreadable = false;
  for (const [field, keyword] of Object.entries(IMPORT_FIELD_KEYWORDS) as [keyof ImportSettings, DataSourceKeyword][]) {
    if (!file.byKeyword.has(keyword)) continue;
    const s = settingOf(file, keyword);
    if (s) input[field] = s;
    else unreadable = true;
  }
  const parsed = ImportSettingsSchema.safeParse(input);
  if (parsed.success) return unreadable ? undefined : stripUndefined(parsed.data);
  reportImportIssues(file, parsed.error, importKeywords);
  return undefined;
}

/** Reports the settings zod refused, and the required ones missing (unless their line failed to read). */
function reportImportIssues(file: FileCheck, error: z.ZodError, importKeywords: readonly DataSourceKeyword[]): void {
  const firstImportLine = Math.min(...importKeywords.map((k) => file.lines[k] ?? Infinity));
  const present = importKeywords.join(', ');
  const found = issuesToErrors(
    error,
    file.path,
    IMPORT_FIELD_KEYWORDS,
    firstImportLine,
    (k) => MISSING_IMPORT_EXPECTED[k] ?? k,
  );
  for (const e of found) {
    // A missing keyword whose line failed to read was already reported.
    const missing = e.what.startsWith('Missing ') ? e.what.slice('Missing '.length) : undefined;
    if (missing !== undefined && (file.byKeyword.has(missing as DataSourceKeyword) || file.attempted.has(missing)))
      continue;
    file.errors.push(
      e.what.startsWith('Missing ')
        ? new DatafileError({
            file: e.file,
            line: e.line,
            what: e.what,
            found: `only ${present}`,
            expected: e.expected,
          })
        : e,
    );
  }
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
