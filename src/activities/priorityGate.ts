/**
 * At most `width` tasks at once, and when a slot frees up it goes to the
 * waiting task of lowest rank. The worker shares one gate for all its
 * downloads, ranked by (activity start order, file index): the batch that
 * started first gets its files first and reaches the sink while the next
 * batch is still downloading, instead of every batch finishing its downloads
 * at the same late moment and then queueing for the sink.
 */
export type Rank = readonly [number, number];

function before(a: Rank, b: Rank): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

export class PriorityGate {
  private active = 0;
  /** Sorted by rank, lowest first. */
  private readonly waiting: { rank: Rank; wake: () => void }[] = [];

  constructor(readonly width: number) {
    if (!(width >= 1)) throw new Error(`gate width must be at least 1, got ${width}`);
  }

  async run<T>(rank: Rank, task: () => Promise<T>): Promise<T> {
    if (this.active < this.width) {
      this.active++;
    } else {
      await new Promise<void>((wake) => {
        let at = this.waiting.length;
        while (at > 0 && before(rank, this.waiting[at - 1]!.rank)) at--;
        this.waiting.splice(at, 0, { rank, wake });
      });
    }
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, if any.
      const next = this.waiting.shift();
      if (next) next.wake();
      else this.active--;
    }
  }

  /** Tasks running and waiting (for tests and diagnostics). */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }
}
