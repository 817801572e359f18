/**
 * The sink conformance table (issue 21): the cases every destination must
 * pass, run from this one table against the DuckDB file
 * (test/unit/duckdbSink.test.ts) and the DuckLake
 * (test/integration/ducklakeConformance.test.ts): formats plain and gzip,
 * quarantine rows with their line numbers and error texts, gzip integrity
 * failures that commit nothing, exactly once.
 */
import { afterEach, before } from 'node:test';
import { fileFailureCases, exactlyOnceCases } from './failures';
import { csvCases, ndjsonCases, parquetCases } from './formats';
import { target, useTarget } from './harness';
import type { ConformanceTarget } from './target';
import { typeCases } from './types';

/** Each entry registers one group of cases (a `describe`). */
export const CONFORMANCE_TABLE: readonly (() => void)[] = [
  csvCases,
  ndjsonCases,
  parquetCases,
  typeCases,
  fileFailureCases,
  exactlyOnceCases,
];

/** Registers every case of the table, each run on a fresh destination of the target `getTarget` gives then. */
export function runConformance(getTarget: () => ConformanceTarget): void {
  // Set when the cases run (the target is made in the caller's `before`), not when they are registered.
  before(() => useTarget(getTarget()));
  afterEach(() => target().release());
  for (const group of CONFORMANCE_TABLE) group();
}
