/**
 * The DuckLake destination in the bench (issue 21): a stack of its own
 * (PostgreSQL catalog, Parquet files in MinIO's bucket `lake`, the workers in
 * processes of their own), on the same objects as the DuckDB file's rows.
 *  - 1 GB per format: the product into the lake against download + one bare
 *    INSERT into a table of the same lake (the same child as the baseline);
 *  - the small files with 1 and with 2 worker processes: files per second;
 *  - the peak RSS of each worker process.
 */
import { basename } from 'node:path';
import { BUCKET, loadText, log, median, seconds } from './common';
import { FORMATS, type BenchFormat } from './dataset';
import { readerFor, runBaseline } from './peers';
import { runProduct } from './product';
import { startBenchStack } from './stack';

export interface LakeFormatRow {
  format: BenchFormat;
  baselineMs: number[];
  productMs: number[];
  peakRssMb: number;
  load: string;
}
export interface LakeSmallRow {
  workers: number;
  filesPerSecond: number[];
  workerPeakRssMb: number[];
  load: string;
}
export interface LakeResults {
  formats: LakeFormatRow[];
  small: LakeSmallRow[];
}

/** Where the objects are: what run.ts uploaded into MinIO (kept in bench/data/minio). */
export interface LakeObjects {
  bigKeys: Map<BenchFormat, string>;
  rows: number;
  smallPrefix: string;
  smallFiles: number;
  smallRows: number;
}

/** The object pattern of a data set file's key (its folder and extension). */
export function patternOf(key: string, format: BenchFormat): string {
  const ext = basename(FORMATS[format].file).split('.').slice(1).join('.');
  return `s3://${BUCKET}/${key.slice(0, key.lastIndexOf('/'))}/*.${ext}`;
}

export async function lakeBench(objects: LakeObjects, runs: number, smallWorkers: number[]): Promise<LakeResults> {
  const t = await startBenchStack({ lake: true });
  const results: LakeResults = { formats: [], small: [] };
  try {
    const { minioConnection } = await import('../test/helpers/stack');
    t.write('minio.connection', minioConnection());
    await t.lake!.setWorkers(1);
    for (const [format, key] of objects.bigKeys) {
      const spec = FORMATS[format];
      const row: LakeFormatRow = { format, baselineMs: [], productMs: [], peakRssMb: 0, load: loadText() };
      for (let r = 0; r < runs; r++) {
        const b = await runBaseline(t, [key], readerFor(spec.format, spec.gzip), {
          source: 'download',
          concurrency: 1,
          lake: true,
        });
        const p = await runProduct(t, patternOf(key, format), `lake ${format}`, objects.rows);
        row.baselineMs.push(b.totalMs);
        row.productMs.push(p.jobMs);
        row.peakRssMb = Math.max(row.peakRssMb, p.peakRssMb);
        log(
          `lake ${format} run ${r + 1}: baseline ${seconds(b.totalMs)} (insert ${seconds(b.insertMs)}), product ${seconds(p.jobMs)}, ` +
            `ratio ${(p.jobMs / b.totalMs).toFixed(2)}, worker peak RSS ${p.peakRssMb.toFixed(0)} MB, ${loadText()}`,
        );
      }
      results.formats.push(row);
    }
    for (const n of smallWorkers) results.small.push(await smallFilesInLake(t, objects, n, runs));
  } finally {
    await t.stop();
  }
  return results;
}

async function smallFilesInLake(
  t: Awaited<ReturnType<typeof startBenchStack>>,
  objects: LakeObjects,
  workers: number,
  runs: number,
): Promise<LakeSmallRow> {
  const row: LakeSmallRow = { workers, filesPerSecond: [], workerPeakRssMb: [], load: loadText() };
  for (let r = 0; r < runs; r++) {
    // Fresh worker processes per run: each one's peak RSS is of this load only.
    await t.lake!.setWorkers(workers);
    const uri = `s3://${BUCKET}/${objects.smallPrefix}/*.csv`;
    const p = await runProduct(t, uri, `lake small ${workers}w`, objects.smallFiles * objects.smallRows);
    row.filesPerSecond.push((objects.smallFiles / p.jobMs) * 1000);
    row.workerPeakRssMb = p.workerPeakRssMb.map((mb, k) => Math.max(mb, row.workerPeakRssMb[k] ?? 0));
    log(
      `lake small files, ${workers} worker(s), run ${r + 1}: ${seconds(p.jobMs)}, ` +
        `${((objects.smallFiles / p.jobMs) * 1000).toFixed(0)} files/s, peak RSS ${p.workerPeakRssMb.map((m) => m.toFixed(0)).join(' + ')} MB, ${loadText()}`,
    );
  }
  return row;
}

/** The lake's lines of the report. */
export function lakeReport(r: LakeResults): string[] {
  const lines: string[] = [];
  if (r.formats.length) {
    lines.push('', 'DuckLake destination (PostgreSQL catalog, Parquet in MinIO), 1 worker process:', '');
    lines.push(
      '| format | baseline (download + bare INSERT into the lake) | product | product / baseline | worker peak RSS | load |',
    );
    lines.push('|---|---|---|---|---|---|');
    for (const f of r.formats) {
      const b = median(f.baselineMs);
      const p = median(f.productMs);
      lines.push(
        `| ${f.format} | ${seconds(b)} | ${seconds(p)} | **${(p / b).toFixed(2)}** | ${f.peakRssMb.toFixed(0)} MB | ${f.load} |`,
      );
    }
  }
  if (r.small.length) {
    lines.push('', '| small files into the lake | files per second (median) | runs | peak RSS of each worker | load |');
    lines.push('|---|---|---|---|---|');
    for (const s of r.small) {
      lines.push(
        `| ${s.workers} worker process${s.workers > 1 ? 'es' : ''} | **${median(s.filesPerSecond).toFixed(0)}** | ` +
          `${s.filesPerSecond.map((x) => x.toFixed(0)).join(', ')} | ${s.workerPeakRssMb.map((m) => `${m.toFixed(0)} MB`).join(', ')} | ${s.load} |`,
      );
    }
  }
  return lines;
}
