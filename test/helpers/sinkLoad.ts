/**
 * Loads one file through the DuckDB sink into a fresh database and reads the
 * data source's table and quarantine back: for sink tests written as a
 * datafile, a file and the rows that must come out.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDataSource } from '../../src/datafiles';
import type { DataSourceDef, FileFormat } from '../../src/datafiles/types';
import { DuckDbSink, type IngestFileInput } from '../../src/sinks/duckdb';

export interface Loaded {
  rows: number;
  quarantined: number;
  /** The table's rows, ordered by every column. */
  table: Record<string, unknown>[];
  /** The quarantine's line and errors, by line. */
  quarantine: { c__line: number; c__error: string[] }[];
}

export interface SinkLoader {
  /** Parses datafile text as `<name>.datasource`. */
  dataSource(name: string, text: string): DataSourceDef;
  load(
    ds: DataSourceDef,
    content: string | Buffer,
    options?: { format?: FileFormat } & Partial<IngestFileInput>,
  ): Promise<Loaded>;
  /** Removes every file made. */
  close(): Promise<void>;
}

export async function sinkLoader(): Promise<SinkLoader> {
  const dir = await mkdtemp(join(tmpdir(), 's3c-sink-load-'));
  let seq = 0;
  return {
    dataSource: (name, text) => parseDataSource(text, `${name}.datasource`),
    async load(ds, content, options = {}) {
      const n = ++seq;
      const format = options.format ?? 'csv';
      const path = join(dir, `${n}.${format}`);
      await writeFile(path, content);
      const sink = await DuckDbSink.open(join(dir, `${n}.duckdb`), { fileDirectories: [dir] });
      try {
        const r = await sink.ingestFile({
          dataSource: ds,
          localPath: path,
          format,
          compression: 'none',
          bucket: 'bkt',
          key: `f${n}.${format}`,
          etag: 'e1',
          size: content.length,
          lastModified: '2024-05-01T00:00:00Z',
          jobId: 'job-1',
          ...options,
        });
        const cols = ds.schema.map((_, i) => i + 1).join(', ');
        const table = await sink.query(`SELECT * FROM ${ds.name} ORDER BY ${cols}`);
        const quarantine = (await sink.query(
          `SELECT c__line, c__error FROM ${ds.name}_quarantine ORDER BY c__line`,
        )) as Loaded['quarantine'];
        return { rows: r.rows, quarantined: r.quarantined, table, quarantine };
      } finally {
        await sink.close();
      }
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
