/**
 * What an activity-level test runs on: a real MinIO with one bucket, a real
 * DuckDB file with the data source's tables, and the activities bound to
 * them (a `minio` connection), to be run with MockActivityEnvironment.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createActivities, type Activities } from '../../src/activities';
import { S3ClientCache } from '../../src/aws/credentials';
import type { ConnectionDef, DataSourceDef } from '../../src/datafiles/types';
import { startMinio, type MinioServer } from '../../src/local/processes';
import { minioS3Client } from '../../src/local/stack';
import { DuckDbSink } from '../../src/sinks/duckdb';

export interface ActivityRig {
  minio: MinioServer;
  /** A client of MinIO with its root credentials, for the test's own uploads. */
  s3: S3Client;
  sink: DuckDbSink;
  acts: Activities;
  /** Stops everything and removes the temp dir. */
  stop(): Promise<void>;
}

/** A data source of two columns, `id Int32` and `name String`, importing `bucketUri` once (CSV tests). */
export function idNameDataSource(name: string, bucketUri: string): DataSourceDef {
  return {
    name,
    path: `${name}.datasource`,
    engine: 'MergeTree',
    schema: [
      { name: 'id', typeText: 'Int32', type: { kind: 'Int', bits: 32, signed: true }, line: 2 },
      { name: 'name', typeText: 'String', type: { kind: 'String' }, line: 3 },
    ],
    import: { connectionName: 'minio', bucketUri, schedule: { kind: 'once' } },
  };
}

export async function startActivityRig(options: { bucket: string; dataSource: DataSourceDef }): Promise<ActivityRig> {
  const root = mkdtempSync(join(tmpdir(), 's3c-activities-'));
  const minio = await startMinio({ dataDir: join(root, 'minio'), stateDir: root });
  const s3 = minioS3Client(minio);
  await s3.send(new CreateBucketCommand({ Bucket: options.bucket }));
  const sink = await DuckDbSink.open(join(root, 'warehouse.duckdb'));
  await sink.ensureTables(options.dataSource);
  const conn: ConnectionDef = {
    name: 'minio',
    path: 'minio.connection',
    type: 's3',
    region: 'us-east-1',
    endpoint: minio.endpoint,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
  };
  const cache = new S3ClientCache({ externalId: () => 'unused' });
  const acts = createActivities({ sink, s3: cache, connection: () => conn, maxFileBytes: () => 1e9 });
  return {
    minio,
    s3,
    sink,
    acts,
    async stop() {
      cache.destroy();
      s3.destroy();
      await sink.close();
      await minio.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
