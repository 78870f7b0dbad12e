import { setTimeout as delay } from 'node:timers/promises';
import { BaseAgent, createEvent, FunctionTool, Gemini, LlmAgent, type Event, type InvocationContext } from '@google/adk';
import { z } from 'zod';

/**
 * Agents without an LLM for Google's own ADK API server: every turn plays a script the test
 * queued. `events` scripts are yielded by a BaseAgent as they are written; `llm` scripts are
 * the raw model answers of an LlmAgent, so ADK itself runs the tools and, when the request
 * asks for streaming, its own aggregator makes the partial and final events.
 */

/** One step of a BaseAgent turn. */
export type AgentStep =
  | { text: string | string[]; partial?: boolean; thought?: boolean }
  | { call: string; args?: Record<string, unknown> }
  | { response: string; result?: Record<string, unknown> }
  | { errorCode: string; errorMessage?: string; text?: string }
  /** No event at all for this long: ADK sends no keep-alives of its own. */
  | { silence: number }
  /** What the agent's work does to the project: applied to the fake NemoVideo's draft. */
  | { draft: unknown }
  /** An exception inside the agent: ADK ends the stream with `{"error": …}`. */
  | { fail: string }
  /** Holds the turn until the test resolves `until`. */
  | { until: Promise<void> };

/** One streamed chunk of a model answer, as Gemini's `generateContentStream` yields it. */
export interface ModelChunk {
  parts?: Record<string, unknown>[];
  finishReason?: string;
  finishMessage?: string;
}

export type TurnScript =
  | { kind: 'events'; steps: AgentStep[] }
  /**
   * `calls[i]` answers the agent's i-th model call (one chunk list each; a non-streaming call
   * gets the chunks merged). `drafts` maps a tool name to the draft its run leaves. `failAfter`
   * throws inside the model stream after that many chunks of the last call.
   */
  | { kind: 'llm'; calls: ModelChunk[][]; drafts?: Record<string, unknown>; failAfter?: number };

export interface AgentEffects {
  /** Sets the project's draft at the fake NemoVideo (ADK's session id is NemoVideo's). */
  applyDraft(sessionId: string, draft: unknown): void;
}

/** Scripts waiting for their turn, per session; a session with none gets a plain answer. */
export class ScriptBook {
  readonly #bySession = new Map<string, TurnScript[]>();
  #any: TurnScript[] = [];

  /** The next turn of `sessionId` (or of any session) plays `script`. */
  add(script: TurnScript, sessionId?: string): void {
    if (sessionId === undefined) this.#any.push(script);
    else this.#bySession.set(sessionId, [...(this.#bySession.get(sessionId) ?? []), script]);
  }

  clear(): void {
    this.#bySession.clear();
    this.#any = [];
  }

  take(sessionId: string): TurnScript {
    return this.#bySession.get(sessionId)?.shift() ?? this.#any.shift() ?? { kind: 'events', steps: [{ text: 'Happy to help.' }] };
  }
}

const AUTHOR = 'nemo_agent';

class ScriptedEventsAgent extends BaseAgent {
  #steps: AgentStep[] = [];

  constructor(private readonly effects: AgentEffects) {
    super({ name: 'scripted_events' });
  }

  play(steps: AgentStep[]): void {
    this.#steps = steps;
  }

  protected override async *runAsyncImpl(ctx: InvocationContext): AsyncGenerator<Event, void, void> {
    const event = (fields: Omit<Parameters<typeof createEvent>[0] & object, 'invocationId' | 'author'>): Event =>
      createEvent({ invocationId: ctx.invocationId, author: AUTHOR, ...fields });
    for (const step of this.#steps) {
      if ('text' in step && !('errorCode' in step)) {
        const texts = Array.isArray(step.text) ? step.text : [step.text];
        yield event({
          content: { role: 'model', parts: texts.map((text) => (step.thought ? { text, thought: true } : { text })) },
          ...(step.partial ? { partial: true } : {}),
        });
      } else if ('call' in step) {
        yield event({ content: { role: 'model', parts: [{ functionCall: { id: `adk-${step.call}`, name: step.call, args: step.args ?? {} } }] } });
      } else if ('response' in step) {
        yield event({
          content: { role: 'user', parts: [{ functionResponse: { id: `adk-${step.response}`, name: step.response, response: step.result ?? { ok: true } } }] },
        });
      } else if ('errorCode' in step) {
        yield event({
          errorCode: step.errorCode,
          ...(step.errorMessage === undefined ? {} : { errorMessage: step.errorMessage }),
          ...(step.text === undefined ? {} : { content: { role: 'model', parts: [{ text: step.text }] } }),
        });
      } else if ('silence' in step) {
        await delay(step.silence, undefined, ctx.abortSignal ? { signal: ctx.abortSignal } : {});
      } else if ('draft' in step) {
        this.effects.applyDraft(ctx.session.id, step.draft);
      } else if ('fail' in step) {
        throw new Error(step.fail);
      } else {
        await step.until;
      }
    }
  }

