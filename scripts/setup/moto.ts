/**
 * Installs the AWS emulator moto (server mode) into a Python virtual
 * environment under `.tools/moto-venv`, once per machine: the tests of the
 * AWS event path (S3 → EventBridge → SQS, STS roles) run against it (issue 22).
 *
 * Idempotent: when the venv's moto already reports {@link MOTO_VERSION},
 * nothing runs. A venv that is missing or broken (its Python gone after a
 * system upgrade) is made again.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/local/tools';

/** The moto release we pin; `moto[server]` adds the Flask server. */
export const MOTO_VERSION = '5.2.5';
/** The virtual environment moto lives in. */
export const motoVenv = join(repoRoot, '.tools', 'moto-venv');
/** The venv's Python: `python -m moto.server` or the `moto_server` script next to it. */
export const motoPython = join(motoVenv, 'bin', 'python');
/** The server script `pip install moto[server]` puts into the venv. */
export const motoServerBin = join(motoVenv, 'bin', 'moto_server');

/** Runs a command, resolves with its exit code and output (never rejects on a non-zero exit). */
function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (err) => resolveRun({ code: -1, output: err.message }));
    child.on('close', (code) => resolveRun({ code: code ?? -1, output }));
  });
}

/** The moto version the venv reports, or undefined when there is no working venv or no moto in it. */
async function installedMotoVersion(): Promise<string | undefined> {
  if (!existsSync(motoPython)) return undefined;
  const { code, output } = await run(motoPython, ['-c', 'import moto; print(moto.__version__)']);
  return code === 0 ? output.trim() : undefined;
}

/** Makes the venv anew; a fresh Debian lacks `ensurepip` until the apt package python3-venv is installed. */
async function createVenv(): Promise<void> {
  rmSync(motoVenv, { recursive: true, force: true });
  const python = process.env.PYTHON ?? 'python3';
  const { code, output } = await run(python, ['-m', 'venv', motoVenv]);
  if (code !== 0) {
    throw new Error(
      `cannot make the Python venv for moto (${python} -m venv ${motoVenv}, exit ${code}); ` +
        `on Debian/Ubuntu install python3-venv (apt-get install -y python3-venv):\n${output.trim()}`,
    );
  }
}

/** Installs moto into the venv at {@link MOTO_VERSION} unless it is there already. */
export async function ensureMoto(): Promise<void> {
  if ((await installedMotoVersion()) === MOTO_VERSION) return;
  const started = Date.now();
  console.log(`Installing moto ${MOTO_VERSION} into ${motoVenv} (takes about a minute) ...`);
  // A venv whose Python cannot start is not repairable by pip: make it again.
  const { code: alive } = existsSync(motoPython) ? await run(motoPython, ['-c', '']) : { code: -1 };
  if (alive !== 0) await createVenv();
  const { code, output } = await run(motoPython, [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    `moto[server]==${MOTO_VERSION}`,
  ]);
  if (code !== 0)
    throw new Error(
      `pip install moto[server]==${MOTO_VERSION} failed (exit ${code}):\n${output.trim().split('\n').slice(-30).join('\n')}`,
    );
  const now = await installedMotoVersion();
  if (now !== MOTO_VERSION)
    throw new Error(`moto in ${motoVenv} reports ${now ?? 'nothing'} after installing ${MOTO_VERSION}`);
  console.log(`Installed moto ${MOTO_VERSION} in ${Math.round((Date.now() - started) / 1000)}s`);
}
