/**
 * What SQL the product itself writes, for tests that log every statement a
 * DuckDB connection runs (issue #18: no datafile text reaches SQL except as
 * a quoted identifier or a string literal the product escaped).
 *
 * {@link productSqlProblem} tokenizes a statement the way DuckDB does
 * (`'...'` with `''`, `"..."` with `""`, no backslash escapes) and refuses
 * anything that is not ours: a word outside the product's vocabulary, a
 * `;`, a comment, a NUL (DuckDB would run the text before it), a quoted
 * identifier that names none of the tables and columns the datafile defines.
 * {@link logDuckDbStatements} records every statement of every connection.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBConnection } from '@duckdb/node-api';

/**
 * Every bare word the product's DDL, DEFAULT rendering and session settings
 * use (src/sinks/duckdbTypes.ts, src/sinks/duckdb/), lower-cased.
 */
const VOCABULARY = new Set(
  [
    // statements and clauses
    'set',
    'create',
    'table',
    'if',
    'not',
    'exists',
    'null',
    'default',
    'primary',
    'key',
    'select',
    'is',
    'as',
    'cast',
    'missing',
    // settings of the sink's connection
    'timezone',
    'preserve_insertion_order',
    'memory_limit',
    'allowed_directories',
    'enable_external_access',
    'false',
    'true',
    // column types
    'varchar',
    'uuid',
    'boolean',
    'tinyint',
    'smallint',
    'integer',
    'bigint',
    'utinyint',
    'usmallint',
    'uinteger',
    'ubigint',
    'float',
    'double',
    'decimal',
    'date',
    'timestamp',
    'timestamptz',
    'timestamp_ms',
    'timestamp_ns',
    'map',
    // rendered DEFAULT functions
    'now',
    'current_date',
    'to_timestamp',
    'to_seconds',
    // the ledger and the quarantine table's own columns
    's3c_ledger',
    'data_source',
    'bucket',
    'etag',
    'size',
    'last_modified',
    'format',
    'rows',
    'quarantined',
    'job_id',
    'loaded_at',
    'c__error_column',
    'c__error',
    'c__import_id',
    'insertion_date',
    'c__object_key',
    'c__line',
  ].map((w) => w.toLowerCase()),
);

/**
 * The words of the load path: every word inside a string or template literal
 * of the sink's source (every .ts file under src/sinks: read_csv / read_json options, the
 * conversions, the quarantine, the ledger), lower-cased. A word DuckDB runs
 * that is in none of them came from somewhere else. Words that would give
 * SQL a way out of the sink are never admitted, whatever a message says.
 */
export function loadVocabulary(): Set<string> {
  const words = new Set<string>();
  for (const file of readdirSync(SINKS, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(SINKS, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
    for (const literal of source.match(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g) ?? []) {
      for (const w of literal.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []) words.add(w.toLowerCase());
    }
  }
  for (const w of NEVER_OURS) words.delete(w);
  return words;
}

/** Words that reach files, the network, other databases or the configuration: never in the sink's SQL. */
export const NEVER_OURS = [
  'copy',
  'attach',
  'detach',
  'install',
  'load',
  'export',
  'import',
  'pragma',
  'read_text',
  'read_blob',
  'getenv',
  'call',
  'reset',
  'checkpoint',
  'glob',
];

const SINKS = join(import.meta.dirname, '..', '..', 'src', 'sinks');
const LOAD_VOCABULARY = loadVocabulary();

/** The statements the product starts with; anything else is not ours. */
const OPENINGS = [/^SET [a-z_]+ = /i, /^CREATE TABLE IF NOT EXISTS (?:"|s3c_ledger \()/, /^SELECT \(CAST\(/];

/** The statements of the load path besides those. */
const LOAD_OPENINGS = [
  /^(?:BEGIN TRANSACTION|COMMIT|ROLLBACK)$/,
  /^CREATE TEMP TABLE /,
  /^DROP TABLE IF EXISTS temp\.main\.s3c_/,
  /^INSERT INTO /,
  /^SELECT /,
];

/** The load's own quoted identifiers: positional columns and its per-column temporaries. */
const LOAD_IDENTIFIER = /^(?:c\d+|s3c_[qrv]\d+)$/;

type Token = { kind: 'word' | 'string' | 'ident' | 'number' | 'punct'; text: string };

/** DuckDB's tokens of `sql`, or the reason it is not ours. */
function tokenize(sql: string): Token[] | string {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === ' ') {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) return `unterminated ${c} at ${i}`;
        if (sql[j] === c) {
          if (sql[j + 1] === c) {
            text += c;
            j += 2;
            continue;
          }
          break;
        }
        text += sql[j];
        j++;
      }
      tokens.push({ kind: c === "'" ? 'string' : 'ident', text });
      i = j + 1;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i, i + 200));
    if (word) {
      tokens.push({ kind: 'word', text: word[0] });
      i += word[0].length;
      continue;
    }
    const number = /^[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?/.exec(sql.slice(i, i + 400));
    if (number) {
      tokens.push({ kind: 'number', text: number[0] });
      i += number[0].length;
      continue;
    }
    if (sql.startsWith('--', i) || sql.startsWith('/*', i)) return `a comment at ${i}`;
    const parameter = /^\$[0-9]+/.exec(sql.slice(i, i + 12));
    if (parameter) {
      tokens.push({ kind: 'punct', text: parameter[0] });
      i += parameter[0].length;
      continue;
    }
    if ('(),[]{}:+-*/=<>|.'.includes(c)) {
      tokens.push({ kind: 'punct', text: c });
      i++;
      continue;
    }
    return `the character ${JSON.stringify(c)} at ${i}`;
  }
  return tokens;
}

