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
  carried?: {
    grantTimes: number[];
    queue: TokenRequest[];
    granted: number;
    recentGrants?: LimiterState['recentGrants'];
    rejectedSignals?: RejectedSignals;
  };
}

export async function workspaceLimiterWorkflow(input: LimiterInput): Promise<void> {
  const run = new LimiterRun(input);
  installHandlers(run);
  for (;;) {
    await condition(() => run.queue.length > 0);
    run.expire();
    const free = run.free();
    if (free <= 0) {
      await run.tokenBack();
      continue;
    }
    const request = run.queue.shift();
    if (!request) continue;
    const count = run.grant(request, free);
    try {
      await getExternalWorkflowHandle(request.requester).signal(tokenGrantSignal, {
        requestId: request.requestId,
        count,
      });
    } catch {
      // The requester has ended (cancelled job): its tokens stay spent until they come back.
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > LIMITER_MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof workspaceLimiterWorkflow>({ config: run.config, carried: run.carried() });
    }
  }
}

/** The limiter's state: its tokens in use, the queue of requests, and what it granted. */
class LimiterRun {
  config: LimiterConfig;
  /** Times (ms) of the grants still inside the current period, oldest first. */
  readonly grantTimes: number[];
  readonly queue: TokenRequest[];
  granted: number;
  readonly recentGrants: LimiterState['recentGrants'];
  /** A payload that does not fit is ignored and recorded, never thrown (see payloads.ts). */
  readonly signals: SignalLog;

  constructor(input: LimiterInput) {
    this.config = input.config;
    this.grantTimes = [...(input.carried?.grantTimes ?? [])];
    this.queue = [...(input.carried?.queue ?? [])];
    this.granted = input.carried?.granted ?? 0;
    this.recentGrants = [...(input.carried?.recentGrants ?? [])];
    this.signals = new SignalLog(input.carried?.rejectedSignals);
  }

  private periodMs(): number {
    return this.config.periodSeconds * 1000;
  }

  /** Drops the grants older than one period: their tokens are back. */
  expire(): void {
    const horizon = Date.now() - this.periodMs();
    while (this.grantTimes.length > 0 && (this.grantTimes[0] ?? 0) <= horizon) this.grantTimes.shift();
  }

  free(): number {
    return this.config.filesPerPeriod <= 0
      ? Number.MAX_SAFE_INTEGER
      : this.config.filesPerPeriod - this.grantTimes.length;
  }

  /** Waits until the oldest token comes back (or the config changes). */
  async tokenBack(): Promise<void> {
    const oldest = this.grantTimes[0] ?? Date.now();
    const limitBefore = this.config.filesPerPeriod;
    await condition(
      () => this.config.filesPerPeriod !== limitBefore,
      Math.max(1, oldest + this.periodMs() - Date.now()),
    );
  }

  /** Grants `request` as many tokens as are free, up to what it asked; returns the count. */
  grant(request: TokenRequest, free: number): number {
    const count = Math.min(free, Math.max(1, request.count));
    const now = Date.now();
    if (this.config.filesPerPeriod > 0) for (let i = 0; i < count; i++) this.grantTimes.push(now);
    this.granted += count;
    this.recentGrants.push({ at: new Date(now).toISOString(), requester: request.requester, count });
    if (this.recentGrants.length > LIMITER_RECENT_GRANTS) this.recentGrants.shift();
    return count;
  }

  state(): LimiterState {
    this.expire();
    const { config, grantTimes, queue, granted, recentGrants, signals } = this;
    return {
      config,
      available:
        config.filesPerPeriod > 0 ? Math.max(0, config.filesPerPeriod - grantTimes.length) : Number.MAX_SAFE_INTEGER,
      inUse: grantTimes.length,
      waiting: queue.map((r) => ({ requester: r.requester, count: r.count })),
      granted,
      recentGrants,
      ...(signals.snapshot() ? { rejectedSignals: signals.snapshot() } : {}),
    };
  }

  carried(): NonNullable<LimiterInput['carried']> {
    const { grantTimes, queue, granted, recentGrants, signals } = this;
    return { grantTimes, queue, granted, recentGrants, rejectedSignals: signals.snapshot() };
  }
}

function installHandlers(run: LimiterRun): void {
  setHandler(tokenRequestSignal, (...args: unknown[]) => {
    const checked = checkPayload<TokenRequest>(TokenRequestPayload, args);
    if (!checked.ok) return run.signals.reject('tokenRequest', checked.reason);
    const request = checked.value;
    if (!run.queue.some((r) => r.requestId === request.requestId)) run.queue.push(request);
  });
  setHandler(configureLimiterSignal, (...args: unknown[]) => {
    const checked = checkPayload<LimiterConfig>(LimiterConfigPayload, args);
    if (!checked.ok) return run.signals.reject('configureLimiter', checked.reason);
    run.config = checked.value;
  });
  setHandler(limiterStateQuery, (): LimiterState => run.state());
  // Set after every handler: a signal of another name is recorded, not left waiting for a handler.
  setDefaultSignalHandler((name: string) => {
    run.signals.reject(name, 'unknown signal: the limiter takes tokenRequest, configureLimiter');
  });
}