  protected override runLiveImpl(): AsyncGenerator<Event, void, void> {
    throw new Error('live mode is not scripted');
  }
}

function merged(chunks: ModelChunk[]): Record<string, unknown> {
  const last = chunks.at(-1);
  return {
    candidates: [
      {
        content: { role: 'model', parts: chunks.flatMap((chunk) => chunk.parts ?? []) },
        ...(last?.finishReason === undefined ? {} : { finishReason: last.finishReason }),
        ...(last?.finishMessage === undefined ? {} : { finishMessage: last.finishMessage }),
      },
    ],
  };
}

function response(chunk: ModelChunk): Record<string, unknown> {
  const candidate: Record<string, unknown> = {};
  if (chunk.parts !== undefined) candidate.content = { role: 'model', parts: chunk.parts };
  if (chunk.finishReason !== undefined) candidate.finishReason = chunk.finishReason;
  if (chunk.finishMessage !== undefined) candidate.finishMessage = chunk.finishMessage;
  return { candidates: [candidate] };
}

/**
 * ADK's own Gemini model with its wire client replaced by the script: the request path,
 * `createLlmResponse` and the streaming aggregator are ADK's, only the network is gone.
 */
class ScriptedGemini extends Gemini {
  calls: ModelChunk[][] = [];
  failAfter: number | undefined;

  constructor() {
    super({ model: 'gemini-2.5-flash', apiKey: 'not-used-offline' });
  }

  override get apiClient(): Gemini['apiClient'] {
    const next = (): ModelChunk[] => this.calls.shift() ?? [{ parts: [{ text: 'Nothing more to say.' }], finishReason: 'STOP' }];
    const failAfter = (): number | undefined => (this.calls.length === 0 ? this.failAfter : undefined);
    const client = {
      models: {
        generateContent: async () => merged(next()),
        generateContentStream: async () => {
          const chunks = next();
          const limit = failAfter();
          return (async function* () {
            for (const [index, chunk] of chunks.entries()) {
              if (index === limit) throw new Error('model stream failed');
              yield response(chunk);
            }
          })();
        },
      },
    };
    return client as unknown as Gemini['apiClient'];
  }
}

function tools(effects: AgentEffects, drafts: () => Record<string, unknown>): FunctionTool[] {
  const tool = (name: string, description: string) =>
    new FunctionTool({
      name,
      description,
      parameters: z.object({ instruction: z.string().optional() }),
      execute: (_input, context) => {
        const draft = drafts()[name];
        if (draft !== undefined && context !== undefined) effects.applyDraft(context.sessionId, draft);
        return { status: 'done' };
      },
    });
  return [tool('edit_multitrack', 'Edits the timeline'), tool('generate_video_with_seedance', 'Generates a clip')];
}

/** The app's root agent: hands each turn to the scripted BaseAgent or to the LlmAgent. */
class ConformanceAgent extends BaseAgent {
  #drafts: Record<string, unknown> = {};

  constructor(
    private readonly book: ScriptBook,
    private readonly events: ScriptedEventsAgent,
    private readonly llm: LlmAgent,
    private readonly model: ScriptedGemini,
  ) {
    super({ name: AUTHOR, subAgents: [events, llm] });
  }

  drafts(): Record<string, unknown> {
    return this.#drafts;
  }

  protected override async *runAsyncImpl(ctx: InvocationContext): AsyncGenerator<Event, void, void> {
    const script = this.book.take(ctx.session.id);
    if (script.kind === 'events') {
      this.events.play(script.steps);
      yield* this.events.runAsync(ctx);
      return;
    }
    this.model.calls = [...script.calls];
    this.model.failAfter = script.failAfter;
    this.#drafts = script.drafts ?? {};
    yield* this.llm.runAsync(ctx);
  }

  protected override runLiveImpl(): AsyncGenerator<Event, void, void> {
    throw new Error('live mode is not scripted');
  }
}

export function conformanceAgent(book: ScriptBook, effects: AgentEffects): BaseAgent {
  const model = new ScriptedGemini();
  const llm: LlmAgent = new LlmAgent({
    name: 'scripted_llm',
    model,
    instruction: 'You edit videos.',
    // The tools run after the root agent exists: only then do they read its drafts.
    tools: tools(effects, (): Record<string, unknown> => root.drafts()),
  });
  const root: ConformanceAgent = new ConformanceAgent(book, new ScriptedEventsAgent(effects), llm, model);
  return root;
}
