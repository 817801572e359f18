#!/usr/bin/env node
// Launcher of the `s3c` CLI. Runs the compiled JavaScript of dist/ (`npm run
// build`, run at install and by `npm run setup`) when it is a build of the
// current src/ (see srcStamp.js), else src/ itself through tsx, so an edit of
// src/ is what the next start runs, built or not. S3C_FROM_SRC=1 runs src/
// always. Either way from this package's own files and dependencies, so `s3c`
// works from any folder.
import module from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsFresh } from './srcStamp.js';

// Node 22.1+ keeps V8's compiled code of each module in the OS temp folder, so
// the next start skips compiling the Temporal client and its protobufs; Node
// 20 has no such cache (the call is absent, and skipped).
module.enableCompileCache?.();

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const fromBuild = process.env.S3C_FROM_SRC !== '1' && buildIsFresh(packageDir, join(packageDir, 'dist'));
const { main } = fromBuild ? await import('../dist/cli/main.js') : await importSource();
await main();

/** src/cli/main.ts, compiled at run time by tsx. */
async function importSource() {
  // Both hooks: the Temporal worker require()s the workflows' payload
  // converter (a .ts file), which the ESM hook alone does not compile.
  const { register: registerCjs } = await import('tsx/cjs/api');
  const { register } = await import('tsx/esm/api');
  registerCjs();
  register();
  return import('../src/cli/main.ts');
}
