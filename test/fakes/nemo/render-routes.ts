import { z } from 'zod';
import { isExportable } from './drafts.js';
import { header, sendError, sendJson } from './http-io.js';
import { outputSha256, pollAnswer, pollView, sendOutput } from './render.js';
import { contract, param, type AuthedContext, type RouteContext } from './route-context.js';
import type { FakeState } from './state.js';
import type { RenderRecord } from './types.js';

const SubmitBody = z.strictObject({
  id: z.string().regex(/^render_\S+$/),
  sessionId: z.string().regex(/^\d+$/),
  draft: z.object({ t: z.array(z.unknown()) }).loose(),
  output: z.strictObject({ format: z.literal('mp4'), quality: z.literal('high') }),
});

export function outputUrl(state: FakeState, renderId: string): string {
  return `${state.baseUrl}/cdn/${encodeURIComponent(renderId)}.mp4`;
}

export function submitRender({ res, state, body, caller }: AuthedContext): void {
  const parsed = contract(state, 'render-submit', SubmitBody, body);
  if (parsed === undefined) {
    sendError(res, 400, 400, 'id, sessionId, draft and output are required');
    return;
  }
  if (state.renders.has(parsed.id)) {
    sendError(res, 409, 409, 'render id already exists');
    return;
  }
  const session = state.sessionFor(parsed.sessionId, caller);
  if (session === undefined) {
    sendError(res, 404, 1002, 'session not found');
    return;
  }
  if (!isExportable(parsed.draft)) state.violation(`render-submit: draft of ${parsed.id} has no track with segments`);
  const script = state.renderQueue.shift() ?? { ...state.renderScript };
  const record: RenderRecord = {
    id: parsed.id,
    sessionId: parsed.sessionId,
    userId: caller.userId,
    draft: parsed.draft,
    script,
    polls: 0,
    status: 'pending',
    cancelled: false,
    createdAt: new Date().toISOString(),
  };
  state.renders.set(record.id, record);
  state.renderPolls.set(record.id, 0);
  const data = { id: record.id, status: 'pending', progress: 5 };
  if (script.submitShape === 'envelope') sendJson(res, 200, { code: 0, message: 'success', data });
  else sendJson(res, 200, { success: true, data });
}

function ownRender(context: AuthedContext): RenderRecord | undefined {
  const record = context.state.renders.get(param(context, 0));
  if (record?.userId === context.caller.userId) return record;
  sendError(context.res, 404, 404, 'render not found');
  return undefined;
}

export function pollRender(context: AuthedContext): void {
  const record = ownRender(context);
  if (record === undefined) return;
  record.polls += 1;
  context.state.renderPolls.set(record.id, record.polls);
  const view = pollView(record);
  record.status = view.status;
  if ((view.status === 'completed' || view.status === 'failed') && record.completedAt === undefined) {
    record.completedAt = new Date().toISOString();
  }
  sendJson(context.res, 200, pollAnswer(record, view, outputUrl(context.state, record.id)));
}

export function cancelRender(context: AuthedContext): void {
  const record = ownRender(context);
  if (record === undefined) return;
  record.cancelled = true;
  sendJson(context.res, 200, { code: 0, message: 'success', data: null });
}

export async function downloadRender(context: AuthedContext): Promise<void> {
  const record = ownRender(context);
  if (record === undefined) return;
  if (!isDone(record)) {
    sendError(context.res, 409, 409, 'render not completed');
    return;
  }
  await sendOutput(context.res, record.script, context.req.method === 'HEAD');
}

/** The public output link: no bearer may ever come here. */
export async function cdn(context: RouteContext): Promise<void> {
  const { req, res, state } = context;
  if (header(req, 'authorization') !== undefined) state.violation('cdn: request carries an Authorization header');
  const record = state.renders.get(param(context, 0));
  if (record === undefined || !isDone(record)) {
    sendError(res, 404, 404, 'not found');
    return;
  }
  await sendOutput(res, record.script, req.method === 'HEAD');
}

function isDone(record: RenderRecord): boolean {
  return pollView(record).status === 'completed';
}

export function renderOutputSha256(state: FakeState, renderId: string): string {
  const record = state.renders.get(renderId);
  if (record === undefined) throw new Error(`the fake has no render ${renderId}`);
  return outputSha256(record.script);
}
