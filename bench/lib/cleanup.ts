type Step = () => Promise<void> | void;

/**
 * Closes what a benchmark opened, last opened first, also when opening a later piece failed
 * halfway: a failed start must not leave a redis-server or a child process behind. Every
 * step runs even if one fails; the first failure is thrown at the end.
 */
export class Cleanup {
  private readonly steps: Step[] = [];

  /** Registers `close` and returns `resource`, so opening and registering are one line. */
  add<T>(resource: T, close: (resource: T) => Promise<void> | void): T {
    this.steps.push(() => close(resource));
    return resource;
  }

  async run(): Promise<void> {
    let failure: unknown;
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

}

/**
 * Runs `body` with a fresh `Cleanup`, then closes everything it registered. When `body`
 * fails, its error is the one thrown: a failure while closing must not hide the cause.
 */
export async function withCleanup<T>(body: (cleanup: Cleanup) => Promise<T>): Promise<T> {
  const cleanup = new Cleanup();
  let result: T;
  try {
    result = await body(cleanup);
  } catch (error) {
    await cleanup.run().catch(() => undefined);
    throw error;
  }
  await cleanup.run();
  return result;
}
