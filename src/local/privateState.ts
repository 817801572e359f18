/**
 * The project's state folder `.s3c/` holds secrets (the secret store, the API
 * token, MinIO's keys) and data that may repeat them (Temporal's history in
 * `local/temporal.db`, the warehouse): readable by its owner only, the folder
 * 0700 and its files 0600 (issue #18, item 8).
 */
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '../util/stateLayout';

/** Files created by this process from now on are its owner's only (children inherit the mask: Temporal, MinIO, DuckDB). */
export function privateUmask(): void {
  process.umask(0o077);
}

/**
 * Creates `dir` (0700) or narrows it to 0700, and narrows the files directly
 * in it to 0600: state written by an earlier version, or under a wider umask.
 * Sub-folders are left as they are but for their mode (MinIO's data is large).
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      chmodSync(path, statSync(path).isDirectory() ? 0o700 : 0o600);
    } catch {
      /* gone meanwhile, or not ours */
    }
  }
}

/** The state folder of the project's environment (`.s3c`, or `.s3c/env/NAME`), made private with `.s3c` (see the module comment). */
export function privateStateDir(projectDir: string, environment?: string): string {
  ensurePrivateDir(stateDir(projectDir));
  const dir = stateDir(projectDir, environment);
  ensurePrivateDir(dir);
  return dir;
}
