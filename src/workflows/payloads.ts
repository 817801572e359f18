/**
 * What a signal may carry (issue #18, item 2). Signals come from anyone with
 * access to Temporal (the Web UI, the CLI, other SDKs), not only from this
 * product: a handler checks its payload against these schemas, and a payload
 * that does not fit is ignored and recorded (see {@link SignalLog}) instead of
 * throwing, which would fail the workflow task again and again.
 *
 * The schemas accept every payload the product itself sends (objects may carry
 * more fields than listed: a newer sender is not refused) and bound every
 * string and list, so that an oversized payload never reaches the workflow's
 * state, its query answers or the input of its next run.
 *
 * Deterministic and I/O-free: imported by workflow code.
 */
import { z } from 'zod';
import { UNDECODABLE_PAYLOAD } from './payloadConverter';
import type { RejectedSignal, RejectedSignals } from '../contract';
import { MAX_REJECTED_KEPT, MAX_REJECTED_REASON } from '../contract/limits';

const text = (max: number) => z.string().max(max);
const count = z.number().int().min(0).max(1_000_000_000);

/** `syncNow`: a sync request. No payload (or null) is a plain request from a signal. */
export const SyncRequestPayload = z.object({ origin: text(200), requestId: text(1000).optional() });

export const ObjectVersionPayload = z.object({
  bucket: text(255).min(1),
  key: text(4096).min(1),
  etag: text(1024),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  lastModified: text(100),
  format: z.enum(['csv', 'ndjson', 'parquet']),
  compression: z.enum(['gzip', 'none']),
});
/** `objectsCreated`: object versions from S3 events. */
export const ObjectsCreatedPayload = z.array(ObjectVersionPayload).min(1).max(100_000);

const columnType: z.ZodType = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('String') }),
    z.object({ kind: z.literal('LowCardinality'), inner: columnType }),
    z.object({ kind: z.literal('FixedString'), length: z.number().int().min(1).max(65535) }),
    z.object({ kind: z.literal('UUID') }),
    z.object({ kind: z.literal('Bool') }),
    z.object({
      kind: z.literal('Int'),
      bits: z.union([z.literal(8), z.literal(16), z.literal(32), z.literal(64)]),
      signed: z.boolean(),
    }),
    z.object({ kind: z.literal('Float'), bits: z.union([z.literal(32), z.literal(64)]) }),
    z.object({
      kind: z.literal('Decimal'),
      precision: z.number().int().min(1).max(76),
      scale: z.number().int().min(0).max(76),
    }),
    z.object({ kind: z.literal('Date') }),
    z.object({ kind: z.literal('Date32') }),
    z.object({ kind: z.literal('DateTime'), timezone: text(100).optional() }),
    z.object({
      kind: z.literal('DateTime64'),
      precision: z.number().int().min(0).max(9),
      timezone: text(100).optional(),
    }),
    z.object({ kind: z.literal('Nullable'), inner: columnType }),
    z.object({ kind: z.literal('Array'), element: columnType }),
    z.object({ kind: z.literal('Map'), key: columnType, value: columnType }),
  ]),
);

const column = z.object({
  name: text(1000).min(1),
  typeText: text(1000),
  type: columnType,
  jsonPath: text(10_000).optional(),
  defaultExpr: text(10_000).optional(),
  line: z.number().int().min(0),
});

/** `redeploy`: a data source definition, as deploy sends it. */
export const DataSourceDefPayload = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .max(1000),
  path: text(10_000),
  description: text(100_000).optional(),
  schema: z.array(column).min(1).max(10_000),
  engine: text(1000),
  partitionKey: text(10_000).optional(),
  sortingKey: text(10_000).optional(),
  ttl: text(10_000).optional(),
  import: z.object({
    connectionName: text(1000).min(1),
    bucketUri: text(10_000).min(1),
    schedule: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('auto') }),
      z.object({ kind: z.literal('once') }),
      z.object({ kind: z.literal('on-demand') }),
      z.object({ kind: z.literal('cron'), expression: text(1000) }),
    ]),
    fromTimestamp: text(100).optional(),
    format: z.enum(['csv', 'ndjson', 'parquet']).optional(),
  }),
});

