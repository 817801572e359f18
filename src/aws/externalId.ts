/**
 * The external id of a connection's trust policy (R7.2).
 *
 * Derived from the workspace and connection name with the workspace secret
 * (HMAC-SHA256): stable across deploys and machines that share the secret,
 * and not guessable by another workspace, which lacks the secret. The secret
 * lives next to the deployment snapshot (`.s3c/workspace-secret`, per
 * environment), so whoever shares one must share the other; deploy checks the
 * id against the one each connection was deployed with (docs/environments.md).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A short fingerprint of an external id, for the deployment snapshot: enough
 * to tell two ids apart, without writing the id where it is not needed.
 */
export function externalIdFingerprint(externalId: string): string {
  return `sha256:${createHash('sha256').update(externalId).digest('hex').slice(0, 16)}`;
}

/** Derives the external id for `connectionName` in `workspace`. */
export function deriveExternalId(workspaceSecret: string, workspace: string, connectionName: string): string {
  const mac = createHmac('sha256', workspaceSecret)
    .update(`s3c-external-id\0${workspace}\0${connectionName}`)
    .digest('hex');
  return `s3c-${workspace}-${mac.slice(0, 32)}`;
}

/** Reads the workspace secret from `S3C_WORKSPACE_SECRET` or `path`; undefined when neither has one. Writes nothing. */
export function readWorkspaceSecret(path: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.S3C_WORKSPACE_SECRET;
  if (fromEnv) return fromEnv;
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  return undefined;
}

/**
 * Reads the workspace secret from `path`, or from `S3C_WORKSPACE_SECRET`;
 * creates a random one (file mode 0600) when neither exists.
 */
export function loadWorkspaceSecret(path: string, env: NodeJS.ProcessEnv = process.env): string {
  const existing = readWorkspaceSecret(path, env);
  if (existing !== undefined) return existing;
  const secret = newWorkspaceSecret();
  saveWorkspaceSecret(path, secret);
  return secret;
}

/** A new random workspace secret (not saved). */
export function newWorkspaceSecret(): string {
  return randomBytes(32).toString('hex');
}

/** Writes `secret` to `path` (mode 0600), creating its folder. */
export function saveWorkspaceSecret(path: string, secret: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}
