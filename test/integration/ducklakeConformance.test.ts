/**
 * The sink conformance table (test/helpers/conformance) on the DuckLake
 * destination: the cases the DuckDB file passes in test/unit/duckdbSink.test.ts
 * (formats plain and gzip, quarantine with line numbers and error texts, gzip
 * integrity failures committing nothing, exactly once), here on one lake
 * (embedded PostgreSQL + MinIO, started once) that each case finds empty.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { runConformance } from '../helpers/conformance';
import { duckLakeTarget, type ConformanceTarget } from '../helpers/conformance/target';
import { startTestLake, type TestLake } from '../helpers/lakeStack';

describe('conformance table, on the DuckLake destination', () => {
  let lake: TestLake | undefined;
  let target: (ConformanceTarget & { close(): Promise<void> }) | undefined;

  before(async () => {
    lake = await startTestLake();
    const files = join(lake.dir, 'files');
    mkdirSync(files);
    target = await duckLakeTarget(lake.access, files);
  });

  after(async () => {
    await target?.close();
    await lake?.stop();
  });

  runConformance(() => target!);
});
