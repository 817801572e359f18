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
  const read: ReadProject = {
    errors: [],
    connections: [],
    dataSources: [],
    connectionFiles: new Map(),
    dataSourceFiles: new Map(),
  };
  for (const file of findDatafiles(dir)) readDatafile(read, file, lookup);
  const validDataSources = crossChecked(read);
  const { errors, connections } = read;
  errors.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return {
    connections: connections.sort((a, b) => a.name.localeCompare(b.name)),
    dataSources: validDataSources.sort((a, b) => a.name.localeCompare(b.name)),
    errors,
  };
}

/** A data source that parsed, and where its IMPORT_CONNECTION_NAME is (for the cross-check's message). */
interface ParsedDataSource {
  def: DataSourceDef;
  connectionLine: number;
  connectionDisplay: string;
}

/** What {@link loadProject} has read so far. */
interface ReadProject {
  errors: DatafileError[];
  connections: ConnectionDef[];
  dataSources: ParsedDataSource[];
  /** Name → path, also for files with errors. */
  connectionFiles: Map<string, string>;
  dataSourceFiles: Map<string, string>;
}

/** Reads and checks one datafile into `read`, unless it cannot be read or its name clashes. */
function readDatafile(read: ReadProject, file: string, lookup: SecretLookup): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    read.errors.push(
      new DatafileError({
        file,
        line: 1,
        what: 'Cannot read file',
        found: (e as NodeJS.ErrnoException).code ?? 'an error',
        expected: 'a readable text file',
      }),
    );
    return;
  }
  const isConnection = file.endsWith('.connection');
  const name = path.basename(file, isConnection ? '.connection' : '.datasource');
  const clash = nameClash(read, file, name, isConnection);
  if (clash) {
    read.errors.push(clash);
    return;
  }
  (isConnection ? read.connectionFiles : read.dataSourceFiles).set(name, file);
  const resolve = (raw: string, line: number) => resolveSecrets(raw, lookup, { file, line });
  if (isConnection) {
    const r = checkConnection(text, file, resolve);
    read.errors.push(...r.errors);
    if (r.connection) read.connections.push(r.connection);
    return;
  }
  const r = checkDataSource(text, file, resolve);
  read.errors.push(...r.errors);
  if (r.dataSource) {
    read.dataSources.push({
      def: r.dataSource,
      connectionLine: r.lines.IMPORT_CONNECTION_NAME ?? 1,
      connectionDisplay: r.displays.IMPORT_CONNECTION_NAME ?? quote(r.dataSource.import?.connectionName ?? ''),
    });
  }
}

/** Why `name` cannot be defined by `file`: an earlier file of the same kind and name, or (data sources) of the same table. */
function nameClash(read: ReadProject, file: string, name: string, isConnection: boolean): DatafileError | undefined {
  const ext = isConnection ? '.connection' : '.datasource';
  const previous = (isConnection ? read.connectionFiles : read.dataSourceFiles).get(name);
  if (previous !== undefined) {
    return new DatafileError({
      file,
      line: 1,
      what: `Duplicate ${isConnection ? 'connection' : 'data source'} name`,
      found: `${quote(name)}, also defined by ${previous}`,
      expected: `one ${ext} file per name`,
    });
  }
  // Data sources are tables, and the destination does not tell `Events` from `events`.
  const sameTable = isConnection
    ? undefined
    : [...read.dataSourceFiles].find(([other]) => other.toLowerCase() === name.toLowerCase());
  if (sameTable === undefined) return undefined;
  return new DatafileError({
    file,
    line: 1,
    what: 'Duplicate data source name',
    found: `${quote(name)}, the same as ${quote(sameTable[0])} (${sameTable[1]}) but for case`,
    expected: 'data source names that differ in more than case (each is a table, and table names are case-insensitive)',
  });
}

/** The data sources that pass the checks across files: a free sample table name, a known connection. */
function crossChecked(read: ReadProject): DataSourceDef[] {
  const valid: DataSourceDef[] = [];
  const connectionNames = [...read.connectionFiles.keys()].sort();
  const dataSourceNames = [...read.dataSourceFiles.keys()];
  for (const parsed of read.dataSources) {
    const { def } = parsed;
    // Known only once every file is read: `x__sample` is x's sample table.
    const sampleName = checkSampleNameFree(def.name, dataSourceNames);
    if (!sampleName.ok) {
      read.errors.push(errorAt({ file: def.path, line: 1 }, sampleName.problem));
      continue;
    }
    const wanted = def.import?.connectionName;
    if (wanted !== undefined && !read.connectionFiles.has(wanted)) {
      read.errors.push(unknownConnection(parsed, wanted, connectionNames));
      continue;
    }
    valid.push(def);
  }
  return valid;
}

/** IMPORT_CONNECTION_NAME names no `.connection` file: the closest name as a hint, unless it came from a secret. */
function unknownConnection(
  parsed: ParsedDataSource,
  wanted: string,
  connectionNames: readonly string[],
): DatafileError {
  const { def, connectionLine, connectionDisplay } = parsed;
  const fromSecret = connectionDisplay !== quote(wanted);
  const suggestion = fromSecret ? undefined : closest(wanted, connectionNames);
  return new DatafileError({
    file: def.path,
    line: connectionLine,
    what: 'Unknown connection in IMPORT_CONNECTION_NAME',
    found: connectionDisplay,
    expected:
      connectionNames.length > 0 || fromSecret
        ? `the name of a .connection file of the project (${connectionNames.join(', ')})`
        : `the name of a .connection file of the project (there is none: create ${wanted}.connection)`,
    ...(suggestion ? { hint: `did you mean ${quote(suggestion)}?` } : {}),
  });
}
