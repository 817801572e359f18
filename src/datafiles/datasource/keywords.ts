/** The keywords of a `.datasource` file and how each may be written (one line, or a block). */
import type { KeywordRule } from '../statements';

/** The keywords of a `.datasource` file, in the order they are listed in messages. */
export const DATASOURCE_KEYWORDS = [
  'DESCRIPTION',
  'SCHEMA',
  'ENGINE',
  'ENGINE_PARTITION_KEY',
  'ENGINE_SORTING_KEY',
  'ENGINE_TTL',
  'IMPORT_CONNECTION_NAME',
  'IMPORT_BUCKET_URI',
  'IMPORT_SCHEDULE',
  'IMPORT_FROM_TIMESTAMP',
  'IMPORT_FORMAT',
  'IMPORT_CSV_HEADER',
  'IMPORT_CSV_DELIMITER',
  'IMPORT_ENCODING',
] as const;

/** One keyword of a `.datasource` file. */
export type DataSourceKeyword = (typeof DATASOURCE_KEYWORDS)[number];

export const DATASOURCE_RULES: Record<DataSourceKeyword, KeywordRule> = {
  DESCRIPTION: { block: 'optional' },
  SCHEMA: { block: 'required' },
  ENGINE: { block: 'never' },
  ENGINE_PARTITION_KEY: { block: 'optional' },
  ENGINE_SORTING_KEY: { block: 'optional' },
  ENGINE_TTL: { block: 'optional' },
  IMPORT_CONNECTION_NAME: { block: 'never' },
  IMPORT_BUCKET_URI: { block: 'never' },
  IMPORT_SCHEDULE: { block: 'never' },
  IMPORT_FROM_TIMESTAMP: { block: 'never' },
  IMPORT_FORMAT: { block: 'never' },
  IMPORT_CSV_HEADER: { block: 'never' },
  IMPORT_CSV_DELIMITER: { block: 'never' },
  IMPORT_ENCODING: { block: 'never' },
};
