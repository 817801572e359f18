/**
 * A loader process on the lake (test/integration/ducklakeDestination.test.ts):
 * opens a DuckLakeSink with the access given in `S3C_TEST_LAKE_ACCESS` (JSON,
 * holds secrets: never printed), waits until `S3C_TEST_START_AT` (epoch ms) so
 * that its rival process starts loading at the same moment, loads every
 * IngestFileInput of `S3C_TEST_INPUTS` (JSON; its files under the folders of
 * `S3C_TEST_FILE_DIRS`) one by one, and prints one JSON
 * line: the results and the commit conflicts it retried.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { IngestFileInput } from '../../src/sinks/destination';
import { DuckLakeSink, type LakeAccess } from '../../src/sinks/ducklake';

const access = JSON.parse(process.env.S3C_TEST_LAKE_ACCESS ?? '{}') as LakeAccess;
const inputs = JSON.parse(process.env.S3C_TEST_INPUTS ?? '[]') as IngestFileInput[];
const sink = await DuckLakeSink.open(access, {
  fileDirectories: JSON.parse(process.env.S3C_TEST_FILE_DIRS ?? '[]') as string[],
});
await sleep(Math.max(0, Number(process.env.S3C_TEST_START_AT ?? 0) - Date.now()));
const results = [];
for (const input of inputs) results.push(await sink.ingestFile(input));
await sink.close();
console.log(JSON.stringify({ results, conflicts: sink.stats.conflicts }));
