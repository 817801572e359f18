/** Bounded concurrency for plain async work (not workflow code). */

/**
 * `fn` over `items`, at most `width` at a time; results in the order of
 * `items`. After a failure no new item starts, and the first error is thrown
 * once the running ones have settled (so none is left working behind).
 */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const k = next++;
      try {
        results[k] = await fn(items[k]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  if (failure) throw failure.error;
  return results;
}
