import type { z } from 'zod';

/** A value read back from Redis: undefined when absent, not JSON, or not of `schema`'s shape. */
export function parseStored<T>(raw: string | null, schema: z.ZodType<T>): T | undefined {
  if (raw === null) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const result = schema.safeParse(json);
  return result.success ? result.data : undefined;
}
