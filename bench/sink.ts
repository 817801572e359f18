/**
 * Micro-benchmark of the DuckDB sink alone (no S3, no Temporal): one local
 * file loaded by `DuckDbSink.ingestFile` vs. the bare `INSERT ... SELECT *
 * FROM read_xxx(file, explicit types)` of the baseline, each in a fresh
 * database in this process. For working on the sink's SQL.
 *
 * Each prints the time of the CHECKPOINT after the load as well: work a
 * load leaves to the next checkpoint (e.g. merging the small row groups of
 * many INSERTs) is part of its cost.
 *
 * Usage: node --import tsx bench/sink.ts csv|ndjson|parquet <file> [gzip] [--base]
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbSink, SINK_SETTINGS, tableDdl } from '../src/sinks/duckdb';
import { COLUMN_TYPES, eventsDataSource } from './dataset';

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--base');
  const base = process.argv.includes('--base');
  const [fmt, file, gz] = args as ['csv' | 'ndjson' | 'parquet', string, string | undefined];
  const ds = eventsDataSource();
  const db = join(tmpdir(), `s3c-bench-sink-${process.pid}.duckdb`);
  try {
    const t0 = performance.now();
    if (base) {
      const inst = await DuckDBInstance.create(db);
      const c = await inst.connect();
      for (const s of SINK_SETTINGS) await c.run(s);
      await c.run(tableDdl(ds)[0]!);
      const comp = gz ? 'gzip' : fmt === 'ndjson' ? 'uncompressed' : 'none';
      const reader =
        fmt === 'csv'
          ? `read_csv('${file}', header = true, auto_detect = false, columns = ${COLUMN_TYPES}, compression = '${comp}')`
          : fmt === 'ndjson'
            ? `read_json('${file}', format = 'newline_delimited', records = true, auto_detect = false, columns = ${COLUMN_TYPES}, compression = '${comp}')`
            : `read_parquet('${file}')`;
      const t1 = performance.now();
      await c.run(`INSERT INTO ev SELECT * FROM ${reader}`);
      console.log(`bare INSERT: ${(performance.now() - t1).toFixed(0)} ms`);
      const t2 = performance.now();
      await c.run('CHECKPOINT');
      console.log(`CHECKPOINT: ${(performance.now() - t2).toFixed(0)} ms`);
      c.closeSync();
      inst.closeSync();
    } else {
      // The sink reads only from the folders it is given (see DuckDbSink.open): the file's own.
      const sink = await DuckDbSink.open(db, { fileDirectories: [dirname(resolve(file))] });
      await sink.ensureTables(ds);
      const t1 = performance.now();
      const r = await sink.ingestFile({
        dataSource: ds,
        localPath: file,
        format: fmt,
        compression: gz ? 'gzip' : 'none',
        bucket: 'b',
        key: 'k',
        etag: 'e',
        size: 1,
        lastModified: '2024-01-01T00:00:00Z',
        jobId: 'j',
      });
      console.log(`ingestFile: ${(performance.now() - t1).toFixed(0)} ms, ${r.rows} rows, ${sink.lastLoadPath} path`);
      const t2 = performance.now();
      await sink.query('CHECKPOINT');
      console.log(`CHECKPOINT: ${(performance.now() - t2).toFixed(0)} ms`);
      await sink.close();
    }
    const cpu = process.cpuUsage();
    console.log(
      `total ${(performance.now() - t0).toFixed(0)} ms, CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
    );
  } finally {
    rmSync(db, { force: true });
    rmSync(`${db}.wal`, { force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
