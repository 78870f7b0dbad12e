import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { Caller, FakeState } from './state.js';
import type { RecordedRequest } from './types.js';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  state: FakeState;
  /** Captures of the route's path pattern, decoded. */
  params: string[];
  /** This request's entry in `requests`. */
  record: RecordedRequest;
  /** The parsed JSON body of `body: 'json'` routes. */
  body: unknown;
}

export interface AuthedContext extends RouteContext {
  caller: Caller;
}

/** Checks a body against the contract; a mismatch is a violation, not a crash. */
export function contract<T extends z.ZodType>(state: FakeState, what: string, schema: T, body: unknown): z.infer<T> | undefined {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
  state.violation(`${what}: body breaks the contract (${issues})`);
  return undefined;
}

export function param(context: RouteContext, index: number): string {
  const value = context.params[index];
  if (value === undefined) throw new Error(`route has no capture ${index}`);
  return value;
}
