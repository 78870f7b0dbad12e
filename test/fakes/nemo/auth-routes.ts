import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { header, sendError, sendOk } from './http-io.js';
import { contract, type AuthedContext, type RouteContext } from './route-context.js';

export function anonymousToken({ req, res, state }: RouteContext): void {
  if (header(req, 'authorization') !== undefined) state.violation('anonymous-token: sent with a bearer token; it takes none');
  const clientId = header(req, 'x-client-id');
  if (clientId === undefined || clientId.trim() === '') {
    sendError(res, 400, 400, 'X-Client-Id header required');
    return;
  }
  const issued = state.issueToken(clientId);
  sendOk(res, {
    token: issued.token,
    user_id: issued.userId,
    expires_at: issued.expiresAt,
    credits: state.creditsOfUser(issued.userId).available,
  });
}

const ClaimBody = z.strictObject({ task_id: z.string().min(1), session_id: z.string().regex(/^\d+$/) });

export function claimToken({ res, state, body, caller }: AuthedContext): void {
  const parsed = contract(state, 'claim-token', ClaimBody, body);
  const sessionId = parsed?.session_id ?? stringField(body, 'session_id');
  const session = sessionId === undefined ? undefined : state.sessionFor(sessionId, caller);
  if (session === undefined || (parsed !== undefined && parsed.task_id !== session.taskId)) {
    sendError(res, 404, 1002, 'session not found');
    return;
  }
  const claim = `clm_${randomBytes(12).toString('base64url')}`;
  state.claimTokens.push(claim);
  sendOk(res, { claim_token: claim, expires_in: 604800 });
}

export function stringField(body: unknown, key: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
}
