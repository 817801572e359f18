/**
 * Shared checks of the fault-injection suite: test data, the "table equals
 * the files" comparison, and the search for secret values in workflow
 * histories, logs and error texts.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { dataSourceState, jobReport, requestSync } from '../../src/client/dataSources';
import type { DataSourceState, JobReport } from '../../src/contract';
import type { Destination } from '../../src/sinks/destination';

/** A CSV file `id,name` with ids `from .. from+count-1`. */
export function csvRows(from: number, count: number, pad = ''): string {
  const lines = ['id,name'];
  for (let i = 0; i < count; i++) lines.push(`${from + i},n${from + i}${pad}`);
  return `${lines.join('\n')}\n`;
}

/** The ids `from .. from+count-1`. */
export function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/** Polls `check` until it returns a value (not undefined), or fails naming `what`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(everyMs);
  }
  throw new Error(
    `${what}: not reached in ${timeoutMs / 1000}s${lastError ? ` (last error: ${String(lastError)})` : ''}`,
  );
}

/**
 * The table holds exactly `ids` (every row once, nothing else), and the ledger
 * holds each of `files` (key → rows) exactly once with that row count.
 */
/**
 * Asks data source `name` of workspace `local` for a sync (running `during`
 * meanwhile) and waits until it has run: its state and the job's report.
 */
export async function syncAndWait(
  client: Client,
  name: string,
  options: { during?: () => Promise<void>; timeoutMs?: number; everyMs?: number } = {},
): Promise<{ state: DataSourceState; job: JobReport }> {
  const before = await dataSourceState(client, 'local', name);
  await requestSync(client, 'local', name, { origin: 'test' });
  await options.during?.();
  const state = await eventually(
    `sync of ${name}`,
    async () => {
      const s = await dataSourceState(client, 'local', name);
      return s && s.counters.syncs > (before?.counters.syncs ?? 0) && s.status !== 'syncing' && s.pendingSyncs === 0
        ? s
        : undefined;
    },
    options.timeoutMs ?? 120_000,
    options.everyMs ?? 250,
  );
  return { state, job: await jobReport(client, state.lastJobId!) };
}

export async function assertTableMatchesFiles(
  sink: Destination,
  table: string,
  expected: { ids: number[]; files: Record<string, number> },
): Promise<void> {
  const rows = await sink.query(`SELECT id FROM "${table}" ORDER BY id`);
  const ids = rows.map((r) => Number(r.id));
  const want = [...expected.ids].sort((a, b) => a - b);
  if (ids.length !== want.length || ids.some((id, i) => id !== want[i])) {
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const doubled = [...counts].filter(([, n]) => n > 1).slice(0, 10);
    const wantSet = new Set(want);
    const missing = want.filter((id) => !counts.has(id)).slice(0, 10);
    const extra = ids.filter((id) => !wantSet.has(id)).slice(0, 10);
    assert.fail(
      `${table}: ${ids.length} rows, expected ${want.length}; doubled ${JSON.stringify(doubled)}, missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(extra)}`,
    );
  }
  const ledger = await sink.ledger(table);
  const byKey = new Map<string, number[]>();
  for (const e of ledger) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.rows]);
  const got = Object.fromEntries([...byKey].map(([k, v]) => [k, v.length === 1 ? v[0] : v]));
  assert.deepEqual(got, expected.files, `${table}: ledger (key → rows, each version once)`);
}

/** Every workflow's history (all runs) as text, payloads decoded. */
export async function allHistoriesText(client: Client): Promise<string> {
  const parts: string[] = [];
  for await (const wf of client.workflow.list()) {
    // Small pages: a history of large signals (event batches) exceeds gRPC's 4 MB per message in one page.
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await client.workflowService.getWorkflowExecutionHistory({
        namespace: client.options.namespace,
        execution: { workflowId: wf.workflowId, runId: wf.runId },
        maximumPageSize: 20,
        nextPageToken,
      });
      parts.push(
        JSON.stringify(page.history, (_k, v: unknown) => {
          if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
          if (typeof v === 'bigint') return v.toString();
          return v;
        }),
      );
      nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
    } while (nextPageToken);
  }
  return parts.join('\n');
}

/** Asserts that no secret value appears in `text` (named `where`); values shorter than 6 characters are not searched. */
export function assertNoSecrets(text: string, secrets: Record<string, string>, where: string): void {
  for (const [name, value] of Object.entries(secrets)) {
    if (value.length < 6) continue;
    assert.ok(!text.includes(value), `${where} holds the value of secret ${name}`);
    const b64 = Buffer.from(value).toString('base64').replace(/=+$/, '');
    assert.ok(!text.includes(b64), `${where} holds the value of secret ${name} (base64)`);
  }
}