/**
 * Why `sql` is not one of the product's statements, or undefined when it is.
 * `identifiers` are the names the datafile may put in quoted identifiers
 * (its table, quarantine table and column names, and the keys of its
 * JSONPaths); `load` also admits the statements of loading a file.
 */
export function productSqlProblem(sql: string, identifiers: ReadonlySet<string>, load = false): string | undefined {
  if (sql.includes('\0')) return 'a NUL character (DuckDB would run only the text before it)';
  if (load && sql === 'RESET threads') return undefined; // the one RESET of the load (after a single-threaded read)
  if (!OPENINGS.some((re) => re.test(sql)) && !(load && LOAD_OPENINGS.some((re) => re.test(sql))))
    return 'a statement the product does not write';
  const tokens = tokenize(sql);
  if (typeof tokens === 'string') return tokens;
  for (const t of tokens) {
    const word = t.text.toLowerCase();
    if (t.kind === 'word' && !VOCABULARY.has(word) && !(load && LOAD_VOCABULARY.has(word)))
      return `the word ${JSON.stringify(t.text)}, which the product never writes`;
    if (t.kind === 'ident' && !identifiers.has(t.text) && !(load && LOAD_IDENTIFIER.test(t.text))) {
      return `the quoted identifier ${JSON.stringify(t.text)}, which the datafile does not define`;
    }
  }
  return undefined;
}

/** Methods of a DuckDB connection that take SQL text first. */
const SQL_METHODS = Object.getOwnPropertyNames(DuckDBConnection.prototype).filter(
  (m) =>
    /^(run|stream|start|prepare|extractStatements)/.test(m) &&
    typeof (DuckDBConnection.prototype as unknown as Record<string, unknown>)[m] === 'function',
);

/** A log of every statement DuckDB connections of this process run, while `on`. */
export interface StatementLog {
  statements: string[];
  on: boolean;
  /** Puts the connection class back as it was. */
  restore(): void;
}

/** Wraps every SQL-taking method of `DuckDBConnection` so each statement is logged before it runs. */
export function logDuckDbStatements(): StatementLog {
  const proto = DuckDBConnection.prototype as unknown as Record<
    string,
    (this: unknown, sql: string, ...rest: unknown[]) => unknown
  >;
  const originals = new Map(
    SQL_METHODS.map((m) => [m, proto[m] as (this: unknown, sql: string, ...rest: unknown[]) => unknown]),
  );
  const log: StatementLog = {
    statements: [],
    on: true,
    restore() {
      for (const [m, fn] of originals) proto[m] = fn;
    },
  };
  for (const [m, fn] of originals) {
    proto[m] = function (this: unknown, sql: string, ...rest: unknown[]) {
      if (log.on) log.statements.push(sql);
      return fn.call(this, sql, ...rest);
    };
  }
  return log;
}
