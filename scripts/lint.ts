/**
 * Project-specific lint: keeps workflow code on its side of the determinism
 * line (DESIGN "Layout"). Workflow files and the contract (src/contract), and
 * every file they import at run time, may import only the SDK's workflow and
 * common packages, zod, and pure modules (never a Node module); they may not
 * use timers, randomness or the process outside the SDK's versions; every
 * patch they use is registered (src/workflows/patches.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../src/local/tools';

const SRC = join(repoRoot, 'src');
/** Folders whose every file is checked: the workflows and the contract they share with every other side. */
const CHECKED_DIRS = [join(SRC, 'workflows'), join(SRC, 'contract')];
// zod: pure and deterministic (no clock, randomness or I/O), for the signal payload checks (workflows/payloads.ts).
const ALLOWED_PACKAGES = [/^@temporalio\/(workflow|common)$/, /^zod$/];
/** Source folders (or files, without `.ts`) a checked file may import at run time. */
const ALLOWED_MODULES = ['workflows', 'contract', 's3uri', 'datafiles/types', 'util/errors'].map((m) => join(SRC, m));
const FORBIDDEN = [
  { re: /\bMath\.random\(/, why: 'use the SDK-seeded Math.random only via uuid4(), or pass randomness in' },
  { re: /\bsetTimeout\(|\bsetInterval\(/, why: 'use sleep() or condition() from @temporalio/workflow' },
  { re: /\bprocess\./, why: 'workflow code has no process: pass configuration in the input' },
  { re: /\brequire\(/, why: 'no dynamic requires in workflow code' },
];

/** The file a relative import names: `x.ts` or `x/index.ts`. */
function resolveImport(from: string, spec: string): string {
  const base = resolve(dirname(from), spec);
  return existsSync(`${base}.ts`) ? `${base}.ts` : join(base, 'index.ts');
}

function allowedModule(file: string): boolean {
  const bare = file.replace(/(\/index)?\.ts$/, '');
  return ALLOWED_MODULES.some((m) => bare === m || bare.startsWith(`${m}/`));
}

const problems: string[] = [];
// Every file of the checked folders, then every file they import at run time (the workflow bundle's graph).
const queue = CHECKED_DIRS.flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f)),
);
const seen = new Set(queue);
while (queue.length > 0) {
  const path = queue.shift() ?? '';
  const text = readFileSync(path, 'utf8');
  for (const m of text.matchAll(/^[ \t]*(?:import|export)\s+(type\s+)?[^;']*?from\s+'([^']+)'/gm)) {
    const where = `${relative(repoRoot, path)}:${text.slice(0, m.index).split('\n').length}`;
    const spec = m[2] ?? '';
    const relativeSpec = spec.startsWith('.');
    const target = relativeSpec ? resolveImport(path, spec) : '';
    if (/^node:/.test(spec)) problems.push(`${where}: workflow code imports the Node module '${spec}'`);
    else if (m[1]) continue;
    else if (relativeSpec && target.startsWith(join(SRC, 'activities')))
      problems.push(`${where}: import activities as types only (import type)`);
    else if (relativeSpec ? !allowedModule(target) : !ALLOWED_PACKAGES.some((re) => re.test(spec))) {
      problems.push(`${where}: workflow code imports '${spec}' (only pure modules and @temporalio/workflow|common)`);
    } else if (relativeSpec && !seen.has(target)) {
      seen.add(target);
      queue.push(target);
    }
  }
  text.split('\n').forEach((line, i) => {
    const where = `${relative(repoRoot, path)}:${i + 1}`;
    for (const f of FORBIDDEN)
      if (f.re.test(line) && !line.trim().startsWith('*') && !line.trim().startsWith('//'))
        problems.push(`${where}: ${f.why}`);
  });
}
problems.push(...unregisteredPatches([...seen]));
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(
  `lint: workflow code is deterministic-safe, its patches registered (${seen.size} files: src/workflows, src/contract and what they import)`,
);

/**
 * Every `patched('id')` / `deprecatePatch('id')` in workflow code names, as a
 * literal, an id of the registry (src/workflows/patches.ts), so that each
 * patch says why it exists and when it may go.
 */
function unregisteredPatches(files: string[]): string[] {
  const registry = readFileSync(join(SRC, 'workflows', 'patches.ts'), 'utf8');
  const registered = new Set([...registry.matchAll(/\bid:\s*'([^']+)'/g)].map((m) => m[1]));
  const found: string[] = [];
  for (const path of files) {
    readFileSync(path, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/^\s*(\*|\/\/|\/\*)/.test(line)) return;
        const where = `${relative(repoRoot, path)}:${i + 1}`;
        for (const m of line.matchAll(/\b(patched|deprecatePatch)\(([^)]*)\)/g)) {
          const id = /^'([^']+)'$/.exec((m[2] ?? '').trim())?.[1];
          if (id === undefined)
            found.push(`${where}: ${m[1]}() takes its id as a literal, registered in src/workflows/patches.ts`);
          else if (!registered.has(id))
            found.push(
              `${where}: patch '${id}' is not registered in src/workflows/patches.ts (id, why, when it may go)`,
            );
        }
      });
  }
  return found;
}
