/**
 * Which statements `s3c sql` runs: exactly one read-only query (SELECT,
 * WITH … SELECT, VALUES, FROM …, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN of one of
 * those), judged by DuckDB's own parser (`json_serialize_sql`, which
 * serializes SELECT statements only), never by matching the text. Its parse
 * tree is then walked: only table functions that read the database's own
 * catalog or generate rows are allowed (no `read_csv`, `query`, `checkpoint`,
 * …), and no table name may be a file path (DuckDB would read `'x.csv'` as a
 * file). The query then runs in a read-only transaction on an instance whose
 * file access is already shut down (connection.ts): three fences, any one of
 * which refuses a write or a file read.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { SqlQueryError, SqlRefusedError } from '../../contract/sql';

/**
 * Table functions a query may call: generators and the catalog's own views.
 * Every other one is refused: DuckDB's table functions read files, run SQL
 * given as text (`query`), or change state (`checkpoint`, `enable_logging`).
 */
const ALLOWED_TABLE_FUNCTIONS = new Set([
  'range',
  'generate_series',
  'unnest',
  'json_each',
  'json_tree',
  'duckdb_columns',
  'duckdb_constraints',
  'duckdb_databases',
  'duckdb_functions',
  'duckdb_indexes',
  'duckdb_keywords',
  'duckdb_schemas',
  'duckdb_tables',
  'duckdb_types',
  'duckdb_views',
  'pragma_table_info',
]);

/** Scalar functions a query may not call: they read the process's settings or environment. */
const REFUSED_FUNCTIONS = new Set(['current_setting', 'getenv', 'getvariable']);

/** What a table's name may be: an identifier, never a path DuckDB would open as a file. */
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** The statements `s3c sql` runs, for the messages that refuse the others. */
const WHAT_RUNS =
  'one read-only query (SELECT, WITH … SELECT, VALUES, FROM …, DESCRIBE, SHOW, SUMMARIZE, or EXPLAIN of one)';

/** The answer of `json_serialize_sql`: the parse trees, or why there are none. */
interface SerializedSql {
  error: boolean;
  error_message?: string;
  statements?: { node: unknown }[];
}

/**
 * Throws SqlRefusedError (the reason in its message) unless `sql` is exactly
 * one read-only query that reaches nothing outside the database, or
 * SqlQueryError when DuckDB cannot parse it.
 */
export async function checkReadOnlyQuery(conn: DuckDBConnection, sql: string): Promise<void> {
  const parsed = await serialize(conn, sql);
  if (!parsed.error) return checkSelectTrees(parsed.statements ?? []);
  if (!/^Only SELECT statements/i.test(parsed.error_message ?? ''))
    throw new SqlQueryError(`Parser Error: ${parsed.error_message ?? 'DuckDB cannot parse the statement'}`);
  const count = await statementCount(conn, sql);
  if (count > 1) throw new SqlRefusedError(`refused: ${count} statements; send exactly ${WHAT_RUNS}`);
  const explained = explainedQuery(sql);
  if (explained === undefined)
    throw new SqlRefusedError(`refused: ${firstKeyword(sql)} is not a read-only query; only ${WHAT_RUNS} is run`);
  const inner = await serialize(conn, explained);
  if (inner.error)
    throw new SqlRefusedError(
      `refused: EXPLAIN of a statement that is not a read-only query; only ${WHAT_RUNS} is run`,
    );
  checkSelectTrees(inner.statements ?? []);
}

/** DuckDB's parse of `sql` as JSON (parsing only: nothing is bound or run). */
async function serialize(conn: DuckDBConnection, sql: string): Promise<SerializedSql> {
  const r = await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR) AS tree', [sql]);
  return JSON.parse(String(r.getRowObjects()[0]?.tree)) as SerializedSql;
}

/** How many statements DuckDB finds in `sql` (1 when it cannot tell: the parse error comes later). */
async function statementCount(conn: DuckDBConnection, sql: string): Promise<number> {
  try {
    return (await conn.extractStatements(sql)).count;
  } catch {
    return 1;
  }
}

/** One SELECT tree, whose every table function, function and table name passes. */
function checkSelectTrees(statements: { node: unknown }[]): void {
  if (statements.length === 0) throw new SqlRefusedError(`refused: no statement; send ${WHAT_RUNS}`);
  if (statements.length > 1)
    throw new SqlRefusedError(`refused: ${statements.length} statements; send exactly ${WHAT_RUNS}`);
  walk(statements[0]?.node, checkNode);
}

/** Refuses one node of a parse tree that reaches outside the database. */
function checkNode(node: Record<string, unknown>): void {
  if (node.type === 'TABLE_FUNCTION') {
    const name = functionName((node.function as Record<string, unknown> | undefined) ?? {});
    if (!ALLOWED_TABLE_FUNCTIONS.has(name))
      throw new SqlRefusedError(
        `refused: the table function ${name}() is not allowed (it reads files, runs SQL text or changes state); query the tables`,
      );
  } else if (node.class === 'FUNCTION' && REFUSED_FUNCTIONS.has(functionName(node))) {
    throw new SqlRefusedError(
      `refused: the function ${functionName(node)}() is not allowed (it reads the worker's settings or environment)`,
    );
  } else if (node.type === 'BASE_TABLE' && typeof node.table_name === 'string' && !TABLE_NAME.test(node.table_name)) {
    throw new SqlRefusedError(
      `refused: '${node.table_name}' is not a table name (DuckDB would read it as a file); query the tables`,
    );
  }
}

function functionName(node: Record<string, unknown>): string {
  return String(node.function_name ?? '').toLowerCase();
}

/** Calls `visit` on every object of a JSON tree. */
function walk(value: unknown, visit: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, visit);
  } else if (value !== null && typeof value === 'object') {
    visit(value as Record<string, unknown>);
    for (const v of Object.values(value)) walk(v, visit);
  }
}

/** `sql` without its leading blanks and comments. */
function withoutLeadingComments(sql: string): string {
  return sql.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/, '');
}

/** The statement's first word, upper case (for messages only: DuckDB decides). */
export function firstKeyword(sql: string): string {
  return (/^[A-Za-z]+/.exec(withoutLeadingComments(sql))?.[0] ?? 'unknown').toUpperCase();
}

/** The query after `EXPLAIN` or `EXPLAIN ANALYZE`, when `sql` is one; undefined otherwise. */
export function explainedQuery(sql: string): string | undefined {
  return /^EXPLAIN(?:\s+ANALYZE)?\s+([\s\S]+)$/i.exec(withoutLeadingComments(sql))?.[1];
}
