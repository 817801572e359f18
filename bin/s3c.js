#!/usr/bin/env node
// Launcher of the `s3c` CLI: registers tsx (TypeScript at run time) from this
// package's own dependencies, so `s3c` works from any folder, then runs the CLI.
// Both hooks: the Temporal worker require()s the workflows' payload converter
// (a .ts file), which the ESM hook alone does not compile.
import { register as registerCjs } from 'tsx/cjs/api';
import { register } from 'tsx/esm/api';

registerCjs();
register();
const { main } = await import('../src/cli/main.ts');
await main();
