/**
 * The DuckLake destination (issue 21, docs/ducklake.md), one concern per file:
 * - sink.ts: the destination (the DuckDB load path on the attached lake, with retries);
 * - attach.ts: the lake's secrets resolved by name, and attached without them in SQL text;
 * - tokens.ts: the ledger and the token tables that make a rival's commit conflict (exactly once);
 * - conflicts.ts: which errors are commit conflicts, and their bounded retry.
 */
export { DuckLakeSink } from './sink';
export { attachLake, resolveLake, LAKE_CATALOG, type LakeAccess, type CatalogLogin } from './attach';
export { isCommitConflict, retryConflicts, MAX_ATTEMPTS } from './conflicts';
export { TOKEN_TABLES, tokenOf, tokenTable } from './tokens';
