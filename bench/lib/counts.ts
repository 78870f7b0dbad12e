/** How many items fall under each key. */
export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const name = key(item);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** `GET /x ×1.00, set ×2.00`: counts divided by messages, by name, for the notes. */
export function formatPerMessage(counts: Readonly<Record<string, number>>, messages: number): string {
  return Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, count]) => `${name} ×${(count / messages).toFixed(2)}`)
    .join(', ');
}
