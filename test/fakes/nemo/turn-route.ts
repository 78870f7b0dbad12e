import { z } from 'zod';
import { defaultTurn } from './agent.js';
import { header, sendError } from './http-io.js';
import { contract, type AuthedContext } from './route-context.js';
import { playTurn } from './sse.js';

const Message = z.strictObject({
  role: z.literal('user'),
  parts: z.tuple([z.strictObject({ text: z.string().min(1) })]),
});

// The documented snake_case body; the camelCase twins the JS ADK reads may ride along, and must agree.
const RunSseBody = z
  .strictObject({
    app_name: z.literal('nemo_agent'),
    user_id: z.literal('me'),
    session_id: z.string().regex(/^\d+$/),
    new_message: Message,
    appName: z.literal('nemo_agent').optional(),
    userId: z.literal('me').optional(),
    sessionId: z.string().optional(),
    newMessage: Message.optional(),
    streaming: z.boolean().optional(),
  })
  .refine((body) => body.sessionId === undefined || body.sessionId === body.session_id, { message: 'sessionId differs from session_id' })
  .refine((body) => body.newMessage === undefined || JSON.stringify(body.newMessage) === JSON.stringify(body.new_message), {
    message: 'newMessage differs from new_message',
  });

export async function runSse({ req, res, state, body, caller }: AuthedContext): Promise<void> {
  if (!(header(req, 'accept') ?? '').includes('text/event-stream')) state.violation('run_sse: Accept is not text/event-stream');
  const parsed = contract(state, 'run_sse', RunSseBody, body);
  const loose = body as { session_id?: unknown; new_message?: { parts?: { text?: unknown }[] } } | null;
  const sessionId = parsed?.session_id ?? (typeof loose?.session_id === 'string' ? loose.session_id : undefined);
  const text = parsed?.new_message.parts[0].text ?? loose?.new_message?.parts?.[0]?.text;
  if (sessionId === undefined || typeof text !== 'string') {
    sendError(res, 400, 400, 'session_id and new_message are required');
    return;
  }
  const session = state.sessionFor(sessionId, caller);
  if (session === undefined) {
    sendError(res, 404, 1002, 'session not found');
    return;
  }
  if (state.creditsOfUser(caller.userId).available <= 0) {
    sendError(res, 200, 2001, 'insufficient credits');
    return;
  }
  state.sseCalls.push({ sessionId, text, token: caller.token });
  const open = state.openStreams.get(sessionId) ?? 0;
  // Two live streams on one session mean a message was sent while a turn was running.
  if (open > 0) state.violation(`run_sse: a second turn started on session ${sessionId} while one is still streaming`);
  state.openStreams.set(sessionId, open + 1);
  res.once('close', () => state.openStreams.set(sessionId, (state.openStreams.get(sessionId) ?? 1) - 1));

  const scripted = state.takeTurnScript(sessionId);
  if (scripted?.label !== undefined) state.serve('run_sse', scripted.label);
  const script = scripted ?? defaultTurn(text, state.baseUrl);
  try {
    await playTurn(res, script, {
      applyDraft: (update) => state.applyDraft(session, update),
      shutdown: state.shutdown.signal,
      defaultKeepAliveMs: state.keepAliveMs,
      onClientAbort: () => state.clientAborts.push(sessionId),
    });
  } finally {
    state.turnEnded();
  }
}
