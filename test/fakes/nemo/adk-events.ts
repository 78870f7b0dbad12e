import { randomUUID } from 'node:crypto';

/** An ADK event as the API server writes it: camelCase, null fields left out. */
export type AdkEvent = Record<string, unknown>;

export interface TextOptions {
  partial?: boolean;
  thought?: boolean;
  author?: string;
}

export interface AdkBuilders {
  readonly invocationId: string;
  text(text: string, options?: TextOptions): AdkEvent;
  /** One event with several text parts, as Gemini and ADK write them. */
  textParts(texts: string[], options?: TextOptions): AdkEvent;
  /** A model event with a functionCall part, after an optional text part. */
  call(name: string, args: Record<string, unknown>, id?: string, text?: string): AdkEvent;
  /** The tool's result; ADK sends it with `content.role` "user". */
  response(name: string, response: Record<string, unknown>, id?: string): AdkEvent;
  /** A model-level failure (e.g. SAFETY) sent with HTTP 200; `MAX_TOKENS` may carry the text. */
  modelError(code: string, message: string, text?: string): AdkEvent;
  actionsOnly(stateDelta: Record<string, unknown>): AdkEvent;
}

export const AGENT = 'nemo_agent';

export function newInvocationId(): string {
  return `e-${randomUUID()}`;
}

/** Builders whose events share one `invocationId`, as the events of one turn do. */
export function adkTurn(invocationId: string = newInvocationId()): AdkBuilders {
  const base = (author: string, stateDelta: Record<string, unknown> = {}): AdkEvent => ({
    author,
    invocationId,
    id: randomUUID().slice(0, 8),
    // ADK writes seconds as a float.
    timestamp: Date.now() / 1000,
    actions: { stateDelta, artifactDelta: {}, requestedAuthConfigs: {} },
  });
  const textParts = (texts: string[], options: TextOptions = {}): AdkEvent => ({
    content: { role: 'model', parts: texts.map((text) => (options.thought === true ? { text, thought: true } : { text })) },
    ...(options.partial === true ? { partial: true } : {}),
    ...base(options.author ?? AGENT),
  });
  return {
    invocationId,
    text: (text, options) => textParts([text], options),
    textParts,
    call(name, args, id = callId(), text) {
      const parts: unknown[] = [];
      if (text !== undefined) parts.push({ text });
      parts.push({ functionCall: { id, name, args } });
      return { content: { role: 'model', parts }, ...base(AGENT) };
    },
    response(name, response, id = callId()) {
      return { content: { role: 'user', parts: [{ functionResponse: { id, name, response } }] }, ...base(AGENT) };
    },
    modelError(code, message, text) {
      const content = text === undefined ? {} : { content: { role: 'model', parts: [{ text }] } };
      return { ...content, ...base(AGENT), errorCode: code, errorMessage: message };
    },
    actionsOnly(stateDelta) {
      return base(AGENT, stateDelta);
    },
  };
}

function callId(): string {
  return `adk-${randomUUID()}`;
}

const shared = adkTurn();
export const text = shared.text;
export const textParts = shared.textParts;
export const call = shared.call;
export const response = shared.response;
export const modelError = shared.modelError;
export const actionsOnly = shared.actionsOnly;

/** Servers older than mid-2025 wrote the top-level keys in snake_case. */
export function toSnakeCase(event: AdkEvent): AdkEvent {
  return Object.fromEntries(
    Object.entries(event).map(([key, value]) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), value]),
  );
}

/** The body of an error frame: 1.x `{error}`, 2.x with `error_details`. */
export function errorFrame(message: string, details = false): Record<string, unknown> {
  if (!details) return { error: message };
  return {
    error: message,
    error_details: { error_type: 'INTERNAL_ERROR', error_message: message, timestamp: new Date().toISOString() },
  };
}

/** The builders as one namespace: `adk.call(…)`. */
export const adk = { text, textParts, call, response, modelError, actionsOnly, toSnakeCase, errorFrame, turn: adkTurn };
