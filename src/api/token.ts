/**
 * The API's bearer token (SPEC R6.3): from `S3C_API_TOKEN`, or from the
 * project's `.s3c/api-token` file, created with a random token (mode 0600)
 * the first time. The token itself is never printed; callers say where it is.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { apiTokenPath } from '../util/stateLayout';

/** Where the token came from, for messages that must not show it. */
export interface ApiToken {
  token: string;
  /** `env S3C_API_TOKEN` or the file path. */
  source: string;
  /** True when this call created the file. */
  created: boolean;
}

/**
 * Loads the API token: `S3C_API_TOKEN` when set, else the token file, which
 * is created (0600) with 32 random bytes in hex when missing.
 *
 * @throws Error when the token file exists but is empty.
 */
export function loadApiToken(projectDir: string, env: NodeJS.ProcessEnv = process.env, environment?: string): ApiToken {
  const fromEnv = env.S3C_API_TOKEN?.trim();
  if (fromEnv) return { token: fromEnv, source: 'environment variable S3C_API_TOKEN', created: false };
  const path = apiTokenPath(projectDir, environment);
  if (existsSync(path)) {
    const token = readFileSync(path, 'utf8').trim();
    if (!token) throw new Error(`${path} is empty: delete it to have a new token created, or set S3C_API_TOKEN`);
    return { token, source: path, created: false };
  }
  mkdirSync(dirname(path), { recursive: true });
  const token = randomBytes(32).toString('hex');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { token, source: path, created: true };
}

/** Compares a presented token with the expected one in constant time. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined || presented === '' || expected === '') return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
