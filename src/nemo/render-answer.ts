import type { RenderState, RenderStatus } from './types.js';
import { renderFieldsSchema, type RenderFields } from './schemas.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const STATE_ALIASES: Readonly<Record<string, RenderState>> = {
  pending: 'pending',
  queued: 'pending',
  submitted: 'pending',
  processing: 'processing',
  running: 'processing',
  rendering: 'processing',
  in_progress: 'processing',
  completed: 'completed',
  complete: 'completed',
  succeeded: 'completed',
  success: 'completed',
  done: 'completed',
  failed: 'failed',
  failure: 'failed',
  error: 'failed',
  cancelled: 'failed',
  canceled: 'failed',
};

function stateOf(fields: RenderFields, url: string | undefined, error: string | undefined): RenderState {
  const said = fields.status?.trim().toLowerCase();
  if (said !== undefined && Object.hasOwn(STATE_ALIASES, said)) return STATE_ALIASES[said] as RenderState;
  if (error !== undefined) return 'failed';
  if (url !== undefined) return 'completed';
  // An unknown word is most likely a new intermediate state: keep polling, the poll limit ends it.
  return said === undefined ? 'pending' : 'processing';
}

/**
 * Reads a render submit or poll answer in any of the shapes the service has used:
 * `{status, progress?, output:{url}}`, `{success, data:{id, status, progress, outputUrl…}}`,
 * `{taskId, status, progress, output:{url, duration, size}}`, and the `{code, data}` envelope.
 * The error text of a failed render may sit at the top level or in `data`.
 */
export function renderStatusFromAnswer(body: unknown, requestedId: string): RenderStatus {
  const outer = isRecord(body) ? body : {};
  const wrapped = isRecord(outer.data) && ('success' in outer || 'code' in outer || !('status' in outer));
  const inner = wrapped ? (outer.data as Record<string, unknown>) : outer;
  const fields = renderFieldsSchema.parse(inner);
  const outerFields = wrapped ? renderFieldsSchema.parse(outer) : fields;

  const url = fields.output?.url ?? fields.outputUrl ?? fields.url;
  const error = fields.error ?? outerFields.error;
  const status: RenderStatus = {
    // `taskId` (third shape) may name the service's internal job: the id to poll stays ours unless `id` says otherwise.
    id: fields.id ?? fields.renderId ?? requestedId,
    status: stateOf(fields, url, error),
  };
  if (fields.progress !== undefined) status.progress = Math.min(100, Math.max(0, fields.progress));
  if (url !== undefined) status.url = url;
  if (error !== undefined) status.error = error;
  const size = fields.output?.size ?? fields.size;
  if (size !== undefined) status.sizeBytes = size;
  return status;
}
