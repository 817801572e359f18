/**
 * Where the tool binaries (Temporal CLI, MinIO) live and which versions we pin.
 *
 * They are built from their Go modules by `scripts/setup-tools.ts` into
 * `.tools/bin` of the repository, once per machine.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the s3-connector repository (where package.json is). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Folder of the built tool binaries. */
export const toolsBin = process.env.S3C_TOOLS_BIN ?? join(repoRoot, '.tools', 'bin');

/** A Go-built tool: its module path and the version we pin. */
export interface GoTool {
  name: 'temporal' | 'minio';
  module: string;
  version: string;
}

export const TOOLS: readonly GoTool[] = [
  // v1.6+ carries a `replace` directive in go.mod, which `go install` refuses.
  { name: 'temporal', module: 'github.com/temporalio/cli/cmd/temporal', version: 'v1.5.1' },
  // MinIO publishes no semver tags for its Go module; pin the pseudo-version.
  { name: 'minio', module: 'github.com/minio/minio', version: 'v0.0.0-20260212201848-7aac2a2c5b7c' },
];

/** Path of a tool binary; throws with the setup command when it is not built yet. */
export function toolPath(name: GoTool['name']): string {
  const path = join(toolsBin, name);
  if (!existsSync(path)) {
    throw new Error(`${name} is not built yet (${path} is missing): run \`npm run setup\` first`);
  }
  return path;
}
