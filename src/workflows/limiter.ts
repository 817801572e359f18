/**
 * The workspace's files-per-minute limit (R5.5), shared by all its data
 * sources: one long-running workflow per workspace that grants tokens.
 *
 * A bucket of N tokens where each token comes back one period after it was
 * granted: in any window of one period, at most N files start, whatever the
 * number of data sources. Jobs ask with a signal and get their grant back as a
 * signal (workflows cannot call updates on each other); requests are served in
 * arrival order, each with as many tokens as are free, up to what it asked.
 *
 * Deterministic workflow code: time only from the SDK.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  setDefaultSignalHandler,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { checkPayload, LimiterConfigPayload, SignalLog, TokenRequestPayload } from './payloads';
import {
  configureLimiterSignal,
  limiterStateQuery,
  tokenGrantSignal,
  tokenRequestSignal,
  type LimiterConfig,
  type LimiterState,
  type RejectedSignals,
  type TokenRequest,
} from '../contract';
import { LIMITER_MAX_HISTORY_EVENTS, LIMITER_RECENT_GRANTS } from '../contract/limits';

export interface LimiterInput {
  config: LimiterConfig;
  /** Carried across continue-as-new. */
  carried?: { grantTimes: number[]; queue: TokenRequest[]; granted: number; recentGrants?: LimiterState['recentGrants']; rejectedSignals?: RejectedSignals };
}

export async function workspaceLimiterWorkflow(input: LimiterInput): Promise<void> {
  let config = input.config;
  /** Times (ms) of the grants still inside the current period, oldest first. */
  const grantTimes: number[] = [...(input.carried?.grantTimes ?? [])];
  const queue: TokenRequest[] = [...(input.carried?.queue ?? [])];
  let granted = input.carried?.granted ?? 0;
  const recentGrants: LimiterState['recentGrants'] = [...(input.carried?.recentGrants ?? [])];

  // A payload that does not fit is ignored and recorded, never thrown (see payloads.ts).
  const signals = new SignalLog(input.carried?.rejectedSignals);
  setHandler(tokenRequestSignal, (...args: unknown[]) => {
    const checked = checkPayload<TokenRequest>(TokenRequestPayload, args);
    if (!checked.ok) return signals.reject('tokenRequest', checked.reason);
    const request = checked.value;
    if (!queue.some((r) => r.requestId === request.requestId)) queue.push(request);
  });
  setHandler(configureLimiterSignal, (...args: unknown[]) => {
    const checked = checkPayload<LimiterConfig>(LimiterConfigPayload, args);
    if (!checked.ok) return signals.reject('configureLimiter', checked.reason);
    config = checked.value;
  });
  const periodMs = (): number => config.periodSeconds * 1000;
  const expire = (): void => {
    const horizon = Date.now() - periodMs();
    while (grantTimes.length > 0 && (grantTimes[0] ?? 0) <= horizon) grantTimes.shift();
  };
  setHandler(limiterStateQuery, (): LimiterState => {
    expire();
    return {
      config,
      available: config.filesPerPeriod > 0 ? Math.max(0, config.filesPerPeriod - grantTimes.length) : Number.MAX_SAFE_INTEGER,
      inUse: grantTimes.length,
      waiting: queue.map((r) => ({ requester: r.requester, count: r.count })),
      granted,
      recentGrants,
      ...(signals.snapshot() ? { rejectedSignals: signals.snapshot() } : {}),
    };
  });
  // Set after every handler: a signal of another name is recorded, not left waiting for a handler.
  setDefaultSignalHandler((name: string) => {
    signals.reject(name, 'unknown signal: the limiter takes tokenRequest, configureLimiter');
  });

  for (;;) {
    await condition(() => queue.length > 0);
    expire();
    const unlimited = config.filesPerPeriod <= 0;
    const free = unlimited ? Number.MAX_SAFE_INTEGER : config.filesPerPeriod - grantTimes.length;
    if (free <= 0) {
      // Wait until the oldest token comes back (or the config changes).
      const oldest = grantTimes[0] ?? Date.now();
      const limitBefore = config.filesPerPeriod;
      await condition(() => config.filesPerPeriod !== limitBefore, Math.max(1, oldest + periodMs() - Date.now()));
      continue;
    }
    const request = queue.shift();
    if (!request) continue;
    const count = Math.min(free, Math.max(1, request.count));
    const now = Date.now();
    if (!unlimited) for (let i = 0; i < count; i++) grantTimes.push(now);
    granted += count;
    recentGrants.push({ at: new Date(now).toISOString(), requester: request.requester, count });
    if (recentGrants.length > LIMITER_RECENT_GRANTS) recentGrants.shift();
    try {
      await getExternalWorkflowHandle(request.requester).signal(tokenGrantSignal, { requestId: request.requestId, count });
    } catch {
      // The requester has ended (cancelled job): its tokens stay spent until they come back.
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > LIMITER_MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof workspaceLimiterWorkflow>({ config, carried: { grantTimes, queue, granted, recentGrants, rejectedSignals: signals.snapshot() } });
    }
  }
}
