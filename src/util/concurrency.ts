/**
 * Runs `work` over `items` with at most `limit` in flight, in order of start. A rejected item
 * rejects the whole call (callers that must not stop catch inside `work`). With `shouldStart`,
 * no new item starts once it returns false (used to stop an apply on SIGINT).
 */
export async function mapConcurrent<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
  shouldStart: () => boolean = () => true,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && shouldStart()) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
