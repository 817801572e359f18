/**
 * `npm run build`: compiles src/ to JavaScript in dist/, one file per source
 * file at the same place (src/cli/main.ts → dist/cli/main.js), so `s3c`
 * starts without compiling TypeScript (bin/s3c.js runs dist/ when it is a
 * build of the current src/, see bin/srcStamp.js). npm runs it at install
 * (`prepare`), and `npm run setup` runs it.
 *
 * Compiled by esbuild file by file (no bundling), not by tsc:
 *  - the sources import each other without extensions (moduleResolution
 *    Bundler); Node's ESM loader needs `./x.js`, and tsc rewrites only
 *    imports written with `.ts`. The build rewrites each relative import to
 *    the file it names, and fails on one it cannot find;
 *  - tsx, which runs src/ in the tests, is esbuild with these options
 *    (keepNames): thread programs sent as `toString()` (util/thread.ts) stay
 *    what the tests ran. Bundling would turn their `require()` into a helper
 *    the thread does not have;
 *  - one file per source keeps paths made from `import.meta.url` (repoRoot,
 *    the worker's workflowsPath) at the same depth;
 *  - esbuild comes with tsx (no new dependency) and compiles src/ in well
 *    under a second; type checking stays `npm run lint`'s job.
 * The payload converter is also compiled to CommonJS, because the Temporal
 * worker require()s it (see src/worker.ts).
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Esbuild from 'esbuild';
import { STAMP_FILE, sourceStamp } from '../bin/srcStamp.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(root, 'src');
export const DIST = join(root, 'dist');
/** The payload converter, relative to src/: also compiled to CommonJS. */
const PAYLOAD_CONVERTER = 'workflows/payloadConverter';
/** Options of tsx's own transform (the tests run src/ with them), for the Node versions package.json's engines allow. */
const COMPILE = {
  platform: 'node',
  target: 'node20',
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  // The thread programs' require() calls are meant as they are: their source runs as CommonJS in the thread.
  logOverride: { 'unsupported-require-call': 'silent' },
  write: false,
} as const;

/** esbuild as tsx resolves it: the copy tsx depends on, wherever npm put it. */
function loadEsbuild(): typeof Esbuild {
  const requireHere = createRequire(import.meta.url);
  return createRequire(requireHere.resolve('tsx'))('esbuild') as typeof Esbuild;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative import specifiers in esbuild's output: `from "./x"`, `import "./x"`, `import("./x")`. */
const RELATIVE_IMPORT = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)(["'])(\.\.?\/[^"'\n]*)\2/g;

/** `spec` (imported by `source`) as Node's ESM loader finds its compiled file: `./x.js` or `./x/index.js`. */
function compiledSpecifier(source: string, spec: string, sources: Set<string>): string {
  const base = resolve(dirname(source), spec);
  if (sources.has(`${base}.ts`)) return `${spec}.js`;
  if (sources.has(join(base, 'index.ts'))) return `${spec.replace(/\/$/, '')}/index.js`;
  throw new Error(`${relative(root, source)}: import '${spec}' names no file of src/ (x.ts or x/index.ts)`);
}

function rewriteImports(code: string, source: string, sources: Set<string>): string {
  return code.replace(
    RELATIVE_IMPORT,
    (_all, lead: string, quote: string, spec: string) =>
      `${lead}${quote}${compiledSpecifier(source, spec, sources)}${quote}`,
  );
}

/** The source file a compiled `.js` of `outDir` comes from. */
function sourceOf(outDir: string, compiled: string): string {
  return join(SRC, relative(outDir, compiled)).replace(/\.js$/, '.ts');
}

async function compileEsm(esbuild: typeof Esbuild, files: string[], outDir: string): Promise<void> {
  const result = await esbuild.build({
    ...COMPILE,
    entryPoints: files,
    outdir: outDir,
    outbase: SRC,
    format: 'esm',
    bundle: false,
  });
  const sources = new Set(files);
  for (const out of result.outputFiles) {
    mkdirSync(dirname(out.path), { recursive: true });
    writeFileSync(
      out.path,
      out.path.endsWith('.js') ? rewriteImports(out.text, sourceOf(outDir, out.path), sources) : out.text,
    );
  }
}

/** The payload converter as one CommonJS file (its own imports inlined, packages left to require()). */
async function compilePayloadConverter(esbuild: typeof Esbuild, outDir: string): Promise<void> {
  const outfile = join(outDir, `${PAYLOAD_CONVERTER}.cjs`);
  const result = await esbuild.build({
    ...COMPILE,
    entryPoints: [join(SRC, `${PAYLOAD_CONVERTER}.ts`)],
    outfile,
    format: 'cjs',
    bundle: true,
    packages: 'external',
  });
  for (const out of result.outputFiles) writeFileSync(out.path, out.text);
}

/**
 * Puts the finished build in place of dist/. A launcher that starts meanwhile
 * finds no dist/ (or the old one, whole) and runs src/; a build that finishes
 * at the same moment as another leaves the other's.
 */
function replaceDist(outDir: string): void {
  const old = `${outDir}-old`;
  try {
    renameSync(DIST, old);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    renameSync(outDir, DIST);
  } catch (err) {
    if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    rmSync(outDir, { recursive: true, force: true });
  }
  rmSync(old, { recursive: true, force: true });
}

/** Compiles src/ into dist/; returns how many source files. */
export async function buildDist(): Promise<number> {
  // Taken before reading: a file edited during the build leaves the stamp stale, so the next start runs src/.
  const stamp = sourceStamp(root);
  const outDir = join(root, `.dist-build-${process.pid}`);
  rmSync(outDir, { recursive: true, force: true });
  try {
    const esbuild = loadEsbuild();
    const files = sourceFiles(SRC);
    await compileEsm(esbuild, files, outDir);
    await compilePayloadConverter(esbuild, outDir);
    // The stamp last: a build cut short is never taken for a fresh one.
    writeFileSync(join(outDir, STAMP_FILE), stamp);
    replaceDist(outDir);
    return files.length;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const count = await buildDist();
  console.log(`Compiled ${count} files of src/ into dist/ in ${Math.round(performance.now() - started)} ms.`);
}
