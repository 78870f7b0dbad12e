/**
 * Waits for `work` to settle, or `ms` at most, whichever comes first; never rejects. For steps of
 * a shutdown that must not hold it when Redis is away (the work itself goes on unobserved).
 */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((done) => (timer = setTimeout(done, ms)));
  await Promise.race([work.then(() => undefined, () => undefined), bound]);
  clearTimeout(timer);
}
