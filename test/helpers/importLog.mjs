// An ESM resolve hook that appends each module a process loads (its URL, one
// a line) to the file named by S3C_IMPORT_LOG: which modules a command's
// start loads (test/unit/cliLauncher.test.ts). Register it with
// module.register(); it sees every `import` and `import()`, also through tsx's
// hooks, and each package's entry even when the package is CommonJS.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (process.env.S3C_IMPORT_LOG) appendFileSync(process.env.S3C_IMPORT_LOG, `${resolved.url}\n`);
  return resolved;
}
