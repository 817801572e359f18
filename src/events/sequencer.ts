/**
 * Out-of-order events (SPEC R9.2): S3 gives each event of a key a
 * `sequencer`, a hex string that grows with later operations on that key.
 * An event whose sequencer is older than one already handled for the same
 * key announces a version that has since been replaced; it is dropped.
 *
 * The memory is bounded (least recently used keys are forgotten): forgetting
 * is harmless, since the workflow and the ledger dedupe by key + ETag, and a
 * stale version fails its ETag-pinned download without loading anything.
 */

/**
 * Compares two sequencers as S3 documents it: pad the shorter with leading
 * zeros, then compare as hex strings. Negative, zero or positive.
 */
export function compareSequencers(a: string, b: string): number {
  const x = a.toUpperCase();
  const y = b.toUpperCase();
  const width = Math.max(x.length, y.length);
  const px = x.padStart(width, '0');
  const py = y.padStart(width, '0');
  return px < py ? -1 : px > py ? 1 : 0;
}

/** Remembers the newest sequencer seen per bucket and key, for at most `capacity` keys. */
export class SequencerMemory {
  private readonly newest = new Map<string, string>();

  constructor(readonly capacity = 10_000) {}

  /** True when `sequencer` is older than the newest one recorded for the key. */
  isStale(bucket: string, key: string, sequencer: string | undefined): boolean {
    if (sequencer === undefined || sequencer === '') return false;
    const known = this.newest.get(`${bucket}/${key}`);
    return known !== undefined && compareSequencers(sequencer, known) < 0;
  }

  /** Records `sequencer` for the key when it is the newest so far. */
  record(bucket: string, key: string, sequencer: string | undefined): void {
    if (sequencer === undefined || sequencer === '') return;
    const id = `${bucket}/${key}`;
    const known = this.newest.get(id);
    this.newest.delete(id);
    this.newest.set(id, known !== undefined && compareSequencers(known, sequencer) > 0 ? known : sequencer);
    while (this.newest.size > this.capacity) {
      const oldest = this.newest.keys().next().value;
      if (oldest === undefined) break;
      this.newest.delete(oldest);
    }
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.newest.size;
  }
}
