/**
 * One lake for a test file: embedded PostgreSQL (the catalog) and MinIO (the
 * Parquet files, bucket `lake`) started together, and the LakeAccess a worker
 * would resolve from its secrets. Start it once per file: the two servers
 * take 4–7 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { startMinio, type MinioServer } from '../../src/local/processes';
import { minioS3Client } from '../../src/local/stack';
import { resolveLake, type LakeAccess } from '../../src/sinks/ducklake';
import { startTestPostgres, type TestPostgres } from './postgres';

export const LAKE_BUCKET = 'lake';

export interface TestLake {
  /** A temp folder (MinIO's data, files to load): removed by `stop()`. */
  dir: string;
  postgres: TestPostgres;
  minio: MinioServer;
  /** The lake as a worker resolves it (holds secrets: never print it). */
  access: LakeAccess;
  stop(): Promise<void>;
}

export async function startTestLake(prefix = 'data'): Promise<TestLake> {
  const dir = mkdtempSync(join(tmpdir(), 's3c-lake-'));
  const started = await Promise.allSettled([
    startTestPostgres(),
    startMinio({ dataDir: join(dir, 'minio'), stateDir: dir }),
  ]);
  const [pg, mio] = started;
  const stop = async () => {
    await Promise.all([pg.status === 'fulfilled' && pg.value.stop(), mio.status === 'fulfilled' && mio.value.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
  if (pg.status === 'rejected' || mio.status === 'rejected') {
    await stop();
    throw pg.status === 'rejected' ? pg.reason : (mio as PromiseRejectedResult).reason;
  }
  const [postgres, minio] = [pg.value, mio.value];
  const s3 = minioS3Client(minio);
  await s3.send(new CreateBucketCommand({ Bucket: LAKE_BUCKET })).finally(() => s3.destroy());
  return { dir, postgres, minio, access: lakeAccess(postgres, minio, `s3://${LAKE_BUCKET}/${prefix}/`), stop };
}

/** As a worker resolves them: the secrets by name, from the store or the environment. */
function lakeAccess(postgres: TestPostgres, minio: MinioServer, dataPath: string): LakeAccess {
  const { port, user, password, database } = postgres.server;
  const secrets: Record<string, string> = {
    LAKE_URL: `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    LAKE_KEY: minio.accessKey,
    LAKE_SECRET: minio.secretKey,
  };
  return resolveLake(
    {
      catalog: 'LAKE_URL',
      dataPath,
      s3: { endpoint: minio.endpoint, region: 'us-east-1', accessKeyId: 'LAKE_KEY', secretAccessKey: 'LAKE_SECRET' },
    },
    (name) => secrets[name],
  );
}
