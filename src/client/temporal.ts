/**
 * Connections to Temporal from `temporal.yaml` (R8.5): the client side
 * (CLI, API) and the worker side share one way of reading address,
 * namespace, TLS and API key.
 */
import { readFileSync } from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
// Type only: the worker SDK is loaded by connectWorker, not by every client (the CLI's start).
import type { NativeConnection } from '@temporalio/worker';
import type { TemporalConfig } from '../config';

function tlsOf(config: TemporalConfig): TLSConfig | boolean {
  const tls = config.temporal.tls;
  if (typeof tls === 'boolean') return tls || config.temporal.apiKey !== undefined;
  return {
    serverNameOverride: tls.serverName,
    serverRootCACertificate: tls.serverRootCACertFile ? readFileSync(tls.serverRootCACertFile) : undefined,
    clientCertPair:
      tls.clientCertFile && tls.clientKeyFile
        ? { crt: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) }
        : undefined,
  };
}

/** A Temporal client for the CLI and the API. */
export async function connectClient(config: TemporalConfig): Promise<Client> {
  const connection = await Connection.connect({
    address: config.temporal.address,
    tls: tlsOf(config),
    apiKey: config.temporal.apiKey,
    connectTimeout: '10 seconds',
  });
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** The native connection a worker polls with. */
export async function connectWorker(config: TemporalConfig): Promise<NativeConnection> {
  const { NativeConnection } = await import('@temporalio/worker');
  return NativeConnection.connect({
    address: config.temporal.address,
    tls: tlsOf(config),
    apiKey: config.temporal.apiKey,
  });
}
