/**
 * At most `size` encodes at once in this process: an encode takes both cores, so more would
 * only make each one slower and the machine's memory the limit. Waiters go in call order.
 */
export class EncodeSlots {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`encode slots must be a positive integer, got ${size}`);
  }

  /** Resolves with the release once a slot is free; `signal` gives up waiting. */
  async take(signal?: AbortSignal): Promise<() => void> {
    if (this.busy < this.size) {
      this.busy += 1;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.waiting.indexOf(grant);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('gave up waiting for an encode slot'));
      };
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.releaser();
  }

  get inUse(): number {
    return this.busy;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter: `busy` stays as it is.
      if (next) next();
      else this.busy -= 1;
    };
  }
}
