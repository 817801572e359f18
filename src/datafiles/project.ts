/**
 * Loads every datafile of a project folder and cross-checks them (SPEC R1,
 * R2.1). Does file-system I/O; the parsing itself is pure.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConnectionDef, DataSourceDef } from './types';
import { DatafileError, closest, errorAt, quote } from './errors';
import { checkConnection } from './connection';
import { checkDataSource } from './datasource';
import { checkSampleNameFree } from './reserved';
import { type SecretLookup, resolveSecrets } from './secrets';

/** Result of {@link loadProject}. */
export interface Project {
  /** Connections that parsed without error, sorted by name. */
  connections: ConnectionDef[];
  /** Data sources that parsed and cross-checked without error, sorted by name. */
  dataSources: DataSourceDef[];
  /** Every problem of every file, ordered by file then line. */
  errors: DatafileError[];
}

/**
 * Paths of every `*.connection` and `*.datasource` file under `dir`,
 * recursively, skipping `node_modules` and folders whose name starts with `.`;
 * sorted, and joined onto `dir` as given (so a relative `dir` gives relative paths).
 */
export function findDatafiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
        walk(full);
      } else if (entry.isFile() && (entry.name.endsWith('.connection') || entry.name.endsWith('.datasource'))) {
        found.push(full);
      }
    }
  };
  walk(dir);
  return found.sort();
}

/**
 * Reads, parses and cross-checks every datafile of a project folder,
 * collecting all errors rather than stopping at the first.
 *
 * Cross-checks: names are unique per kind (two `events.datasource` files in
 * different folders are an error), and each data source's
 * `IMPORT_CONNECTION_NAME` names an existing `.connection` file (reported on
 * that line). A data source whose connection file exists but has errors is
 * not reported again. Secret references in values are resolved with `lookup`.
 *
 * @throws Error only when `dir` itself cannot be read.
 */
export function loadProject(dir: string, lookup: SecretLookup): Project {
  const errors: DatafileError[] = [];
  const connections: ConnectionDef[] = [];
  const dataSources: { def: DataSourceDef; connectionLine: number; connectionDisplay: string }[] = [];
  const connectionFiles = new Map<string, string>(); // name -> path, also for files with errors
  const dataSourceFiles = new Map<string, string>();

  const resolverFor = (file: string) => (raw: string, line: number) => resolveSecrets(raw, lookup, { file, line });

  for (const file of findDatafiles(dir)) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      errors.push(new DatafileError({ file, line: 1, what: 'Cannot read file', found: (e as NodeJS.ErrnoException).code ?? 'an error', expected: 'a readable text file' }));
      continue;
    }
    const isConnection = file.endsWith('.connection');
    const ext = isConnection ? '.connection' : '.datasource';
    const name = path.basename(file, ext);
    const seen = isConnection ? connectionFiles : dataSourceFiles;
    const previous = seen.get(name);
    if (previous !== undefined) {
      errors.push(new DatafileError({ file, line: 1, what: `Duplicate ${isConnection ? 'connection' : 'data source'} name`, found: `${quote(name)}, also defined by ${previous}`, expected: `one ${ext} file per name` }));
      continue;
    }
    // Data sources are tables, and the destination does not tell `Events` from `events`.
    const sameTable = isConnection ? undefined : [...dataSourceFiles].find(([other]) => other.toLowerCase() === name.toLowerCase());
    if (sameTable !== undefined) {
      errors.push(new DatafileError({
        file,
        line: 1,
        what: 'Duplicate data source name',
        found: `${quote(name)}, the same as ${quote(sameTable[0])} (${sameTable[1]}) but for case`,
        expected: 'data source names that differ in more than case (each is a table, and table names are case-insensitive)',
      }));
      continue;
    }
    seen.set(name, file);

    if (isConnection) {
      const r = checkConnection(text, file, resolverFor(file));
      errors.push(...r.errors);
      if (r.connection) connections.push(r.connection);
    } else {
      const r = checkDataSource(text, file, resolverFor(file));
      errors.push(...r.errors);
      if (r.dataSource) {
        dataSources.push({
          def: r.dataSource,
          connectionLine: r.lines.IMPORT_CONNECTION_NAME ?? 1,
          connectionDisplay: r.displays.IMPORT_CONNECTION_NAME ?? quote(r.dataSource.import?.connectionName ?? ''),
        });
      }
    }
  }

  const validDataSources: DataSourceDef[] = [];
  const connectionNames = [...connectionFiles.keys()].sort();
  const dataSourceNames = [...dataSourceFiles.keys()];
  for (const { def, connectionLine, connectionDisplay } of dataSources) {
    // Known only once every file is read: `x__sample` is x's sample table.
    const sampleName = checkSampleNameFree(def.name, dataSourceNames);
    if (!sampleName.ok) {
      errors.push(errorAt({ file: def.path, line: 1 }, sampleName.problem));
      continue;
    }
    const wanted = def.import?.connectionName;
    if (wanted !== undefined && !connectionFiles.has(wanted)) {
      const fromSecret = connectionDisplay !== quote(wanted);
      const suggestion = fromSecret ? undefined : closest(wanted, connectionNames);
      errors.push(new DatafileError({
        file: def.path,
        line: connectionLine,
        what: 'Unknown connection in IMPORT_CONNECTION_NAME',
        found: connectionDisplay,
        expected: connectionNames.length > 0 || fromSecret ? `the name of a .connection file of the project (${connectionNames.join(', ')})` : `the name of a .connection file of the project (there is none: create ${wanted}.connection)`,
        ...(suggestion ? { hint: `did you mean ${quote(suggestion)}?` } : {}),
      }));
      continue;
    }
    validDataSources.push(def);
  }

  errors.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return {
    connections: connections.sort((a, b) => a.name.localeCompare(b.name)),
    dataSources: validDataSources.sort((a, b) => a.name.localeCompare(b.name)),
    errors,
  };
}
