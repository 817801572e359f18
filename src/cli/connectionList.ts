/**
 * `s3c connection ls` (SPEC R11): the project's connections, one row each.
 * Never shows a secret: a role ARN is reduced to its account id, static keys
 * are masked and an endpoint loses any user:password part.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type SecretLookup, checkConnection, findDatafiles, resolveSecrets, roleAccountId } from '../datafiles';

/** One connection as listed. */
export interface ConnectionRow {
  /** The connection's name (its file name without `.connection`). */
  name: string;
  /** `S3_REGION`; undefined when the file has errors. */
  region?: string;
  /** How it authenticates: an IAM role (`S3_ARN`, possibly assumed from static keys) or static keys only. */
  auth?: 'role' | 'static keys';
  /** The role, showing only its account id: `arn:aws:iam::123456789012:role/****`. */
  roleArn?: string;
  /** The access key id, masked: `****` plus its last 4 characters when it is at least 16 long. */
  accessKey?: string;
  /** `S3_ENDPOINT`, without credentials in the URL. */
  endpoint?: string;
  /** Path of the file, relative to the project folder. */
  file: string;
  /** The file's first problem (secret values are never part of it). */
  error?: string;
}

/** Masks a static key: only the last 4 characters of a long (≥16) key id are kept. */
export function maskKey(value: string): string {
  return value.length >= 16 ? `****${value.slice(-4)}` : '****';
}

/** A role ARN showing only its account id, or `****` when it is not a role ARN. */
export function maskRoleArn(arn: string): string {
  const account = roleAccountId(arn);
  if (account === undefined) return '****';
  const partition = /^arn:([^:]+):/.exec(arn)?.[1] ?? 'aws';
  return `arn:${partition}:iam::${account}:role/****`;
}

function safeEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    if (url.username === '' && url.password === '') return endpoint;
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return endpoint;
  }
}

/**
 * Removes from `message` the values written literally after `S3_ACCESS_KEY`
 * or `S3_SECRET` in `text` (a malformed line is quoted by parse errors).
 */
function redactKeys(message: string, text: string): string {
  let out = message;
  for (const m of text.matchAll(/^[ \t]*S3_(?:ACCESS_KEY|SECRET)\b[ \t]*(.*)$/gim)) {
    const raw = (m[1] ?? '').trim();
    for (const v of [raw, raw.replace(/^["']|["']$/g, '')]) {
      if (v.length >= 3 && !v.includes('tb_secret')) out = out.split(v).join('****');
    }
  }
  return out;
}

/**
 * Reads every `.connection` file under `projectDir` (as `loadProject` finds
 * them) and describes each, resolving secret references with `lookup`. A file
 * with problems is listed with its first error instead of its settings.
 * Rows are sorted by name, then file.
 */
export function listConnections(projectDir: string, lookup: SecretLookup): ConnectionRow[] {
  const rows: ConnectionRow[] = [];
  for (const file of findDatafiles(projectDir).filter((f) => f.endsWith('.connection'))) {
    const rel = path.relative(projectDir, file) || file;
    const name = path.basename(file, '.connection');
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      rows.push({
        name,
        file: rel,
        error: `${rel}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      });
      continue;
    }
    const check = checkConnection(text, rel, (raw, line) => resolveSecrets(raw, lookup, { file: rel, line }));
    const c = check.connection;
    if (c === undefined) {
      rows.push({
        name,
        file: rel,
        error: redactKeys(check.errors[0]?.message ?? `${rel}: invalid connection file`, text),
      });
      continue;
    }
    const row: ConnectionRow = {
      name: c.name,
      region: c.region,
      auth: c.roleArn !== undefined ? 'role' : 'static keys',
      file: rel,
    };
    if (c.roleArn !== undefined) row.roleArn = maskRoleArn(c.roleArn);
    if (c.accessKey !== undefined) row.accessKey = maskKey(c.accessKey);
    if (c.endpoint !== undefined) row.endpoint = safeEndpoint(c.endpoint);
    rows.push(row);
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name) || a.file.localeCompare(b.file));
}

/** The rows as an aligned table (header first), then one line per file with an error. */
export function formatConnectionRows(rows: ConnectionRow[]): string[] {
  if (rows.length === 0) return ['No connections. Create one with: s3c connection create s3'];
  const header = ['NAME', 'REGION', 'AUTH', 'ROLE', 'ACCESS KEY', 'ENDPOINT', 'FILE'];
  const cells = rows.map((r) => [
    r.name,
    r.region ?? '-',
    r.error !== undefined ? 'error' : (r.auth ?? '-'),
    r.roleArn ?? '-',
    r.accessKey ?? '-',
    r.endpoint ?? '-',
    r.file,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join('  ');
  const out = [line(header), ...cells.map(line)];
  for (const r of rows) if (r.error !== undefined) out.push(`✗ ${r.error}`);
  return out;
}
