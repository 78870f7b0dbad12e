import { z } from 'zod';
import type { TurnEvent } from './types.js';
import { parseJson } from './answer.js';
import { idSchema } from './schemas.js';

/** One dispatched SSE message, as eventsource-parser delivers it. */
export interface SseMessage {
  event?: string | undefined;
  id?: string | undefined;
  data: string;
}

const KEEPALIVE: TurnEvent = { type: 'keepalive' };
const UNPARSABLE_EXCERPT = 200;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

// Servers older than mid-2025 wrote ADK keys in snake_case. Only structural keys are renamed:
// tool arguments and responses are the tool's own data and stay untouched.
function camelizeKeys(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    const camel = camelCase(key);
    if (!(camel in out) || camel === key) out[camel] = value;
  }
  return out;
}

const optionalString = z.string().nullish().catch(undefined);

const adkEventSchema = z.object({
  id: idSchema.nullish().catch(undefined),
  author: optionalString,
  partial: z.boolean().nullish().catch(undefined),
  errorCode: z.union([z.string(), z.number()]).nullish().catch(undefined),
  errorMessage: optionalString,
  content: z
    .object({ role: optionalString, parts: z.array(z.unknown()).nullish().catch(undefined) })
    .nullish()
    .catch(undefined),
});

const functionCallSchema = z.object({ id: optionalString, name: z.string(), args: z.unknown() });
const functionResponseSchema = z.object({ id: optionalString, name: z.string(), response: z.unknown() });

const partSchema = z.object({
  text: optionalString,
  thought: z.boolean().nullish().catch(undefined),
  functionCall: z.preprocess((v) => (isRecord(v) ? camelizeKeys(v) : v), functionCallSchema).nullish().catch(undefined),
  functionResponse: z
    .preprocess((v) => (isRecord(v) ? camelizeKeys(v) : v), functionResponseSchema)
    .nullish()
    .catch(undefined),
});
type Part = z.infer<typeof partSchema>;

const ADK_KEYS = ['author', 'content', 'invocationId', 'actions', 'errorCode', 'partial'];

function errorFrameMessage(frame: Record<string, unknown>): string {
  const details = isRecord(frame.error_details) ? frame.error_details : isRecord(frame.errorDetails) ? frame.errorDetails : {};
  for (const candidate of [frame.error, details.error_message, details.errorMessage, frame.message]) {
    if (typeof candidate === 'string' && candidate.trim() !== '') return candidate;
    if (isRecord(candidate) && typeof candidate.message === 'string') return candidate.message;
  }
  return 'NemoVideo reported an error';
}

/** Turns SSE messages into TurnEvents, keeping the state a turn needs: seen ids and the live preview. */
export interface TurnEventMapper {
  /**
   * The events one SSE message stands for. An empty array means the message was agent
   * activity that the bot does not show (an actions-only event, a repeated id).
   */
  map(message: SseMessage): TurnEvent[];
  /** An SSE comment line: a keep-alive. */
  comment(): TurnEvent[];
  /** The live preview of a streaming server since the last non-partial event; '' when none. */
  readonly partialText: string;
}

export function createTurnEventMapper(): TurnEventMapper {
  const seenIds = new Set<string>();
  let partialText = '';

  function mapAdkEvent(raw: Record<string, unknown>): TurnEvent[] {
    const event = adkEventSchema.parse(raw);
    // Partial events share or reuse ids depending on the server version: only final events are de-duplicated.
    if (event.partial !== true && event.id != null) {
      if (seenIds.has(event.id)) return [];
      seenIds.add(event.id);
    }
    const out: TurnEvent[] = [];
    if (event.errorCode != null) {
      const modelError: TurnEvent = { type: 'model_error', code: String(event.errorCode) };
      if (event.errorMessage != null) modelError.message = event.errorMessage;
      out.push(modelError);
    }
    const fromUser = event.author === 'user' || event.content?.role === 'user';
    const parts: Part[] = [];
    for (const rawPart of event.content?.parts ?? []) {
      if (!isRecord(rawPart)) continue;
      const part = partSchema.safeParse(camelizeKeys(rawPart));
      if (part.success) parts.push(part.data);
    }
    const visibleText = (part: Part): string | undefined =>
      !fromUser && part.thought !== true && part.text != null ? part.text : undefined;

    if (event.partial === true) {
      // A preview: the next non-partial event repeats the whole text. Partial function calls are not run.
      const added = parts.map(visibleText).filter((text) => text !== undefined).join('');
      // Whitespace is kept (a chunk may be the space between two words), but alone it shows nothing.
      if (added.trim() !== '' || (added !== '' && partialText !== '')) {
        partialText += added;
        out.push({ type: 'partial', text: added });
      }
      return out;
    }
    partialText = '';
    // ADK and Gemini mean the text parts of one event as one text: joined with nothing between.
    let text = '';
    const flushText = (): void => {
      if (text.trim() !== '') out.push({ type: 'text', text, author: event.author ?? '' });
      text = '';
    };
    for (const part of parts) {
      if (part.functionCall != null || part.functionResponse != null) flushText();
      if (part.functionCall != null) {
        const call: TurnEvent = { type: 'tool_call', name: part.functionCall.name, args: part.functionCall.args };
        if (part.functionCall.id != null) call.id = part.functionCall.id;
        out.push(call);
      } else if (part.functionResponse != null) {
        const result: TurnEvent = { type: 'tool_result', name: part.functionResponse.name, response: part.functionResponse.response };
        if (part.functionResponse.id != null) result.id = part.functionResponse.id;
        out.push(result);
      } else {
        text += visibleText(part) ?? '';
      }
    }
    flushText();
    return out;
  }

  return {
    get partialText() {
      return partialText;
    },
    comment: () => [KEEPALIVE],
    map(message) {
      if (message.event === 'heartbeat' || message.data.trim() === '') return [KEEPALIVE];
      const payload = parseJson(message.data);
      if (payload === undefined) {
        // Older servers sent their error frame as invalid JSON: it is still the server failing.
        return [{ type: 'server_error', message: `Unreadable event from NemoVideo: ${message.data.slice(0, UNPARSABLE_EXCERPT)}` }];
      }
      if (!isRecord(payload)) return [KEEPALIVE];
      if (payload.type === 'heartbeat') return [KEEPALIVE];
      if ('error' in payload && !('author' in payload)) return [{ type: 'server_error', message: errorFrameMessage(payload) }];
      const event = camelizeKeys(payload);
      // Anything that is not an agent event proves only that the connection lives.
      if (!ADK_KEYS.some((key) => key in event)) return [KEEPALIVE];
      return mapAdkEvent(event);
    },
  };
}

/**
 * A pure mapping of SSE `data` payloads (or whole messages) to TurnEvents: the same logic as
 * a live turn, for tests and fuzzing.
 */
export function turnEventsFromPayloads(payloads: Iterable<string | SseMessage>): TurnEvent[] {
  const mapper = createTurnEventMapper();
  const out: TurnEvent[] = [];
  for (const payload of payloads) out.push(...mapper.map(typeof payload === 'string' ? { data: payload } : payload));
  return out;
}
