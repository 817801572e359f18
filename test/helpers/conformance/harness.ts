/**
 * What the cases of the conformance table call: fixture files, inputs, and
 * loads into a fresh destination of the target the table runs against now
 * (`useTarget`, set by runConformance before each case).
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DataSourceDef, FileFormat } from '../../../src/datafiles/types';
import type { IngestFileInput, IngestFileResult } from '../../../src/sinks/destination';
import type { ConformanceTarget, OpenSink } from './target';

let current: ConformanceTarget | undefined;
let seq = 0;

export function useTarget(target: ConformanceTarget | undefined): void {
  current = target;
}

export function target(): ConformanceTarget {
  if (!current) throw new Error('no conformance target: run the cases through runConformance');
  return current;
}

/** A new path in the target's folder, for a file named like `name`. */
export function fixturePath(name: string): string {
  return join(target().dir, `${++seq}-${name}`);
}

export async function fixture(name: string, content: string | Buffer): Promise<string> {
  const p = fixturePath(name);
  await writeFile(p, content);
  return p;
}

export function input(
  d: DataSourceDef,
  localPath: string,
  format: FileFormat,
  extra: Partial<IngestFileInput> = {},
): IngestFileInput {
  return {
    dataSource: d,
    localPath,
    format,
    compression: 'none',
    bucket: 'bkt',
    key: `data/${d.name}.${format}`,
    etag: '"etag-1"',
    size: 123,
    lastModified: '2024-05-01T00:00:00Z',
    jobId: 'job-1',
    ...extra,
  };
}

/** A fresh destination of the current target. */
export function openSink(): Promise<OpenSink> {
  return target().open();
}

/** Runs SQL on a scratch in-memory DuckDB (fixture generation). */
export async function scratch(sql: string[]): Promise<void> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    for (const s of sql) await conn.run(s);
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/**
 * Ingests each input into a fresh destination and returns the results plus
 * a reader of its tables.
 */
export async function load(inputs: IngestFileInput[]): Promise<{
  results: IngestFileResult[];
  read: (sql: string) => Promise<unknown[]>;
}> {
  const s = await openSink();
  const results = [];
  for (const i of inputs) {
    const r = await s.sink.ingestFile(i);
    results.push(r);
    // A clean file is loaded in one pass; only files with bad rows take the tolerant path.
    if (!r.alreadyLoaded) {
      assert.equal(s.lastLoadPath(), r.quarantined > 0 ? 'tolerant' : r.rows > 0 ? 'fast' : s.lastLoadPath());
    }
  }
  return { results, read: (sql) => s.read(sql) };
}

/** Temporary files of the sink left in the target's folder (there must be none). */
export async function strayFiles(): Promise<string[]> {
  return (await readdir(target().dir)).filter((f) => f.includes('.s3c-'));
}

/** Quarantine rows without the volatile insertion_date. */
export function quarantineSql(name: string, order = 'c__line'): string {
  return `SELECT * EXCLUDE (insertion_date) FROM ${name}_quarantine ORDER BY ${order}`;
}
