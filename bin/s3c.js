#!/usr/bin/env node
// Launcher of the `s3c` CLI: registers tsx (TypeScript at run time) from this
// package's own dependencies, so `s3c` works from any folder, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main();
