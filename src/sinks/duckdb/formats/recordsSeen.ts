/**
 * The data records of a file, counted apart from DuckDB's reader: one side
 * of the load invariant (records seen = rows loaded + rows quarantined).
 */
import { countRecords, type CountFormat } from '../../recordCount';
import type { ReadPlan } from './formatReader';

/** How the records of a CSV or NDJSON file of this plan are counted. */
export function countFormatOf(plan: ReadPlan): CountFormat | undefined {
  if (plan.footerRows !== undefined) return undefined;
  return plan.csv ? (plan.csv.fields === 1 ? 'csv1' : 'csv') : 'ndjson';
}

/**
 * The data records of a file read by `plan`, counted apart from DuckDB's
 * reader (the load invariant): Parquet's footer; CSV and NDJSON by a pass
 * over every byte (`counted`: a count already made as the file was inflated).
 */
export async function planRecords(
  plan: ReadPlan,
  path: string,
  options: { gzip: boolean; size: number; counted?: number },
): Promise<number> {
  const format = countFormatOf(plan);
  if (format === undefined) return plan.footerRows ?? 0;
  const n = options.counted ?? (await countRecords(path, format, { gzip: options.gzip, size: options.size }));
  const before = plan.csv ? plan.csv.skipRecords + (plan.csv.header ? 1 : 0) : 0;
  return Math.max(0, n - before);
}
