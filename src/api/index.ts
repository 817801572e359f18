/**
 * The HTTP API server (SPEC R6, R7.2, R9.2): `createApi` builds the hono app,
 * `startApi` serves it on a host and port until `close()`.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApi, type ApiDeps } from './app';

export { ApiError, createApi, type ApiDeps } from './app';
export { loadApiToken, tokenMatches, type ApiToken } from './token';

/** A running API server. */
export interface RunningApi {
  /** `http://host:port`, the base of every route. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the API on `host:port` (port 0 picks a free one).
 *
 * @throws the listen error (e.g. EADDRINUSE) when the port cannot be bound.
 */
export async function startApi(deps: ApiDeps & { host: string; port: number }): Promise<RunningApi> {
  const app = createApi(deps);
  const { server, address } = await new Promise<{ server: ReturnType<typeof serve>; address: AddressInfo }>(
    (resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: deps.host, port: deps.port }, (info) =>
        resolve({ server: s, address: info }),
      );
      s.once('error', reject);
    },
  );
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        const http = server as { closeAllConnections?: () => void };
        http.closeAllConnections?.();
      });
      return closing;
    },
  };
}
