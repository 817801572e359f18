/**
 * The format readers, one per file format: a new format is a new file
 * beside these and one line here.
 */
import type { FileFormat } from '../../../datafiles/types';
import { csvReader } from './csv';
import type { FormatReader } from './formatReader';
import { ndjsonReader } from './ndjson';
import { parquetReader } from './parquet';

export type { FormatReader, PlanContext, ReadPlan } from './formatReader';
export { PlannerCache } from './plannerCache';
export { countFormatOf, planRecords } from './recordsSeen';
export { MAX_LINE_SIZE, REJECTS_SCAN, REJECTS_TABLE } from './readOptions';

const READERS: Readonly<Record<FileFormat, FormatReader>> = {
  csv: csvReader,
  ndjson: ndjsonReader,
  parquet: parquetReader,
};

/** The reader of a format. */
export function formatReader(format: FileFormat): FormatReader {
  return READERS[format];
}