/** `jobProgress`: a job's rate-limit tokens, sent by the job to its data source. */
export const JobProgressPayload = z.object({
  jobId: text(1000),
  tokens: z.object({ held: count, waiting: z.boolean() }),
});

/** `tokenGrant`: tokens the limiter gives a job. */
export const TokenGrantPayload = z.object({ requestId: text(200), count });

/** `tokenRequest`: a job asking the limiter for tokens. */
export const TokenRequestPayload = z.object({ requester: text(1000).min(1), requestId: text(200).min(1), count });

/** `configureLimiter`: the workspace's files-per-period limit. */
export const LimiterConfigPayload = z.object({
  filesPerPeriod: count,
  periodSeconds: z
    .number()
    .positive()
    .max(365 * 24 * 3600),
});

/** `settings`: the workspace settings of a data source workflow, sent by deploy. */
export const DataSourceSettingsPayload = z.object({
  pollIntervalSeconds: z
    .number()
    .positive()
    .max(365 * 24 * 3600),
  rateLimited: z.boolean().optional(),
  maxHistoryEvents: z.number().int().min(10).max(50_000).optional(),
});

/** A payload checked: the value as sent, or why it was refused. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Checks the first argument of a signal against `schema`. On success the
 * value is returned as sent (not zod's copy), so that a valid payload is
 * handled exactly as before the check existed.
 */
export function checkPayload<T>(schema: z.ZodType, args: readonly unknown[]): Checked<T> {
  const value = args[0];
  if (args.length === 0) return { ok: false, reason: 'no payload' };
  if (typeof value === 'object' && value !== null && UNDECODABLE_PAYLOAD in value) {
    return {
      ok: false,
      reason: `payload could not be decoded: ${String((value as Record<string, unknown>)[UNDECODABLE_PAYLOAD])}`,
    };
  }
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: value as T };
  const reason = r.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'payload'}: ${issue.message}`)
    .join('; ');
  return { ok: false, reason };
}

/** The rejected signals of a workflow: how many, and the latest few. */
export class SignalLog {
  readonly state: RejectedSignals;

  constructor(carried?: RejectedSignals) {
    this.state = { count: carried?.count ?? 0, last: [...(carried?.last ?? [])] };
  }

  /** Records a signal that was ignored, with the reason (cut to a few hundred characters). */
  reject(signal: string, reason: string): void {
    const entry: RejectedSignal = {
      at: new Date().toISOString(),
      signal: signal.length > 100 ? `${signal.slice(0, 99)}…` : signal,
      reason: reason.length > MAX_REJECTED_REASON ? `${reason.slice(0, MAX_REJECTED_REASON - 1)}…` : reason,
    };
    this.state.count++;
    this.state.last.push(entry);
    while (this.state.last.length > MAX_REJECTED_KEPT) this.state.last.shift();
  }

  /** The state to show and carry, or undefined when nothing was ever rejected (answers stay as before). */
  snapshot(): RejectedSignals | undefined {
    return this.state.count > 0 ? this.state : undefined;
  }
}

const rejectedSignals = z.object({
  count,
  last: z
    .array(z.object({ at: text(100), signal: text(200), reason: text(MAX_REJECTED_REASON * 2) }))
    .max(MAX_REJECTED_KEPT),
});

/** Data source names are identifiers of at most this many characters (the datafile's name rule). */
const dataSourceName = text(1000).min(1);

/** The input of `queueIntakeWorkflow`, as deploy starts it or continue-as-new carries it. */
export const QueueIntakeInputPayload = z.object({
  workspace: text(1000).min(1),
  connectionName: text(1000).min(1),
  queueName: text(80).min(1),
  activityTaskQueue: text(1000).min(1),
  counters: z
    .object({
      received: count,
      deleted: count,
      invalid: count,
      unmatched: count,
      notRunning: count,
      byDataSource: z
        .record(dataSourceName, z.object({ objects: count, lastEventAt: text(100) }))
        .refine((r) => Object.keys(r).length <= 10_000, 'more than 10000 data sources'),
    })
    .optional(),
  rejectedSignals: rejectedSignals.optional(),
});
