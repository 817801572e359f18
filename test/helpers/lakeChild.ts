/**
 * A second DuckDB process on the lake (test/helpers/lake.ts): opens the lake
 * named by `S3C_TEST_LAKE` (JSON), runs the SQL statements given as arguments
 * in order, and prints the last one's rows as one JSON line.
 */
import { openLake, type LakeConfig } from './lake';

const config = JSON.parse(process.env.S3C_TEST_LAKE ?? '{}') as LakeConfig;
const { instance, connection } = await openLake(config);
let rows: unknown[][] = [];
for (const sql of process.argv.slice(2)) rows = (await connection.runAndReadAll(sql)).getRowsJson() as unknown[][];
connection.closeSync();
instance.closeSync();
console.log(JSON.stringify(rows));
