/**
 * Project-specific lint: keeps workflow code on its side of the determinism
 * line (DESIGN "Layout"). Workflow files may import only the SDK's workflow
 * and common packages, other workflow files, and pure modules; they may not
 * use timers, randomness or the process outside the SDK's versions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../src/local/tools';

const WORKFLOW_DIR = join(repoRoot, 'src', 'workflows');
// zod: pure and deterministic (no clock, randomness or I/O), for the signal payload checks (workflows/payloads.ts).
const ALLOWED_IMPORTS = [/^@temporalio\/(workflow|common)$/, /^zod$/, /^\.\//, /^\.\.\/s3uri(\/|$)/, /^\.\.\/datafiles\/types$/, /^\.\.\/activities$/];
const FORBIDDEN = [
  { re: /\bMath\.random\(/, why: 'use the SDK-seeded Math.random only via uuid4(), or pass randomness in' },
  { re: /\bsetTimeout\(|\bsetInterval\(/, why: 'use sleep() or condition() from @temporalio/workflow' },
  { re: /\bprocess\./, why: 'workflow code has no process: pass configuration in the input' },
  { re: /\brequire\(/, why: 'no dynamic requires in workflow code' },
];

const problems: string[] = [];
for (const file of readdirSync(WORKFLOW_DIR).filter((f) => f.endsWith('.ts'))) {
  const path = join(WORKFLOW_DIR, file);
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const where = `${relative(repoRoot, path)}:${i + 1}`;
    const m = /^\s*import\s+(type\s+)?.*from\s+'([^']+)'/.exec(line);
    if (m && !m[1]) {
      const spec = m[2] ?? '';
      if (!ALLOWED_IMPORTS.some((re) => re.test(spec))) problems.push(`${where}: workflow code imports '${spec}' (only pure modules and @temporalio/workflow|common)`);
      if (spec === '../activities') problems.push(`${where}: import activities as types only (import type)`);
    }
    for (const f of FORBIDDEN) if (f.re.test(line) && !line.trim().startsWith('*') && !line.trim().startsWith('//')) problems.push(`${where}: ${f.why}`);
  });
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('lint: workflow code is deterministic-safe');
