import { z } from 'zod';
import { sendError, sendOk } from './http-io.js';
import { contract, param, type AuthedContext } from './route-context.js';

const SessionBody = z.strictObject({ task_name: z.string().min(1), language: z.string().min(2) });

export function createSession({ res, state, body, caller }: AuthedContext): void {
  const parsed = contract(state, 'session', SessionBody, body);
  const session = state.createSession(caller.userId, parsed?.language ?? 'en');
  sendOk(res, { task_id: session.taskId, session_id: session.sessionId, user_id: session.userId });
}

export function credits({ res, state, caller }: AuthedContext): void {
  const { available, frozen, total } = state.creditsOfUser(caller.userId);
  sendOk(res, { available, frozen, total });
}

export function sessionState(context: AuthedContext): void {
  const { res, state, caller } = context;
  const session = state.sessionFor(param(context, 0), caller);
  if (session === undefined) {
    sendError(res, 404, 1002, 'session not found');
    return;
  }
  sendOk(res, {
    state: {
      draft: session.draft,
      video_infos: [],
      canvas_config: { width: 1080, height: 1920 },
      generated_media: session.generatedMedia ?? [],
    },
  });
}
