/**
 * The bench's dlt peer (bench/dlt_peer.py, issue 23 goal 4): the Python
 * loading library dlt with its DuckDB and filesystem extras, in a virtual
 * environment of its own under `.tools/dlt-venv`. Only the bench needs it,
 * so plain `npm run setup` (and CI) never installs it: `npm run setup --
 * --bench` does, or the bench's first run.
 *
 * The `parquet` extra (pyarrow) is there because dlt's fastest readers hand
 * Arrow batches over, and its Parquet reader needs it; `duckdb` is pinned to
 * the DuckDB the product runs (DUCKDB_EXTENSION_VERSION), so the peers differ
 * in how they load, not in the engine.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/local/tools';
import { DUCKDB_EXTENSION_VERSION } from '../../src/util/duckdbExtensions';

/** The dlt release the bench measures. */
export const DLT_VERSION = '1.31.0';
const REQUIREMENTS = [`dlt[duckdb,filesystem,parquet]==${DLT_VERSION}`, `duckdb==${DUCKDB_EXTENSION_VERSION}`];
export const dltVenv = join(repoRoot, '.tools', 'dlt-venv');
export const dltPython = join(dltVenv, 'bin', 'python');

/** Exit code and output of a command (never rejects on a non-zero exit). */
function runQuietly(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (err) => done({ code: -1, output: err.message }));
    child.on('close', (code) => done({ code: code ?? -1, output: Buffer.concat(chunks).toString() }));
  });
}

/** Whether the venv's Python imports dlt at the pinned version. */
async function dltInstalled(): Promise<boolean> {
  if (!existsSync(dltPython)) return false;
  const probe = await runQuietly(dltPython, ['-c', 'import dlt, duckdb; print(dlt.__version__, duckdb.__version__)']);
  return probe.code === 0 && probe.output.trim() === `${DLT_VERSION} ${DUCKDB_EXTENSION_VERSION}`;
}

/** Fails with the command's last lines. */
async function mustRun(what: string, command: string, args: string[]): Promise<void> {
  const { code, output } = await runQuietly(command, args);
  if (code !== 0) throw new Error(`${what} failed (exit ${code}):\n${output.trim().split('\n').slice(-30).join('\n')}`);
}

/** Installs dlt into `.tools/dlt-venv` unless it is there at the pinned version (a broken venv is made again). */
export async function ensureDlt(): Promise<void> {
  if (await dltInstalled()) return;
  const started = Date.now();
  console.error(`Installing dlt ${DLT_VERSION} into ${dltVenv} for the bench (a minute or two) ...`);
  if (!existsSync(dltPython) || (await runQuietly(dltPython, ['-c', ''])).code !== 0) {
    rmSync(dltVenv, { recursive: true, force: true });
    const python = process.env.PYTHON ?? 'python3';
    await mustRun(`${python} -m venv ${dltVenv} (on Debian/Ubuntu: apt-get install python3-venv)`, python, [
      '-m',
      'venv',
      dltVenv,
    ]);
  }
  const pip = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...REQUIREMENTS];
  await mustRun(`pip install ${REQUIREMENTS.join(' ')}`, dltPython, pip);
  if (!(await dltInstalled())) throw new Error(`dlt in ${dltVenv} does not import at ${DLT_VERSION} after installing`);
  console.error(`Installed dlt ${DLT_VERSION} in ${Math.round((Date.now() - started) / 1000)}s`);
}
