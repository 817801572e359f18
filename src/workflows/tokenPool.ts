/**
 * A job's side of the workspace limiter (workflows/limiter.ts): tokens taken
 * one per file (R5.5), asked for and granted by signals.
 *
 * Deterministic workflow code: no I/O, time only from the SDK.
 */
import { condition, getExternalWorkflowHandle, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import { checkPayload, TokenGrantPayload } from './payloads';
import { tokenGrantSignal, tokenRequestSignal, type TokenGrant } from '../contract';

/** Tokens of the workspace limiter. Concurrent lanes share one outstanding request; grants come back as signals. */
export class TokenPool {
  held = 0;
  waiting = false;
  private readonly grants = new Map<string, number>();
  private pending: Promise<void> | undefined;

  constructor(
    private readonly limiterId: string | undefined,
    private readonly onChange: () => void,
    /** Called for a grant whose payload does not fit (it is ignored). */
    private readonly refuse: (reason: string) => void,
  ) {
    setHandler(tokenGrantSignal, (...args: unknown[]) => {
      const checked = checkPayload<TokenGrant>(TokenGrantPayload, args);
      if (!checked.ok) return this.refuse(checked.reason);
      this.grants.set(checked.value.requestId, checked.value.count);
    });
  }

  /**
   * Waits for tokens, then lets `pick` take up to as many items as tokens are
   * held — synchronously, so that no other lane can ask for the same items —
   * and spends one token per item picked. Without a limiter, `pick` may take
   * any number. Returns [] without asking when `wanted()` says nothing needs
   * a token.
   */
  async takeFor<T>(pick: (max: number) => T[], wanted: () => number): Promise<T[]> {
    if (!this.limiterId) return pick(Number.MAX_SAFE_INTEGER);
    for (;;) {
      if (this.held > 0) {
        const picked = pick(this.held);
        this.held -= picked.length;
        if (picked.length > 0) this.onChange();
        return picked;
      }
      const want = wanted();
      if (want <= 0) return [];
      this.pending ??= this.request(want).finally(() => {
        this.pending = undefined;
      });
      await this.pending;
    }
  }

  private async request(count: number): Promise<void> {
    const requestId = uuid4();
    this.waiting = true;
    this.onChange();
    await getExternalWorkflowHandle(this.limiterId!).signal(tokenRequestSignal, {
      requester: workflowInfo().workflowId,
      requestId,
      count,
    });
    await condition(() => this.grants.has(requestId));
    this.held += this.grants.get(requestId) ?? 0;
    this.grants.delete(requestId);
    this.waiting = false;
    this.onChange();
  }
}
